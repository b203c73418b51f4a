import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// Hostile and unusual chapter titles, at the parser: each is either accepted as written (a
/// title is text; the published file name is made from it separately, in lowercase ASCII) or
/// refused with a `FILE:LINE` message, the same in every format.
@Suite("Outline parser: chapter titles")
struct OutlineTitleTests {
    /// An outline titled "Course" whose chapters have `titles`, in `format`; titles are escaped
    /// for YAML and JSON and written raw in Markdown. The first chapter is on
    /// `firstChapterLine(format)`, each next one on the line after.
    static func text(_ titles: [String], _ format: OutlineFormat) -> String {
        switch format {
        case .markdown:
            return "# Course\n" + titles.map { "## \($0)\n" }.joined()
        case .yaml:
            return "title: Course\nchapters:\n" + titles.map { "  - title: \(OutlineWriter.yamlQuoted($0))\n" }.joined()
        case .json:
            let chapters = titles.map { "{\"title\": \(OutlineWriter.jsonQuoted($0, asciiOnly: false))}" }
            return "{\"title\": \"Course\", \"chapters\": [\n" + chapters.joined(separator: ",\n") + "]}\n"
        }
    }

    static func firstChapterLine(_ format: OutlineFormat) -> Int { format == .yaml ? 3 : 2 }

    @Test(
        "paths, slashes, right-to-left text and emoji are titles like any other, kept as written",
        arguments: OutlineFormat.allCases
    )
    func acceptedAsWritten(format: OutlineFormat) throws {
        let titles = [
            "../../etc/passwd", "a/b/c", "/root", "..", "C:\\Windows", "\u{200F}שלום עולם", "abc\u{202E}txt.exe",
            "👩‍💻 Pair programming 🇫🇷", "<script>alert(1)</script>", "`rm -rf /`",
        ]
        let outline = try parse(Self.text(titles, format), format)
        #expect(outline.chapters.map(\.title) == titles)
    }

    @Test(
        "spacing inside a title is one space in every format, so it costs no request",
        arguments: OutlineFormat.allCases
    )
    func spacingCollapsed(format: OutlineFormat) throws {
        let spaced = try parse(Self.text(["Moves   and\tcopies", "Borrows\u{A0}\u{A0}here  "], format), format)
        let plain = try parse(Self.text(["Moves and copies", "Borrows here"], format), format)
        #expect(spaced.chapters.map(\.title) == ["Moves and copies", "Borrows here"])
        #expect(spaced == plain)
        #expect(spaced.digest == plain.digest)
    }

    @Test("a title of 10,000 characters is refused on its line with the limit", arguments: OutlineFormat.allCases)
    func tenThousandCharacters(format: OutlineFormat) throws {
        let long = String(repeating: "Long title ", count: 1000).trimmingCharacters(in: .whitespaces)
        let error = try #require(parseError(Self.text(["Intro", long], format), format))
        #expect(error.line == Self.firstChapterLine(format) + 1)
        #expect(error.message.contains("10999 characters long, more than 200"), "\(error.message)")
        #expect(error.description.hasPrefix("\(testFileName):\(Self.firstChapterLine(format) + 1): "))
    }

    @Test("a title of exactly 200 characters is accepted, and 201 refused", arguments: OutlineFormat.allCases)
    func titleLimit(format: OutlineFormat) throws {
        let atLimit = String(repeating: "é", count: 200)
        #expect(try parse(Self.text([atLimit], format), format).chapters[0].title == atLimit)
        #expect(parseError(Self.text([atLimit + "x"], format), format)?.message.contains("201 characters") == true)
    }

    @Test(
        "a NUL or a line break inside a title is refused on its line",
        arguments: [
            ("A\u{0}B", OutlineFormat.yaml, "U+0000"), ("A\u{0}B", .json, "U+0000"),
            ("A\nB", .yaml, "must be on one line"), ("A\nB", .json, "must be on one line"),
            ("A\rB", .json, "must be on one line"), ("A\u{2028}B", .json, "must be on one line"),
            ("A\u{2029}B", .yaml, "must be on one line"), ("A\u{85}B", .json, "U+0085"),
        ]
    )
    func controlCharacters(title: String, format: OutlineFormat, phrase: String) throws {
        let error = try #require(parseError(Self.text(["Intro", title], format), format))
        #expect(error.line == Self.firstChapterLine(format) + 1)
        #expect(error.message.contains(phrase), "\(error.message)")
    }

    @Test("in a Markdown file a raw NUL or line separator is refused where it is, since no heading can hold one")
    func rawInMarkdown() throws {
        let nul = try #require(parseError(Array("# Course\n## Intro\n## A".utf8) + [0] + Array("B\n".utf8), .markdown))
        #expect(nul.line == 3)
        #expect(nul.message.contains("NUL"))
        for separator in ["\u{2028}", "\u{2029}"] {
            for format in OutlineFormat.allCases {
                let error = try #require(parseError(Self.text(["Intro"], format) + "\n\nx\(separator)y\n", format))
                #expect(error.line == Self.text(["Intro"], format).split(separator: "\n").count + 3, "\(format)")
                #expect(error.message.contains("column 2 holds the invisible"), "\(error.message)")
            }
        }
        // A line break ends a heading: what follows is the chapter's notes.
        let outline = try parse("# Course\n## A\nB\n")
        #expect(outline.chapters == [.init(title: "A", notes: "B")])
    }

    @Test("a title of nothing but invisible characters is an empty title", arguments: OutlineFormat.allCases)
    func invisibleOnly(format: OutlineFormat) throws {
        let error = try #require(parseError(Self.text(["Intro", "\u{200F}\u{200B}\u{2060}"], format), format))
        #expect(error.line == Self.firstChapterLine(format) + 1)
        #expect(error.message.contains("empty"), "\(error.message)")
    }

    @Test(
        "titles that differ only in case or spacing are duplicates, named with both lines",
        arguments: OutlineFormat.allCases
    )
    func duplicates(format: OutlineFormat) throws {
        for (first, second) in [
            ("Setup", "Setup"), ("Setup", "  SETUP "), ("Moves   and copies", "moves and\tcopies"),
            ("Straße", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("Café", "CAFE\u{301}"),
        ] {
            let error = try #require(parseError(Self.text([first, "Other", second], format), format))
            let line = Self.firstChapterLine(format)
            #expect(error.line == line + 2)
            #expect(error.message.contains("two chapters are titled"), "\(error.message)")
            #expect(error.message.contains("the first on line \(line)"), "\(error.message)")
            let collapsed = OutlineText.collapsingWhitespace(second).precomposedStringWithCanonicalMapping
            #expect(
                error.message.contains("differ only in case or spacing") == (collapsed != first),
                "\(error.message)"
            )
        }
    }

    @Test("5,000 chapters are accepted in every format", .timeLimit(.minutes(2 * TestTime.factor)), arguments: OutlineFormat.allCases)
    func fiveThousandChapters(format: OutlineFormat) throws {
        let titles = (1...5000).map { "Chapter \($0): part \($0 % 7)" }
        let outline = try parse(Self.text(titles, format), format)
        #expect(outline.chapters.count == 5000)
        #expect(outline.chapters.last?.title == "Chapter 5000: part 2")
    }
}
