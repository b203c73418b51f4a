import Foundation

/// Small text rules shared by the outline parsers: whitespace, line breaks and field checks.
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

    /// A one-line field (title, audience, level, language) as the outline model keeps it, nil
    /// when nothing visible is left.
    ///
    /// Whitespace at either end is removed and every run of whitespace inside becomes one space
    /// (`collapsingWhitespace`): spacing inside one line is invisible in the published book, so
    /// it must not change the field, its chapter's cache key or its identity. The result is NFC
    /// (a JSON or YAML escape can spell a decomposed accent). A value made only of invisible
    /// format characters (zero-width spaces, direction marks) counts as empty.
    ///
    /// - Parameters:
    ///   - name: how messages name the field ("the course title", "`audience`").
    ///   - isTitle: titles also refuse more than `maximumTitleLength` scalars.
    /// - Throws: `OutlineError` on `line` for a line break or control character, or a title too long.
    static func singleLine(
        _ raw: some StringProtocol,
        name: String,
        isTitle: Bool,
        line: Int?,
        file: String
    ) throws(OutlineError) -> String? {
        // Line breaks at either end are whitespace to trim (a YAML `|` block ends in one).
        let raw = trimmed(raw)
        for scalar in raw.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .lineSeparator, .paragraphSeparator:
                throw OutlineError(file: file, line: line, message: "\(name) must be on one line: join its lines")
            case .control:
                if scalar == "\t" { continue }
                if scalar == "\n" || scalar == "\r" {
                    throw OutlineError(file: file, line: line, message: "\(name) must be on one line: join its lines")
                }
                throw OutlineError(
                    file: file,
                    line: line,
                    message: "\(name) contains the control character \(codePoint(scalar)): remove it"
                )
            default:
                continue
            }
        }
        let value = collapsingWhitespace(String(raw).precomposedStringWithCanonicalMapping)
        let visible = value.unicodeScalars.contains { scalar in
            !scalar.properties.isWhitespace && scalar.properties.generalCategory != .format
        }
        guard visible else { return nil }
        let length = value.unicodeScalars.count
        if isTitle && length > maximumTitleLength {
            throw OutlineError(
                file: file,
                line: line,
                message: "\(name) is \(length) characters long, more than \(maximumTitleLength): "
                    + "shorten it and put the detail in the description or notes"
            )
        }
        return value
    }

    /// `text` without whitespace at either end and with every run of whitespace inside (any
    /// Unicode White_Space: spaces, tabs, no-break spaces, line breaks) replaced by one space.
    static func collapsingWhitespace(_ text: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for character in text {
            if character.isWhitespace {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.append(character)
            }
        }
        return result
    }

    /// Multi-line text (description, notes, a point) with CRLF and CR turned into LF (a JSON
    /// or YAML escape can hold them), in NFC, normalised by `block`, checked for control
    /// characters other than tab and line feed.
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
        // NFC again: an escape can spell a decomposed accent that the file's NFC never saw.
        let composed = String(text).precomposedStringWithCanonicalMapping
        return block(composed.split(separator: "\n", omittingEmptySubsequences: false))
    }
}
