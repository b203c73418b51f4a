import Foundation

/// An outline file's text after the checks and clean-ups that every format shares.
///
/// Building one refuses NUL bytes, invalid UTF-8 and control characters other than tab and
/// line ends, each with the line it is on; it drops a UTF-8 BOM, turns CRLF and CR into LF and
/// puts the text in Unicode NFC (so an editor that writes decomposed accents changes nothing).
struct OutlineSource {
    /// What messages call the file.
    let fileName: String
    /// The text: no BOM, LF line ends only, NFC.
    let text: String

    /// `text` split at LF; element `i` is line `i + 1`.
    var lines: [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// - Throws: `OutlineError` on the line of the first NUL byte, invalid UTF-8 sequence or
    ///   control character.
    init(bytes: [UInt8], fileName: String) throws(OutlineError) {
        self.fileName = fileName
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        let body = bytes.dropFirst(hasBOM ? 3 : 0)

        var clean: [UInt8] = []
        clean.reserveCapacity(body.count)
        var iterator = body.makeIterator()
        var decoder = Unicode.UTF8()
        var line = 1
        var column = 1
        var offset = body.startIndex
        var afterCR = false
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
                let wasAfterCR = afterCR
                afterCR = false
                switch scalar.value {
                case 0x0A:
                    if !wasAfterCR {
                        line += 1
                        column = 1
                        clean.append(0x0A)
                    }
                    continue decoding
                case 0x0D:
                    line += 1
                    column = 1
                    afterCR = true
                    clean.append(0x0A)
                    continue decoding
                case 0x00:
                    throw OutlineError(
                        file: fileName,
                        line: line,
                        message: "the file contains a NUL byte, so it is not a text file: "
                            + "save the outline as plain UTF-8 text"
                    )
                case 0x09:
                    break
                default:
                    if scalar.properties.generalCategory == .control {
                        throw OutlineError(
                            file: fileName,
                            line: line,
                            message: "column \(column) holds the invisible control character "
                                + "\(OutlineText.codePoint(scalar)): delete it"
                        )
                    }
                }
                UTF8.encode(scalar) { clean.append($0) }
                column += 1
            case .emptyInput:
                break decoding
            case .error:
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "the file is not valid UTF-8 (byte 0x\(byte) at column \(column)): "
                        + "save it as UTF-8 (it may be in Latin-1 or Windows-1252)"
                )
            }
        }
        text = String(decoding: clean, as: UTF8.self).precomposedStringWithCanonicalMapping
    }
}

/// Small text rules shared by the outline parsers: whitespace, field checks, key suggestions.
enum OutlineText {
    /// Longest course or chapter title accepted, in Unicode scalars.
    static let maximumTitleLength = 200

