import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// Whitespace that does not change meaning must not change the parsed outline: otherwise a
/// save that only touched whitespace would pay for regenerating chapters.
@Suite("Outline parser: normalisation")
struct OutlineNormalisationTests {
    /// Rewrites that change only whitespace, line ends, a BOM or trailing newlines.
    static let rewrites: [(name: String, apply: @Sendable (String) -> String)] = [
        ("CRLF line ends", { $0.replacingOccurrences(of: "\n", with: "\r\n") }),
        ("CR line ends", { $0.replacingOccurrences(of: "\n", with: "\r") }),
        ("trailing spaces and tabs on every line", { $0.replacingOccurrences(of: "\n", with: "  \t \n") }),
        ("blank lines doubled", { $0.replacingOccurrences(of: "\n\n", with: "\n\n\n\n") }),
        ("blank lines with spaces", { $0.replacingOccurrences(of: "\n\n", with: "\n   \n\t\n") }),
        ("extra trailing newlines", { $0 + "\n\n\n" }),
        (
            "no trailing newline",
            { String($0.drop(while: { $0 == "\n" }).reversed().drop(while: { $0 == "\n" }).reversed()) }
        ),
        ("a UTF-8 BOM", { "\u{FEFF}" + $0 }),
        (
            "all at once",
            {
                "\u{FEFF}"
                    + $0.replacingOccurrences(of: "\n\n", with: "\n \n\n").replacingOccurrences(of: "\n", with: " \r\n")
                    + "\r\n\r\n"
            }
        ),
    ]

    static let markdown = """
        ---
        audience: Python developers
        words: 1500
        description: |
          About the course.

          Second paragraph.
        ---
        # Practical Rust

        ## Getting started
        - Installing rustup
          and a toolchain
        - Cargo basics
          - cargo new
        Notes line one.

        ```sh
        \tcargo run

        ```

        ## Ownership
        1. Moves
        2. Borrows

        """

    static let markdownOutline = Outline(
        title: "Practical Rust",
        audience: "Python developers",
        words: 1500,
        description: "About the course.\n\nSecond paragraph.",
        chapters: [
            .init(
                title: "Getting started",
                points: ["Installing rustup and a toolchain", "Cargo basics\n  - cargo new"],
                notes: "Notes line one.\n\n```sh\n\tcargo run\n\n```"
            ),
            .init(title: "Ownership", points: ["Moves", "Borrows"]),
        ]
    )

    @Test("Markdown: whitespace-only rewrites parse to the same outline", arguments: 0..<rewrites.count)
    func markdownRewrites(index: Int) throws {
        let (name, rewrite) = Self.rewrites[index]
        #expect(try parse(Self.markdown) == Self.markdownOutline, "canonical")
        let outline = try parse(rewrite(Self.markdown))
        #expect(outline == Self.markdownOutline, "\(name)")
        #expect(outline.hashValue == Self.markdownOutline.hashValue, "\(name)")
        #expect(try parse(rewrite(OutlineExamples.practicalRust)) == OutlineExamples.practicalRustOutline, "\(name)")
    }

    @Test("Markdown: spacing inside headings, after list markers and in line wrapping changes nothing")
    func markdownSpacing() throws {
        let respaced = """
            ---
            audience:    Python developers
            words:   1500
            description: |
              About the course.
              \("")
              Second paragraph.
            ---

            #    Practical Rust   #


            ##  Getting started  ##
            -   Installing rustup
                and
                a toolchain
            -\tCargo basics
                -  cargo new
            Notes line one.

            ```sh
            \tcargo run


            ```
            ## Ownership
            1.  Moves

            2)  Borrows
            """
        #expect(try parse(respaced) == Self.markdownOutline)
    }

    @Test("Markdown: a change that is not whitespace does change the outline")
    func markdownRealChange() throws {
        let edited = Self.markdown.replacingOccurrences(of: "- Cargo basics", with: "- Cargo basics!")
        #expect(try parse(edited) != Self.markdownOutline)
        let reindentedCode = Self.markdown.replacingOccurrences(of: "\tcargo run", with: "    cargo run")
        #expect(try parse(reindentedCode) != Self.markdownOutline, "tabs in code are kept as written")
    }

