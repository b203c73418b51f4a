import Testing

@testable import Generation
@testable import Outlines
import Platform

/// Why JSON outlines keep their own reader instead of going through Yams, as YAML does: each
/// case is valid JSON the YAML path refuses, or JSON's opposite the YAML path accepts, so a
/// `.json` file would stop meaning JSON. `JSONReader`'s doc comment points here.
@Suite("JSON outlines keep their own reader")
struct OutlineJSONReaderTests {
    /// The JSON outline `{"title": TITLE, "chapters": [{"title": "A"}]}` around `title`.
    static func outline(title: String) -> String {
        "{\"title\": \(title), \"chapters\": [{\"title\": \"A\"}]}"
    }

    /// Reads `text` the way a YAML outline is read.
    static func throughYAML(_ text: String) throws(OutlineError) -> StructuredValue? {
        try YAMLReader.read(text, firstLine: 1, fileName: testFileName, what: "the YAML")
    }

    @Test("Yams refuses a surrogate-pair escape, which Python's json.dump writes for every emoji by default")
    func surrogatePairs() throws {
        let text = Self.outline(title: #""Safety \ud83e\uddef first""#)
        let error = #expect(throws: OutlineError.self) { try Self.throughYAML(text) }
        #expect(error?.message.contains("invalid Unicode character escape") == true)
        #expect(try parse(text, .json).title == "Safety 🧯 first")
    }

    @Test("Yams refuses a tab before the top-level value")
    func leadingTab() throws {
        let text = "\t" + Self.outline(title: "\"T\"")
        #expect(throws: OutlineError.self) { try Self.throughYAML(text) }
        #expect(try parse(text, .json).title == "T")
    }

    @Test("Yams refuses a key whose `:` is on the next line")
    func colonOnNextLine() throws {
        let text = "{\"title\"\n: \"T\", \"chapters\": [{\"title\": \"A\"}]}"
        #expect(throws: OutlineError.self) { try Self.throughYAML(text) }
        #expect(try parse(text, .json).title == "T")
    }

    @Test("Yams refuses a key longer than 1024 characters, where JSON names it as an unknown key")
    func longKey() throws {
        let key = String(repeating: "k", count: 1100)
        let text = "{\"title\": \"T\", \"\(key)\": 1, \"chapters\": [{\"title\": \"A\"}]}"
        let yaml = #expect(throws: OutlineError.self) { try Self.throughYAML(text) }
        #expect(yaml?.message.contains("not valid YAML") == true)
        let json = try #require(parseError(text, .json))
        #expect(json.message.contains("unknown key `kkk"))
    }

    @Test(
        "Yams accepts what JSON forbids, so a .json file read through it would not be JSON",
        arguments: [
            ("a comment", "{\"title\": \"T\", # note\n\"chapters\": [{\"title\": \"A\"}]}", 1),
            ("a trailing comma", "{\"title\": \"T\", \"chapters\": [{\"title\": \"A\"},]}", 1),
            ("single quotes", "{'title': 'T', 'chapters': [{'title': 'A'}]}", 1),
            ("unquoted keys and values", "{title: T, chapters: [{title: A}]}", 1),
            ("a raw tab in a string", "{\"title\": \"T\tU\", \"chapters\": [{\"title\": \"A\"}]}", 1),
            ("a YAML-only escape", "{\"title\": \"\\x54\", \"chapters\": [{\"title\": \"A\"}]}", 1),
            ("a string over two lines", "{\"title\": \"T\nU\", \"chapters\": [{\"title\": \"A\"}]}", 1),
            ("a no-break space before a value", "{\"title\":\u{A0}T, \"chapters\": [{\"title\": \"A\"}]}", 1),
            ("YAML after the object", "{\"title\": \"T\", \"chapters\": [{\"title\": \"A\"}]}\n# done\n", 2),
        ]
    )
    func notJSON(name: String, text: String, line: Int) throws {
        #expect(try Self.throughYAML(text) != nil, "\(name)")
        let error = try #require(parseError(text, .json))
        #expect(error.line == line, "\(name)")
    }

    @Test("what both read alike: `\\/`, `\\u00e9`, tabs between tokens, no space after `:`, numbers as written")
    func sameReading() throws {
        let text =
            "{\t\"title\":\"A\\/B caf\\u00e9\",\t\"level\":\t-0,\"words\":1500,\"chapters\":[{\"title\":\"One\"}]}"
        let outline = try parse(text, .json)
        #expect(outline.title == "A/B café")
        #expect(outline.level == "-0")
        #expect(outline.words == 1500)
        let viaYAML = try StructuredOutlineParser(fileName: testFileName, format: .json)
            .outline(from: try Self.throughYAML(text))
        #expect(viaYAML == outline)
    }
}
