import Yams

/// Refuses the YAML that an outline never needs and that makes Yams slow or surprising, before
/// the text itself is composed: anchors (`&a`), aliases (`*a`), tags (`!t`), complex keys (`? `)
/// and lists or mappings used as keys.
///
/// Why: `Yams.compose` checks every mapping for duplicate keys by hashing each key whole. A key
/// that is a list costs its size, keys nested in keys cost the square of their depth, and a key
/// built from aliases costs exponentially more: a 370-byte file took 20 s, and 256 KiB of
/// nested keys 24 s, before any line of ours could refuse them. And at the start of a value
/// these characters change the text silently: `- &mut borrows` is the point "borrows" (`&mut`
/// is an anchor), `- !important` an empty point with a tag.
///
/// How, with libyaml's own reading rather than a second YAML scanner: a copy of the text, the
/// *probe*, is composed first. It differs from the text only in single ASCII characters, so
/// every line and column stays put and libyaml reads the same tokens at the same places:
/// - `&` becomes `!`: an anchor becomes a tag, which costs nothing, so the node it marks still
///   starts at the same column, where the check finds and refuses it, as it refuses a tag;
/// - `*` and `?` become `x`: an alias, or a `?` key in a flow collection, becomes a plain scalar
///   that starts at the same column, found and refused the same way;
/// - (inside a quoted, block or plain scalar or a comment, all of these are text either way;
///   where the probe cannot be read, around a block `? key` or an anchor right before `]`, the
///   indicator nearest the failure is reported);
/// - `{` and `}` become `[` and `]`: a flow mapping becomes a flow sequence, so the probe hashes
///   none of its keys; an entry of one that is itself a list is refused.
/// With those gone, a key in the probe can only be a list if `]` or `}` and then `:` follow on
/// its line, and keys nest in keys only on one line (libyaml keeps implicit keys on one line),
/// so a line with more than `maximumCollectionKeysPerLine` of them is refused before anything
/// is composed: the probe then composes in time linear in its size. Once its tree shows plain
/// scalar keys only, the text, which has the same shape, is composed for its values. When the
/// probe cannot be composed, the text is not composed either: its syntax error is reported.
struct YAMLShapeCheck {
    /// Most `]:` or `}:` (a list or mapping followed by `:`) on one line. Text rarely has any;
    /// the bound keeps nested keys from costing the square of their depth.
    static let maximumCollectionKeysPerLine = 16

    let document: YAMLReader.Document

    /// - Throws: `OutlineError` on the line of the first construct refused, or of a syntax error.
    func check() throws(OutlineError) {
        try checkCollectionKeysPerLine()
        let scalars = Array(document.text.unicodeScalars)
        var lineStarts = [0]
        for (offset, scalar) in scalars.enumerated() where scalar == "\n" {
            lineStarts.append(offset + 1)
        }
        /// The character of `document.text` at a Yams mark, nil past the text.
        func original(at mark: Mark?) -> Unicode.Scalar? {
            guard let mark, mark.line >= 1, mark.line <= lineStarts.count else { return nil }
            let offset = lineStarts[mark.line - 1] + mark.column - 1
            return offset >= 0 && offset < scalars.count ? scalars[offset] : nil
        }

        let probe = Self.probe(of: document.text)
        let root: Node?
        do {
            root = try document.compose(probe) { problem, context in
                // The probe reads a flow mapping as a flow sequence: name what the text holds.
                guard let context, original(at: context.mark) == "{" else { return problem }
                return problem.replacingOccurrences(of: "flow sequence", with: "flow mapping")
                    .replacingOccurrences(of: "',' or ']'", with: "',' or '}'")
            }
        } catch {
            if let line = error.line, let found = indicator(near: line - document.firstLine + 1),
                let refusal = refusal(found.indicator, line: found.line, column: found.column)
            {
                throw refusal
            }
            throw error
        }
        guard let root else { return }

        // Depth-first in file order, without recursion: the probe may nest as deep as libyaml
        // allows (1000).
        var pending: [(node: Node, role: Role)] = [(root, .value)]
        while let (node, role) = pending.popLast() {
            // A node of the probe that starts where the text has an indicator is an anchored,
            // aliased or tagged node, or a `?` key, in the text.
            if let indicator = original(at: node.mark),
                let refusal = refusal(indicator, line: node.mark?.line ?? 1, column: node.mark?.column)
            {
                throw refusal
            }
            switch node {
            case .scalar:
                break
            case .sequence(let sequence):
                if role != .value { throw Self.collectionKey(in: document, at: node.mark) }
                let entryRole: Role = original(at: node.mark) == "{" ? .flowMappingEntry : .value
                pending.append(contentsOf: sequence.reversed().map { ($0, entryRole) })
            case .mapping(let mapping):
                // A mapping entry of a flow mapping is a `key: value` pair, not a key; the probe
                // has no other way to make a mapping a key (`?` is gone).
                if role == .key { throw Self.collectionKey(in: document, at: node.mark) }
                for (key, value) in mapping.reversed() {
                    pending.append((value, .value))
                    pending.append((key, .key))
                }
            case .alias:
                break
            }
        }
    }