    @Test("YAML: whitespace-only rewrites and re-indentation parse to the same outline", arguments: 0..<rewrites.count)
    func yamlRewrites(index: Int) throws {
        let (name, rewrite) = Self.rewrites[index]
        let outline = try parse(rewrite(OutlineExamples.kitchenSafety), .yaml)
        #expect(outline == OutlineExamples.kitchenSafetyOutline, "\(name)")
        #expect(outline.hashValue == OutlineExamples.kitchenSafetyOutline.hashValue, "\(name)")
    }

    @Test("YAML: re-indenting, flow style, leading blank lines and comments change nothing")
    func yamlLayout() throws {
        let twoSpaces = """
            title: T
            chapters:
              - title: One
                points:
                  - a
                  - b
                notes: |
                  Line one.
                    indented
            """
        let fourSpaces = """


            # A comment before the outline
            title: T      # and after a value
            chapters:
                -   title: One
                    points:
                    -   a
                    -   b
                    notes: |
                        Line one.
                          indented
            """
        let flow = "{title: T, chapters: [{title: One, points: [a, b], notes: \"Line one.\\n  indented\\n\"}]}"
        let expected = Outline(
            title: "T",
            chapters: [.init(title: "One", points: ["a", "b"], notes: "Line one.\n  indented")]
        )
        #expect(try parse(twoSpaces, .yaml) == expected)
        #expect(try parse(fourSpaces, .yaml) == expected)
        #expect(try parse(flow, .yaml) == expected)
        let commented = "\n\n# Kitchen course\n" + OutlineExamples.kitchenSafety + "# the end\n"
        #expect(try parse(commented, .yaml) == OutlineExamples.kitchenSafetyOutline)
    }

    @Test("JSON: whitespace-only rewrites parse to the same outline", arguments: 0..<rewrites.count)
    func jsonRewrites(index: Int) throws {
        let (name, rewrite) = Self.rewrites[index]
        let outline = try parse(rewrite(OutlineStructuredTests.kitchenJSON), .json)
        #expect(outline == OutlineExamples.kitchenSafetyOutline, "\(name)")
    }

    @Test("JSON: minified, tab-separated and padded strings parse to the same outline")
    func jsonLayout() throws {
        let minified = #"{"title":"T","words":900,"chapters":[{"title":"One","points":["a","b"],"notes":"n"}]}"#
        let spread =
            "\n\t{ \"title\" :\t\" T \" ,\n\n\"words\"\t:\t900 ,\"chapters\":[\n{\"title\":\"One \",\n"
            + "\"points\" : [ \"a\" , \"  b\" ] , \"notes\" : \"\\nn  \\n\\n\" } ] }\n\n"
        #expect(try parse(minified, .json) == (try parse(spread, .json)))
    }

