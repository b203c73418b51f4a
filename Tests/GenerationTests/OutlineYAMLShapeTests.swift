import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// YAML outlines are plain YAML: what Yams would compose slowly, or what silently changes a
/// value, is refused on its line before the text is composed (`YAMLShapeCheck`).
@Suite("Outline parser: YAML shapes outlines do not use")
struct OutlineYAMLShapeTests {
    /// Anchors nested ten deep, and a key that expands them: composing this took Yams 20 s at
    /// seven levels, ten times longer for each level more.
    static let aliasKeyBomb: String = {
        var text = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<10 {
            text +=
                "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ")
                + "]\n"
        }
        return text + "? *l9\n: 1\n"
    }()

    /// Flow mappings used as keys, nested `depth` deep on each line, for `lines` lines.
    static func nestedKeys(depth: Int, lines: Int, explicit: Bool = false) -> String {
        var key = "a"
        for _ in 0..<depth { key = explicit ? "{? " + key + " : b}" : "{" + key + ": b}" }
        return "title: T\nkeys:\n" + String(repeating: "  - " + key + "\n", count: lines)
    }

    @Test(
        "anchors, aliases, tags and `?` keys are refused on their line, saying to quote text",
        arguments: [
            ("title: T\nchapters:\n  - title: Python\n    points:\n      - *args and **kwargs\n", 5, "`*` (column 9)"),
            ("title: T\nchapters:\n  - title: Rust\n    points:\n      - &mut borrows\n", 5, "YAML anchor"),
            ("title: !!str 2024\nchapters: [{title: A}]\n", 1, "YAML tag"),
            ("title: T\nchapters:\n  - title: A\n    points: [!important]\n", 4, "YAML tag"),
            ("? title\n: T\nchapters: [{title: A}]\n", 1, "complex key"),
            ("title: T\nchapters: [{? title : A}]\n", 2, "complex key"),
            ("title: &t Rust\nchapters:\n  - title: *t\n", 1, "YAML anchor"),
            ("base: &b {level: x}\ntitle: T\n<<: *b\n", 1, "YAML anchor"),
        ]
    )
    func indicatorsRefused(text: String, line: Int, phrase: String) throws {
        let error = try #require(parseError(text, .yaml))
        #expect(error.line == line)
        #expect(error.message.contains(phrase), "\(error.message)")
        #expect(error.message.contains("put it in quotes"))
    }

    @Test(
        "a list or mapping used as a key is refused on its line",
        arguments: [
            ("title: T\n[a, b]: c\n", 2),
            ("title: T\nchapters: [{title: A}]\nlevel: {[a]: b}\n", 3),
            ("title: T\nlevel: {[a], b}\n", 2),
            ("title: T\nlevel:\n  {{a: b}: c}\n", 3),
            ("title: T\nlevel: [{x: 1}, [[a]: b]]\n", 2),
        ]
    )
    func collectionKeysRefused(text: String, line: Int) throws {
        let error = try #require(parseError(text, .yaml))
        #expect(error.line == line)
        #expect(error.message.contains("a key is a list or mapping"), "\(error.message)")
    }

    @Test("a key built from aliases is refused, not expanded", .timeLimit(.minutes(1 * TestTime.factor)))
    func aliasKeyBomb() throws {
        // The block `? *l9` key on line 11 makes the probe unreadable there; the anchor just
        // before it is named.
        let error = try #require(parseError(Self.aliasKeyBomb, .yaml))
        #expect(error.line == 10)
        #expect(error.message.contains("YAML anchor"), "\(error.message)")
        let inFrontMatter = try #require(parseError("---\n" + Self.aliasKeyBomb + "---\n# T\n## A\n"))
        #expect(inFrontMatter.line == 11)
        // As a flow key the probe reads it, and the first anchor is named.
        let flow = Self.aliasKeyBomb.replacingOccurrences(of: "? *l9\n: 1\n", with: "last: {*l9 : 1}\n")
        let flowError = try #require(parseError(flow, .yaml))
        #expect(flowError.line == 1)
        #expect(flowError.message.contains("YAML anchor"), "\(flowError.message)")
    }

    @Test("flow mappings nested as keys are refused without composing them", .timeLimit(.minutes(1 * TestTime.factor)))
    func nestedFlowKeys() throws {
        // 256 KiB of keys nested 200 deep took Yams 24 s to compose: the line count stops it.
        for explicit in [false, true] {
            let text = Self.nestedKeys(depth: 200, lines: 256, explicit: explicit)
            let error = try #require(parseError(text, .yaml))
            #expect(error.line == 3)
            #expect(error.message.contains("more than 16 `]:`"), "\(error.message)")
        }
        // Within the line count, the probe shows the keys.
        for explicit in [false, true] {
            let text = Self.nestedKeys(depth: 10, lines: 3, explicit: explicit)
            let error = try #require(parseError(text, .yaml))
            #expect(error.line == 3)
            #expect(error.message.contains(explicit ? "complex key" : "a key is a list or mapping"), "\(error.message)")
        }
    }

    @Test("a line with more `]:` than any outline needs is refused before composing")
    func collectionKeysPerLine() throws {
        let limit = YAMLShapeCheck.maximumCollectionKeysPerLine
        var key = "a"
        for _ in 0...limit { key = "[" + key + "]: b" }
        let error = try #require(parseError("title: T\nlevel: [" + key + "]\n", .yaml))
        #expect(error.line == 2)
        #expect(error.message.contains("more than \(limit) `]:`"))
        // At the limit the line is composed, and refused for what it is.
        var atLimit = "a"
        for _ in 0..<limit { atLimit = "[" + atLimit + "]: b" }
        let composed = try #require(parseError("title: T\nlevel: [" + atLimit + "]\n", .yaml))
        #expect(composed.message.contains("a key is a list or mapping"))
    }

    @Test("the same characters inside text, quotes, block scalars and comments are text")
    func indicatorsInText() throws {
        let text = """
            title: "*Rust* & friends!"   # a comment: *x &y !z ? w {a}: [b]:
            audience: C++ & Rust users?
            level: '&beginner'
            chapters:
              - title: Ownership & borrowing!
                points:
                  - Shared &T and exclusive &mut T
                  - 'A *raw* pointer: *const T'
                  - "!important: read {this} [first]: twice"
                  - Why? Because {braces} and [brackets] are fine in plain text
                notes: |
                  &mut at the start of a line
                  *emphasis* at the start of a line
                  !important
                  ? a question
                  [1]: https://doc.rust-lang.org
                  {braces}: too
              - {title: "Flow {style}", points: ["a: b", '*c*']}
            """
        let outline = try parse(text, .yaml)
        #expect(outline.title == "*Rust* & friends!")
        #expect(outline.audience == "C++ & Rust users?")
        #expect(outline.level == "&beginner")
        #expect(
            outline.chapters == [
                .init(
                    title: "Ownership & borrowing!",
                    points: [
                        "Shared &T and exclusive &mut T", "A *raw* pointer: *const T",
                        "!important: read {this} [first]: twice",
                        "Why? Because {braces} and [brackets] are fine in plain text",
                    ],
                    notes: """
                        &mut at the start of a line
                        *emphasis* at the start of a line
                        !important
                        ? a question
                        [1]: https://doc.rust-lang.org
                        {braces}: too
                        """
                ),
                .init(title: "Flow {style}", points: ["a: b", "*c*"]),
            ]
        )
    }

    @Test("a syntax error in a flow mapping is still named a flow mapping")
    func flowMappingMessages() throws {
        let error = try #require(parseError("title: T\nchapters: [{title: A, points: [x]\n", .yaml))
        #expect(error.line == 3)
        #expect(error.message.contains("flow mapping"), "\(error.message)")
        #expect(error.message.contains("'}'"), "\(error.message)")
        #expect(!error.message.contains("flow sequence"), "\(error.message)")
    }

    @Test("duplicate keys in a flow mapping are still found")
    func flowMappingDuplicates() throws {
        let error = try #require(parseError("title: T\nchapters: [{title: A, title: B}]\n", .yaml))
        #expect(error.line == 2)
        #expect(error.message.contains("appears more than once"))
    }
}