    /// What a node of the probe is to its parent.
    private enum Role {
        case value
        case key
        /// An entry of what the text writes as a flow mapping: a key, or a `key: value` pair.
        case flowMappingEntry
    }

    /// The probe: `document.text` with `&` as `!`, `*` and `?` as `x`, `{` as `[` and `}` as `]`,
    /// byte for byte.
    static func probe(of text: String) -> String {
        var bytes = Array(text.utf8)
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "&"):
                bytes[index] = UInt8(ascii: "!")
            case UInt8(ascii: "*"), UInt8(ascii: "?"):
                bytes[index] = UInt8(ascii: "x")
            case UInt8(ascii: "{"):
                bytes[index] = UInt8(ascii: "[")
            case UInt8(ascii: "}"):
                bytes[index] = UInt8(ascii: "]")
            default:
                continue
            }
        }
        // Only ASCII bytes changed, for ASCII bytes: still valid UTF-8.
        return String(decoding: bytes, as: UTF8.self)
    }

    private func checkCollectionKeysPerLine() throws(OutlineError) {
        var line = 1
        var count = 0
        var afterClose = false
        for byte in document.text.utf8 {
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                count = 0
                afterClose = false
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                afterClose = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: ":") where afterClose:
                afterClose = false
                count += 1
                if count > Self.maximumCollectionKeysPerLine {
                    throw OutlineError(
                        file: document.fileName,
                        line: line + document.firstLine - 1,
                        message: "this line has more than \(Self.maximumCollectionKeysPerLine) `]:` or `}:`, which "
                            + "YAML reads as lists or mappings used as keys: outline keys are plain names; "
                            + "split the line"
                    )
                }
            default:
                afterClose = false
            }
        }
    }

    /// The first `&`, `*`, `!` or `?` where a node can start (after indentation, `- `, `? `,
    /// `: `, `[`, `{` or `,`, outside quotes and comments) on `line` of the text or the line
    /// before: what most likely made the probe unreadable there.
    private func indicator(near line: Int) -> (indicator: Unicode.Scalar, line: Int, column: Int)? {
        let lines = document.text.split(separator: "\n", omittingEmptySubsequences: false)
        for number in max(1, line - 1)...max(1, min(line, lines.count)) where number <= lines.count {
            let scalars = Array(lines[number - 1].unicodeScalars)
            var nodeCanStart = true
            var index = 0
            scan: while index < scalars.count {
                let scalar = scalars[index]
                let followedByBlank =
                    index + 1 == scalars.count || scalars[index + 1] == " " || scalars[index + 1] == "\t"
                switch scalar {
                case " ", "\t":
                    break
                case "&", "*", "!":
                    if nodeCanStart { return (scalar, number, index + 1) }
                case "?":
                    if nodeCanStart && followedByBlank { return (scalar, number, index + 1) }
                    nodeCanStart = false
                case "-", ":":
                    nodeCanStart = followedByBlank
                case "[", "{", ",":
                    nodeCanStart = true
                case "#" where index == 0 || scalars[index - 1] == " " || scalars[index - 1] == "\t":
                    break scan
                case "\"", "'":
                    guard nodeCanStart else { break }
                    // Skip the quoted text; an escaped quote does not end it.
                    var end = index + 1
                    while end < scalars.count,
                        scalars[end] != scalar || (scalar == "\"" && scalars[end - 1] == "\\")
                    {
                        end += 1
                    }
                    index = end
                    nodeCanStart = false
                default:
                    nodeCanStart = false
                }
                index += 1
            }
        }
        return nil
    }

    /// The error for a node of the probe that starts where the text has `indicator`, if it is
    /// one of the refused ones.
    private func refusal(_ indicator: Unicode.Scalar, line: Int, column: Int?) -> OutlineError? {
        let column = column.map { " (column \($0))" } ?? ""
        let what: String
        switch indicator {
        case "*":
            what = "`*`\(column) starts a YAML alias, which outlines do not use: write the value out"
        case "&":
            what = "`&`\(column) starts a YAML anchor, which outlines do not use: remove it"
        case "!":
            what = "`!`\(column) starts a YAML tag, which outlines do not use: remove it"
        case "?":
            what = "`?`\(column) starts a YAML complex key, which outlines do not use: keys are plain names"
        default:
            return nil
        }
        return OutlineError(
            file: document.fileName,
            line: line + document.firstLine - 1,
            message: what + ", or if the value is text that starts with `\(indicator)`, put it in quotes"
        )
    }

    static func collectionKey(in document: YAMLReader.Document, at mark: Mark?) -> OutlineError {
        document.error("a key is a list or mapping: keys must be plain names such as `title`", at: mark)
    }
}