    /// `U+001B`: how messages name a character.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    static func isBlank(_ text: some StringProtocol) -> Bool {
        text.allSatisfy(\.isWhitespace)
    }

    static func trimmed(_ text: some StringProtocol) -> Substring {
        let head = text.drop(while: \.isWhitespace)
        return trailingTrimmed(head)
    }

    static func trailingTrimmed(_ text: Substring) -> Substring {
        var end = text.endIndex
        while end > text.startIndex {
            let before = text.index(before: end)
            guard text[before].isWhitespace else { break }
            end = before
        }
        return text[..<end]
    }

    static func trailingTrimmed(_ text: some StringProtocol) -> Substring {
        trailingTrimmed(Substring(text))
    }

    /// Multi-line text as the outline model keeps it, nil when nothing but whitespace is left.
    ///
    /// Removes trailing whitespace on each line, drops leading and trailing blank lines,
    /// collapses runs of blank lines to one, and removes the indentation every non-blank line
    /// shares (the exact same characters, so tabs are never turned into spaces). Relative
    /// indentation stays, since it can matter in code. Lines must already be LF-split.
    static func block(_ lines: some Sequence<Substring>) -> String? {
        var kept: [Substring] = []
        for line in lines {
            let line = trailingTrimmed(line)
            if line.isEmpty {
                if let last = kept.last, !last.isEmpty { kept.append(line) }
            } else {
                kept.append(line)
            }
        }
        while kept.last?.isEmpty == true { kept.removeLast() }
        guard !kept.isEmpty else { return nil }

        var common: Substring? = nil
        for line in kept where !line.isEmpty {
            let indent = line.prefix(while: \.isWhitespace)
            guard let shared = common else {
                common = indent
                continue
            }
            common = shared.prefix(zip(shared, indent).prefix(while: { $0 == $1 }).count)
        }
        let cut = common?.count ?? 0
        return kept.map { $0.isEmpty ? $0 : $0.dropFirst(cut) }.joined(separator: "\n")
    }

    /// A one-line field (title, audience, level, language) trimmed, nil when empty.
    ///
    /// - Parameters:
    ///   - name: how messages name the field ("the course title", "`audience`").
    ///   - isTitle: titles also refuse tabs and more than `maximumTitleLength` scalars.
    /// - Throws: `OutlineError` on `line` for a line break or control character, or a title too long.
    static func singleLine(
        _ raw: some StringProtocol,
        name: String,
        isTitle: Bool,
        line: Int?,
        file: String
    ) throws(OutlineError) -> String? {
        let value = trimmed(raw)
        guard !value.isEmpty else { return nil }
        for scalar in value.unicodeScalars where scalar.properties.generalCategory == .control {
            if scalar == "\n" || scalar == "\r" {
                throw OutlineError(file: file, line: line, message: "\(name) must be on one line: join its lines")
            }
            if scalar == "\t" && !isTitle { continue }
            throw OutlineError(
                file: file,
                line: line,
                message: "\(name) contains the control character \(codePoint(scalar)): remove it"
            )
        }
        let length = value.unicodeScalars.count
        if isTitle && length > maximumTitleLength {
            throw OutlineError(
                file: file,
                line: line,
                message: "\(name) is \(length) characters long, more than \(maximumTitleLength): "
                    + "shorten it and put the detail in the description or notes"
            )
        }
        return String(value)
    }

    /// Multi-line text (description, notes, a point) with CRLF and CR turned into LF (a JSON
    /// or YAML escape can hold them), normalised by `block`, checked for control characters
    /// other than tab and line feed.
    /// - Throws: `OutlineError` on `line` naming `name` and the character.
    static func multiLine(_ raw: String, name: String, line: Int?, file: String) throws(OutlineError) -> String? {
        var text = String.UnicodeScalarView()
        var afterCR = false
        for scalar in raw.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar {
            case "\r":
                text.append("\n")
            case "\n" where afterCR:
                continue
            case "\n", "\t":
                text.append(scalar)
            case _ where scalar.properties.generalCategory == .control:
                throw OutlineError(
                    file: file,
                    line: line,
                    message: "\(name) contains the control character \(codePoint(scalar)): remove it"
                )
            default:
                text.append(scalar)
            }
        }
        return block(String(text).split(separator: "\n", omittingEmptySubsequences: false))
    }

    /// The known key an unknown `key` was most likely meant to be, if one is close enough:
    /// within two edits (a swap of neighbours counts as one), ignoring case, or a prefix of at
    /// least three letters ("desc" for "description").
    static func suggestion(for key: String, among known: [String]) -> String? {
        let typed = Array(key.lowercased())
        var best: (key: String, distance: Int)? = nil
        for candidate in known {
            let target = Array(candidate)
            let distance = editDistance(typed, target)
            let closeEnough = distance <= 2 && distance * 2 < max(target.count, 2)
            let isPrefix = typed.count >= 3 && target.starts(with: typed)
            guard closeEnough || isPrefix else { continue }
            let score = isPrefix ? min(distance, 1) : distance
            if let current = best, current.distance <= score { continue }
            best = (candidate, score)
        }
        return best?.key
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    /// neighbouring characters each cost one.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
