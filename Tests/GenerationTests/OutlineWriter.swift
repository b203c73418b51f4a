@testable import Generation
@testable import Outlines
import Platform

/// Writes an `Outline` as the text of an outline file in each format, for round-trip and
/// property tests: parsing what it writes must give the outline back.
///
/// Every string is written so that no format reads anything into it: YAML and JSON strings are
/// double-quoted with escapes, Markdown puts the course fields other than the title in front
/// matter (double-quoted YAML). Markdown has no quoting for headings, points and notes, so the
/// outline must be one Markdown can hold: one-line points, and notes and description whose lines
/// start with a letter (as `OutlineGenerator` makes them).
enum OutlineWriter {
    static func text(_ outline: Outline, as format: OutlineFormat) -> String {
        switch format {
        case .markdown: markdown(outline)
        case .yaml: yaml(outline)
        case .json: json(outline)
        }
    }

    static func markdown(_ outline: Outline) -> String {
        var text = ""
        let fields =
            [("audience", outline.audience), ("level", outline.level), ("language", outline.language)]
            .compactMap { name, value in value.map { "\(name): \(yamlQuoted($0))\n" } }
            + (outline.words.map { ["words: \($0)\n"] } ?? [])
        if !fields.isEmpty {
            text += "---\n" + fields.joined() + "---\n"
        }
        text += "# \(outline.title)\n\n"
        if let description = outline.description {
            text += description + "\n\n"
        }
        for chapter in outline.chapters {
            text += "## \(chapter.title)\n"
            for point in chapter.points {
                text += "- \(point)\n"
            }
            if let notes = chapter.notes {
                text += "\n" + notes + "\n"
            }
            text += "\n"
        }
        return text
    }

    /// - Parameter literalNotes: notes and description as `|-` literal blocks instead of quoted.
    static func yaml(_ outline: Outline, literalNotes: Bool = false) -> String {
        func multiLine(_ value: String, indent: String) -> String {
            guard literalNotes, !value.hasPrefix(" ") else { return yamlQuoted(value) }
            return "|-\n"
                + value.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : indent + "  " + $0 }
                .joined(separator: "\n")
        }
        var text = "title: \(yamlQuoted(outline.title))\n"
        for (name, value) in [("audience", outline.audience), ("level", outline.level), ("language", outline.language)]
        {
            if let value { text += "\(name): \(yamlQuoted(value))\n" }
        }
        if let words = outline.words { text += "words: \(words)\n" }
        if let description = outline.description {
            text += "description: \(multiLine(description, indent: ""))\n"
        }
        text += "chapters:\n"
        for chapter in outline.chapters {
            text += "  - title: \(yamlQuoted(chapter.title))\n"
            if !chapter.points.isEmpty {
                text += "    points:\n"
                for point in chapter.points { text += "      - \(yamlQuoted(point))\n" }
            }
            if let notes = chapter.notes {
                text += "    notes: \(multiLine(notes, indent: "    "))\n"
            }
        }
        return text
    }

    /// - Parameter asciiOnly: escape every non-ASCII character as `\uXXXX`, with surrogate pairs
    ///   past U+FFFF, as Python's `json.dump` does by default.
    static func json(_ outline: Outline, asciiOnly: Bool = false) -> String {
        func string(_ value: String) -> String { jsonQuoted(value, asciiOnly: asciiOnly) }
        var members = ["\"title\": \(string(outline.title))"]
        for (name, value) in [("audience", outline.audience), ("level", outline.level), ("language", outline.language)]
        {
            if let value { members.append("\"\(name)\": \(string(value))") }
        }
        if let words = outline.words { members.append("\"words\": \(words)") }
        if let description = outline.description { members.append("\"description\": \(string(description))") }
        let chapters = outline.chapters.map { chapter in
            var fields = ["\"title\": \(string(chapter.title))"]
            if !chapter.points.isEmpty {
                fields.append("\"points\": [" + chapter.points.map(string).joined(separator: ", ") + "]")
            }
            if let notes = chapter.notes { fields.append("\"notes\": \(string(notes))") }
            return "    {" + fields.joined(separator: ", ") + "}"
        }
        members.append("\"chapters\": [\n" + chapters.joined(separator: ",\n") + "\n  ]")
        return "{\n  " + members.joined(separator: ",\n  ") + "\n}\n"
    }

    /// A YAML double-quoted scalar: `\\`, `\"`, line feeds, tabs and other controls escaped.
    static func yamlQuoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.properties.generalCategory == .control:
                out += "\\x" + hex(scalar.value, digits: 2)
            case "\u{2028}", "\u{2029}":
                // Raw, a file would be refused: YAML reads them as line breaks.
                out += "\\u" + hex(scalar.value, digits: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func jsonQuoted(_ value: String, asciiOnly: Bool) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
                out += "\\u" + hex(scalar.value, digits: 4)
            case _ where asciiOnly && scalar.value > 0x7E:
                for unit in String(scalar).utf16 { out += "\\u" + hex(UInt32(unit), digits: 4) }
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
