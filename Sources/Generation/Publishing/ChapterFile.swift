import Foundation
public import Outlines

/// How a chapter looks on disk: its file name and its text. The publisher renders the number and
/// the `# title` heading, not the model, so a reorder needs no new text.
enum ChapterFile {
    /// `NN-slug.md` for the chapter at 1-based `position` of `count`: at least two digits, more
    /// when there are more chapters (`001-...` past 99); `slug(_:)` says what the rest holds.
    static func name(position: Int, count: Int, title: String) -> String {
        let width = max(2, String(count).count)
        let number = String(position)
        return String(repeating: "0", count: max(width - number.count, 0)) + number + "-" + slug(title) + ".md"
    }

    /// True for names the publisher owns in an outline's folder: `^[0-9]+-.*\.md$`.
    static func isChapterFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".md"), let hyphen = name.firstIndex(of: "-"), hyphen > name.startIndex else {
            return false
        }
        return name[..<hyphen].allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The file's text: `# title`, a blank line, the body as `ChapterSanitizer` leaves it (no
    /// front matter, no heading of its own at the top level, and unless `allowHTML` no HTML or
    /// link that can run script), with what the sanitizer neutralised.
    static func render(title: String, body: String, allowHTML: Bool) -> (
        bytes: [UInt8], neutralised: ChapterSanitizer.Neutralised
    ) {
        let sanitized = ChapterSanitizer.sanitize(body, allowHTML: allowHTML)
        return (render(title: title, body: sanitized.text), sanitized.neutralised)
    }

    /// The file's text for a body that is already sanitized: `# title`, a blank line, the body.
    /// A leading `#` heading is dropped (the title is already there).
    static func render(title: String, body: String) -> [UInt8] {
        var lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        if let first = lines.first, first.hasPrefix("# ") || first == "#" {
            lines.removeFirst()
            while let next = lines.first, next.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        let text = "# \(title)\n\n" + lines.joined(separator: "\n") + "\n"
        // The title is the outline's, not coursegen's: `{{#include /etc/passwd}}` there, or a
        // title ending in `{{#include ` before a body that starts with a path and `}}`, would make
        // mdBook read a file too. The body is escaped already; escaping again changes nothing.
        return Array(MdBookDirectives.escape(text).text.utf8)
    }

    /// mdBook's `SUMMARY.md` for chapters (title, file name) in order. `\`, `[` and `]` in a title
    /// are backslash-escaped; the file name is written by `linkDestination(_:)`.
    /// A chapter without a file (not written yet, or failed with no earlier version) is an mdBook
    /// draft chapter, `- [Title]()`: listed, never a link to a missing file.
    static func summary(_ chapters: [(title: String, file: String?)]) -> [UInt8] {
        var text = "# Summary\n\n"
        for chapter in chapters {
            let title = chapter.title
                .replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "[", with: "\\[")
                .replacingOccurrences(of: "]", with: "\\]")
            text += "- [\(title)](\(chapter.file.map(linkDestination) ?? ""))\n"
        }
        return Array(text.utf8)
    }

    /// `file` as a CommonMark link destination that mdBook reads back as exactly `file`.
    ///
    /// mdBook's SUMMARY.md parser (`parse_link` in mdbook-summary) takes the destination
    /// pulldown-cmark gives it, with backslash escapes and entities already resolved, replaces
    /// `%20` by a space and joins the result to the book's folder. Nothing else is
    /// percent-decoded, so a name is written as it is, UTF-8 included (`%E3%81%AF` would name a
    /// file that does not exist). A name with no ASCII space, control character, `(`, `)`, `<`,
    /// `>`, `\` or `&` (every name `name(position:count:title:)` makes) is written bare, as
    /// before; any other goes between `<` and `>`, where spaces and parentheses are plain text,
    /// with `\`, `<`, `>` and `&` backslash-escaped. mdBook cannot link a name that holds a line
    /// break or `%20`; chapter names never do.
    static func linkDestination(_ file: String) -> String {
        let escaped: Set<Unicode.Scalar> = ["\\", "<", ">", "&"]
        let bare = !file.unicodeScalars.contains {
            $0.value <= 0x20 || $0.value == 0x7F || $0 == "(" || $0 == ")" || escaped.contains($0)
        }
        guard !bare else { return file }
        var destination = "<"
        for scalar in file.unicodeScalars {
            if escaped.contains(scalar) { destination += "\\" }
            destination.unicodeScalars.append(scalar)
        }
        return destination + ">"
    }

    /// A minimal `book.toml` so `mdbook build` works on the folder as it is.
    static func bookConfiguration(title: String) -> [UInt8] {
        var escaped = ""
        for scalar in title.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                escaped += String(format: "\\u%04X", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        let text = """
            # Written once by coursegen so `mdbook build` works here; yours to edit (never overwritten).
            [book]
            title = "\(escaped)"
            src = "."

            """
        return Array(text.utf8)
    }
}

extension Outline {
    /// The file each chapter is published as, in order (`01-getting-started.md`, ...).
    public var chapterFileNames: [String] {
        chapters.enumerated().map { index, chapter in
            ChapterFile.name(position: index + 1, count: chapters.count, title: chapter.title)
        }
    }
}
