import Yams

/// Reads YAML (an outline file or Markdown front matter) into `StructuredValue`s through
/// `Yams.compose`, which keeps each node's line.
///
/// Plain scalars are classified here, not by Yams' YAML 1.1 resolver: an empty value, `~` and
/// `null` are null, optionally signed decimal digits are an integer, digits with a fraction
/// (`2.50`) a number, anything else is text as written (so `title: yes` is the title "yes").
/// Quoted and block scalars are always text.
///
/// Outlines are plain YAML: anchors, aliases, tags, `?` keys and lists or mappings used as keys
/// are refused (`YAMLShapeCheck` says why and how) before the text is composed.
enum YAMLReader {
    /// Deepest nesting accepted once composed; an outline needs four levels.
    static let maximumDepth = 64

    /// Checks, composes and converts `text`. Spaces and tabs at line ends are removed first.
    ///
    /// Time grows linearly with the text: `YAMLShapeCheck` keeps out everything that would make
    /// Yams take longer.
    ///
    /// - Parameters:
    ///   - firstLine: the file line `text` starts on (2 for front matter after `---`).
    ///   - what: how messages name the text ("the front matter", "the YAML").
    /// - Returns: nil for a document with no content at all.
    /// - Throws: `OutlineError` with the file line of a syntax error, a duplicate key, a
    ///   non-text key, an anchor, alias, tag or `?` key, or nesting deeper than `maximumDepth`.
    static func read(
        _ text: String,
        firstLine: Int,
        fileName: String,
        what: String
    ) throws(OutlineError) -> StructuredValue? {
        // Trailing spaces change folded and literal block text but never the meaning, and
        // lines are kept, so marks still match the file.
        let text = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map(withoutTrailingBlanks)
            .joined(separator: "\n")
        let document = Document(text: text, firstLine: firstLine, fileName: fileName, what: what)
        try YAMLShapeCheck(document: document).check()
        guard let node = try document.compose(text) else { return nil }
        return try document.convert(node, depth: 0)
    }

    private static func withoutTrailingBlanks(_ line: Substring) -> Substring {
        var end = line.endIndex
        while end > line.startIndex {
            let before = line.index(before: end)
            guard line[before] == " " || line[before] == "\t" else { break }
            end = before
        }
        return line[..<end]
    }

    static func classify(_ plain: String) -> StructuredValue.ScalarKind {
        switch plain {
        case "", "~", "null", "Null", "NULL":
            return .null
        default:
            let unsigned = plain.first == "+" || plain.first == "-" ? plain.dropFirst() : Substring(plain)
            let parts = unsigned.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
            guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isDigit) }) else { return .text }
            return parts.count == 1 ? .integer : .number
        }
    }
}

extension YAMLReader {
    /// The YAML text being read and how its messages name it.
    struct Document {
        /// The text as composed: LF line ends, no trailing blanks.
        let text: String
        /// The file line `text` starts on.
        let firstLine: Int
        let fileName: String
        /// How messages name the text ("the YAML", "the front matter").
        let what: String
        /// Lines in `text`.
        let lineCount: Int

        init(text: String, firstLine: Int, fileName: String, what: String) {
            self.text = text
            self.firstLine = firstLine
            self.fileName = fileName
            self.what = what
            lineCount = text.utf8.reduce(1) { count, byte in byte == UInt8(ascii: "\n") ? count + 1 : count }
        }

        /// The file line of a Yams mark (1-based within `text`). libyaml puts what it finds at
        /// the end of a text without a final line break (the empty value after `---`) on the
        /// line after the last: that is the last line.
        func fileLine(_ mark: Mark?) -> Int {
            min(max(mark?.line ?? 1, 1), lineCount) + firstLine - 1
        }

        func error(_ message: String, at mark: Mark?) -> OutlineError {
            OutlineError(file: fileName, line: fileLine(mark), message: message)
        }