    @Test("multi-line text loses trailing spaces, blank line runs and shared indentation, keeping relative indentation")
    func blockRules() {
        let lines: [Substring] = ["", "  \t", "    first   ", "", "", "", "      nested", "\t", "    last", "", ""]
        #expect(OutlineText.block(lines) == "first\n\n  nested\n\nlast")
        #expect(OutlineText.block(["\tcode", "\t\tdeeper"]) == "code\n\tdeeper")
        #expect(
            OutlineText.block(["\tmixed", "    spaces"]) == "\tmixed\n    spaces",
            "tabs are never turned into spaces"
        )
        #expect(OutlineText.block(["", " ", "\t"]) == nil)
    }

    @Test("empty optional fields become nil in every format")
    func emptyFieldsAreNil() throws {
        let expected = Outline(title: "T", chapters: [.init(title: "A")])
        #expect(
            try parse("---\naudience:\nlevel: ''\nlanguage: '  '\ndescription: |\n\n---\n# T\n## A\n\n\n") == expected
        )
        #expect(
            try parse(
                "title: T\naudience: ' '\nwords:\nchapters:\n  - title: A\n    points: []\n    notes: \"\\n \"\n",
                .yaml
            ) == expected
        )
        let json =
            #"{"title": "T", "level": "", "description": "  \n ", "chapters": [{"title": "A", "points": null, "notes": null}]}"#
        #expect(try parse(json, .json) == expected)
    }

    @Test("decomposed accents parse like precomposed ones, in NFC")
    func unicodeNormalisation() throws {
        let decomposed = try parse("# Cafe\u{301}\n## Cre\u{300}me bru\u{302}le\u{301}e\n")
        let composed = try parse("# Caf\u{E9}\n## Cr\u{E8}me br\u{FB}l\u{E9}e\n")
        #expect(decomposed == composed)
        #expect(Array(decomposed.title.unicodeScalars) == Array("Caf\u{E9}".unicodeScalars))
        #expect(Array(decomposed.chapters[0].title.utf8) == Array(composed.chapters[0].title.utf8))
    }

    @Test("accents escaped in decomposed form are put in NFC like the file's own text")
    func escapedDecomposedAccents() throws {
        let composed = Outline(
            title: "Caf\u{E9}",
            chapters: [.init(title: "Cr\u{E8}me", points: ["br\u{FB}l\u{E9}e"], notes: "\u{C5}")]
        )
        let json =
            #"{"title": "Cafe\u0301", "chapters": [{"title": "Cre\u0300me", "points": ["bru\u0302le\u0301e"], "notes": "A\u030a"}]}"#
        let yaml =
            #"{title: "Cafe\u0301", chapters: [{title: "Cre\u0300me", points: ["bru\u0302le\u0301e"], notes: "A\u030a"}]}"#
        for (text, format) in [(json, OutlineFormat.json), (yaml, .yaml)] {
            let outline = try parse(text, format)
            #expect(outline == composed, "\(format)")
            #expect(Array(outline.title.unicodeScalars) == Array("Caf\u{E9}".unicodeScalars), "\(format)")
            #expect(Array(outline.chapters[0].points[0].unicodeScalars) == Array("br\u{FB}l\u{E9}e".unicodeScalars))
            #expect(outline.digest == composed.digest, "\(format)")
        }
    }

    @Test("a chapter's line takes no part in equality: moving a chapter down a line is not a change")
    func linesDoNotCount() throws {
        let moved = try parse("# T\n\n\n## A\n- a\n")
        let original = try parse("# T\n## A\n- a\n")
        #expect(moved == original)
        #expect(moved.chapters[0].line == 4)
        #expect(original.chapters[0].line == 2)
    }

    // MARK: Bytes every format shares

    @Test("a NUL byte is refused on its line, in every format", arguments: OutlineFormat.allCases)
    func nulByte(format: OutlineFormat) throws {
        let error = try #require(parseError(Array("title: T\r\nchapters:\n  \0\n".utf8), format))
        #expect(error.line == 3)
        #expect(error.message.contains("NUL byte"))
    }

    @Test("invalid UTF-8 is refused on the line of the first bad byte", arguments: OutlineFormat.allCases)
    func invalidUTF8(format: OutlineFormat) throws {
        let latin1: [UInt8] = Array("# Kitchen\r\n\n## Caf".utf8) + [0xE9] + Array(" au lait\n".utf8)
        let error = try #require(parseError(latin1, format))
        #expect(error.line == 3)
        #expect(error.message.contains("not valid UTF-8"))
        #expect(error.message.contains("0xE9"))
        #expect(error.message.contains("column 7"))
        let truncated: [UInt8] = Array("# T\n## A\n".utf8) + [0xE2, 0x82]
        #expect(parseError(truncated, format)?.line == 3)
        let overlong: [UInt8] = Array("# T\n".utf8) + [0xC0, 0xAF]
        #expect(parseError(overlong, format)?.line == 2)
        let surrogate: [UInt8] = [0xED, 0xA0, 0x80]
        #expect(parseError(surrogate, format)?.line == 1)
    }

    @Test(
        "raw control characters are refused with their line, column and code point",
        arguments: OutlineFormat.allCases
    )
    func rawControlCharacters(format: OutlineFormat) throws {
        let error = try #require(parseError("line one\n\nab\u{1B}[31m\n", format))
        #expect(error.line == 3)
        #expect(error.message.contains("column 3"))
        #expect(error.message.contains("U+001B"))
        let c1 = try #require(parseError("x\n\u{85}\n", format))
        #expect(c1.line == 2)
        #expect(c1.message.contains("U+0085"))
    }

    @Test("a BOM alone is not text, and lines after it are still counted from 1")
    func bomLines() throws {
        let error = try #require(parseError([0xEF, 0xBB, 0xBF] + Array("# T\n## A\n## a\n".utf8), .markdown))
        #expect(error.line == 3)
        let empty = try #require(parseError([0xEF, 0xBB, 0xBF], .markdown))
        #expect(empty.message.contains("empty"))
    }
}