        /// Composes `yaml`, which is `text` or a copy of it with the same lines and columns.
        /// - Parameter fixMessage: rewrites a libyaml problem for what `text` really holds.
        /// - Throws: `OutlineError` for every syntax error, located in `text`.
        func compose(
            _ yaml: String,
            fixMessage: (_ problem: String, _ context: YamlError.Context?) -> String = { problem, _ in problem }
        ) throws(OutlineError) -> Node? {
            do {
                // The encoding is explicit: its default reads an environment variable and prints.
                return try Yams.compose(yaml: yaml, .basic, .default, .utf8)
            } catch let error as YamlError {
                throw translate(error, fixMessage: fixMessage)
            } catch {
                throw OutlineError(file: fileName, line: firstLine, message: "\(what) could not be read: \(error)")
            }
        }

        func convert(_ node: Node, depth: Int) throws(OutlineError) -> StructuredValue {
            let line = fileLine(node.mark)
            guard depth <= YAMLReader.maximumDepth else {
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "\(what) is nested more than \(YAMLReader.maximumDepth) levels deep: an outline needs four"
                )
            }
            switch node {
            case .scalar(let scalar):
                let kind = scalar.style == .plain ? YAMLReader.classify(scalar.string) : .text
                return StructuredValue(content: .scalar(scalar.string, kind), line: line)
            case .sequence(let sequence):
                var elements: [StructuredValue] = []
                for element in sequence {
                    elements.append(try convert(element, depth: depth + 1))
                }
                return StructuredValue(content: .list(elements), line: line)
            case .mapping(let mapping):
                var entries: [StructuredValue.Entry] = []
                for (key, value) in mapping {
                    guard case .scalar(let name) = key else {
                        // YAMLShapeCheck refuses these first; this is a safety net.
                        throw YAMLShapeCheck.collectionKey(in: self, at: key.mark)
                    }
                    entries.append(
                        .init(
                            key: name.string,
                            keyLine: fileLine(key.mark),
                            value: try convert(value, depth: depth + 1)
                        )
                    )
                }
                return StructuredValue(content: .mapping(entries), line: line)
            case .alias:
                // compose() resolves aliases, and YAMLShapeCheck refuses them; a safety net.
                throw error("an alias (`*name`) could not be resolved: write the value out", at: node.mark)
            }
        }

        private func translate(
            _ error: YamlError,
            fixMessage: (String, YamlError.Context?) -> String
        ) -> OutlineError {
            func located(_ problem: String, _ context: YamlError.Context?, _ reported: Mark) -> OutlineError {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                // libyaml gives up on a key without `:` where the next token starts, often the line
                // after; the key's own line is the one to fix. Nothing is past the last line.
                var line = reported.line
                if let context, context.text.contains("simple key") { line = context.mark.line }
                line = min(max(line, 1), lines.count)
                let problem = fixMessage(problem, context)
                var message = "\(what) is not valid YAML: \(problem)"
                if let context, context.mark.line != line {
                    message += " (\(fixMessage(context.text, context)) started on line \(fileLine(context.mark)))"
                }
                let source = lines[line - 1]
                if problem.contains("tab character")
                    || (problem.contains("cannot start any token") && source.contains("\t"))
                {
                    message += ": YAML indentation must be spaces, not tabs"
                } else if problem.contains("mapping values are not allowed") {
                    message += ": a `: ` inside a value makes YAML read a new key; put the whole value in quotes"
                } else if problem.contains("did not find expected key") || problem.contains("did not find expected '-'")
                {
                    message += ": check the indentation of this line against the lines above"
                }
                return OutlineError(file: fileName, line: line + firstLine - 1, message: message)
            }
            switch error {
            case .scanner(let context, let problem, let mark, _),
                .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                return located(problem, context, mark)
            case .reader(let problem, let offset, _, _):
                let line = offset.map { offset in
                    text.prefix(offset).reduce(into: firstLine) { count, character in
                        if character == "\n" { count += 1 }
                    }
                }
                return OutlineError(file: fileName, line: line, message: "\(what) could not be read: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let names = duplicates.map { "`\($0)`" }.joined(separator: ", ")
                return OutlineError(
                    file: fileName,
                    line: fileLine(context.mark),
                    message: "the key \(names) appears more than once in the same mapping (first here): keep one"
                )
            default:
                return OutlineError(file: fileName, line: firstLine, message: "\(what) could not be read: \(error)")
            }
        }
    }
}
