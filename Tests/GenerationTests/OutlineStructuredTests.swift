import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines
import Platform

@Suite("Outline parser: YAML and JSON")
struct OutlineStructuredTests {
    static let kitchenJSON = """
        {
          "title": "Food Safety for New Kitchen Staff",
          "audience": "newly hired kitchen staff with no formal training",
          "level": "beginner",
          "language": "en",
          "words": 900,
          "description": "A short onboarding course that every new hire completes in their first week. Plain language, concrete examples from a restaurant kitchen, no jargon without explanation.",
          "chapters": [
            {"title": "Why food safety matters",
             "points": ["Foodborne illness and who is most at risk", "What an inspection looks at"]},
            {"title": "Personal hygiene",
             "points": ["Handwashing, step by step, and when", "Gloves are not a substitute for washing",
                        "Reporting illness before a shift"]},
            {"title": "Temperature control",
             "points": ["The danger zone, 5 \\u00b0C to 60 °C", "Cooling cooked food safely",
                        "Using and calibrating a probe thermometer"],
             "notes": "Include a worked example of cooling a large pot of stock."},
            {"title": "Cross-contamination and allergens",
             "points": ["Colour-coded boards and storage order in the fridge",
                        "The 14 major allergens and how to answer a customer's question"]},
            {"title": "Cleaning and sanitising",
             "points": ["Cleaning versus sanitising", "A daily and weekly cleaning schedule"]}
          ]
        }
        """

    @Test("the YAML example written as JSON parses to the same outline, with chapter lines")
    func jsonExample() throws {
        let outline = try parse(Self.kitchenJSON, .json)
        #expect(outline == OutlineExamples.kitchenSafetyOutline)
        #expect(outline.chapters.map(\.line) == [9, 11, 14, 18, 21])
    }

    @Test("a minimal outline needs only a title and chapters with titles")
    func minimal() throws {
        let expected = Outline(title: "T", chapters: [.init(title: "One"), .init(title: "Two")])
        #expect(try parse("title: T\nchapters:\n  - title: One\n  - title: Two\n", .yaml) == expected)
        #expect(try parse(#"{"title":"T","chapters":[{"title":"One"},{"title":"Two"}]}"#, .json) == expected)
    }

    @Test("YAML plain words are text as written, and null or empty values are absent")
    func yamlScalars() throws {
        let text = """
            title: 2024
            audience: yes
            level: ~
            language: ''
            words: null
            description: |


            chapters:
              - title: 1.50
                points: [on, '', null, "  spaced  "]
                notes:
            """
        let outline = try parse(text, .yaml)
        #expect(
            outline
                == Outline(title: "2024", audience: "yes", chapters: [.init(title: "1.50", points: ["on", "spaced"])])
        )
    }

    @Test("YAML points written with `|` keep their lines, normalised")
    func multiLinePoint() throws {
        let text =
            "title: T\nchapters:\n  - title: One\n    points:\n      - |\n        First line   \n\n\n        second line\n"
        #expect(try parse(text, .yaml).chapters[0].points == ["First line\n\nsecond line"])
    }

    // MARK: Unknown keys

    @Test(
        "unknown keys at any level are errors on their line with a suggestion",
        arguments: [
            ("title: T\ntitel: U\nchapters: [{title: A}]\n", OutlineFormat.yaml, 2, "`titel`", "`title`"),
            ("title: T\nWords: 900\nchapters: [{title: A}]\n", .yaml, 2, "`Words`", "`words`"),
            ("title: T\ndesc: d\nchapters: [{title: A}]\n", .yaml, 2, "`desc`", "`description`"),
            ("title: T\nchapter:\n  - title: A\n", .yaml, 2, "`chapter`", "`chapters`"),
            ("title: T\nchapters:\n  - title: A\n    point: [x]\n", .yaml, 4, "`point`", "`points`"),
            ("title: T\nchapters:\n  - title: A\n    note: x\n", .yaml, 4, "`note`", "`notes`"),
            (
                "{\"title\": \"T\",\n \"chapters\": [\n  {\"title\": \"A\",\n   \"ponits\": []}]}", .json, 4,
                "`ponits`", "`points`"
            ),
            (
                "{\"title\": \"T\", \"laguage\": \"en\",\n \"chapters\": [{\"title\": \"A\"}]}", .json, 1, "`laguage`",
                "`language`"
            ),
        ]
    )
    func unknownKeys(text: String, format: OutlineFormat, line: Int, key: String, suggestion: String) throws {
        let error = try #require(parseError(text, format))
        #expect(error.line == line)
        #expect(error.message.contains("unknown key \(key)"))
        #expect(error.message.contains("did you mean \(suggestion)?"))
    }

    @Test("an unknown key with no close match lists the keys that are allowed")
    func unknownKeyWithoutSuggestion() throws {
        let error = try #require(parseError("title: T\nchapters:\n  - title: A\n    duration: 2h\n", .yaml))
        #expect(error.line == 4)
        #expect(!error.message.contains("did you mean"))
        #expect(error.message.contains("`title`, `points`, `notes`"))
    }

    @Test("a YAML merge key is an unknown key with a hint")
    func mergeKey() throws {
        let error = try #require(parseError("base: &b {level: x}\ntitle: T\n", .yaml))
        #expect(error.line == 1)
        let merge = try #require(parseError("title: T\n<<: {level: x}\nchapters: [{title: A}]\n", .yaml))
        #expect(merge.line == 2)
        #expect(merge.message.contains("merge keys"))
    }

    // MARK: Types

    @Test(
        "`words` must be a whole number in range, said with the range",
        arguments: [
            ("words: 49", 3), ("words: 20001", 3), ("words: -5", 3), ("words: '1500'", 3), ("words: 1500.0", 3),
            ("words: 1_500", 3), ("words: 99999999999999999999999", 3), ("words: [1500]", 3), ("words: many", 3),
        ]
    )
    func wordsYAML(line: String, expectedLine: Int) throws {
        let error = try #require(parseError("title: T\nlevel: x\n\(line)\nchapters: [{title: A}]\n", .yaml))
        #expect(error.line == expectedLine)
        #expect(error.message.contains("between 50 and 20000"))
    }

    @Test(
        "`words` in JSON must be an integer literal in range",
        arguments: ["\"1500\"", "1500.0", "1.5e3", "10", "123456789012345678901234567890", "true", "null"]
    )
    func wordsJSON(value: String) throws {
        let text = "{\"title\": \"T\",\n\"words\": \(value),\n\"chapters\": [{\"title\": \"A\"}]}"
        if value == "null" {
            #expect(try parse(text, .json).words == nil)
            return
        }
        let error = try #require(parseError(text, .json))
        #expect(error.line == 2)
        #expect(error.message.contains("between 50 and 20000"))
    }

    @Test("the edges of the words range are accepted")
    func wordsEdges() throws {
        #expect(try parse("title: T\nwords: 50\nchapters: [{title: A}]", .yaml).words == 50)
        #expect(try parse("title: T\nwords: +20000\nchapters: [{title: A}]", .yaml).words == 20000)
    }

    @Test("points given as one string are an error with a hint for the format")
    func pointsAsString() throws {
        let yaml = try #require(parseError("title: T\nchapters:\n  - title: A\n    points: Gloves\n", .yaml))
        #expect(yaml.line == 4)
        #expect(yaml.message.contains("single text, not a list"))
        #expect(yaml.message.contains("starting with `- `"))
        let json = try #require(
            parseError("{\"title\": \"T\", \"chapters\": [{\"title\": \"A\",\n\"points\": \"x\"}]}", .json)
        )
        #expect(json.line == 2)
        #expect(json.message.contains("[\"...\"]"))
    }

    @Test("a YAML point with `: ` inside becomes a mapping, reported with the quoting hint")
    func pointWithColon() throws {
        let text = "title: T\nchapters:\n  - title: A\n    points:\n      - fine\n      - Danger zone: 5 to 60\n"
        let error = try #require(parseError(text, .yaml))
        #expect(error.line == 6)
        #expect(error.message.contains("point 2 of chapter 1"))
        #expect(error.message.contains("put the point in quotes"))
    }

    @Test("notes must be text, chapters a list of mappings, the root a mapping")
    func structureTypes() throws {
        let notes = try #require(parseError("title: T\nchapters:\n  - title: A\n    notes:\n      - x\n", .yaml))
        #expect(notes.line == 5)
        #expect(notes.message.contains("`notes` of chapter 1 is a list, not text"))
        #expect(notes.message.contains("notes: |"))
        let chapters = try #require(parseError("title: T\nchapters: One, Two\n", .yaml))
        #expect(chapters.line == 2)
        #expect(chapters.message.contains("not a list"))
        let chapter = try #require(parseError("title: T\nchapters:\n  - A\n  - title: B\n", .yaml))
        #expect(chapter.line == 3)
        #expect(chapter.message.contains("chapter 1 is text, not a mapping"))
        let root = try #require(parseError("[1, 2]", .json))
        #expect(root.line == 1)
        #expect(root.message.contains("not a mapping"))
    }

    @Test("a missing title, empty chapter title or no chapters is an error on the right line")
    func requiredFields() throws {
        let noTitle = try #require(parseError("\naudience: x\nchapters: [{title: A}]\n", .yaml))
        #expect(noTitle.line == 2)
        #expect(noTitle.message.contains("no title"))
        let emptyChapter = try #require(
            parseError("title: T\nchapters:\n  - title: A\n  - title: '  '\n    points: [x]\n", .yaml)
        )
        #expect(emptyChapter.line == 4)
        #expect(emptyChapter.message.contains("chapter 2 has an empty title"))
        let untitled = try #require(parseError("title: T\nchapters:\n  - points: [x]\n", .yaml))
        #expect(untitled.line == 3)
        let none = try #require(parseError("title: T\nlevel: x\nchapters: []\n", .yaml))
        #expect(none.line == 3)
        #expect(none.message.contains("no chapters"))
        let missing = try #require(parseError("{\"title\": \"T\"}", .json))
        #expect(missing.line == 1)
        #expect(missing.message.contains("\"chapters\": [{"))
    }

    @Test("duplicate chapter titles are an error on the second naming the first")
    func duplicateChapters() throws {
        let text = "title: T\nchapters:\n  - title: Setup\n  - title: Other\n  - title: ' SETUP'\n"
        let error = try #require(parseError(text, .yaml))
        #expect(error.line == 5)
        #expect(error.message.contains("line 3"))
    }

    @Test("titles with control characters or over 200 characters are errors on their line")
    func badTitles() throws {
        let bell = try #require(parseError("{\"title\": \"T\",\n\"chapters\": [{\"title\": \"a\\u0007b\"}]}", .json))
        #expect(bell.line == 2)
        #expect(bell.message.contains("U+0007"))
        let newline = try #require(
            parseError("{\"title\": \"two\\nlines\", \"chapters\": [{\"title\": \"A\"}]}", .json)
        )
        #expect(newline.line == 1)
        #expect(newline.message.contains("must be on one line"))
        let long = String(repeating: "é", count: 201)
        let tooLong = try #require(parseError("title: T\nchapters:\n  - title: \(long)\n", .yaml))
        #expect(tooLong.line == 3)
        #expect(tooLong.message.contains("201 characters"))
        let escape = try #require(parseError("title: T\nchapters:\n  - title: A\n    notes: \"x\\ey\"\n", .yaml))
        #expect(escape.line == 4)
        #expect(escape.message.contains("U+001B"))
    }

    // MARK: JSON specifics

    @Test("JSON escapes, surrogate pairs and tabs between tokens are read correctly")
    func jsonEscapes() throws {
        let text =
            "{\t\"title\":\t\"A\\/B \\u00e9\\u00E9 \\ud83d\\ude00 \\\"q\\\" \\\\\"  ,\r\n"
            + "\"chapters\" : [ {\"title\":\"One\", \"notes\": \"col1\\tcol2\\nline2\\r\\nline3\", "
            + "\"points\": [\"\\u0041\\b\"]} ] }"
        let error = parseError(text, .json)
        #expect(error?.message.contains("U+0008") == true)
        let clean = text.replacingOccurrences(of: "\\b", with: "")
        let outline = try parse(clean, .json)
        #expect(outline.title == "A/B éé 😀 \"q\" \\")
        #expect(outline.chapters[0].notes == "col1\tcol2\nline2\nline3")
        #expect(outline.chapters[0].points == ["A"])
    }

    @Test("big and fractional numbers in text fields are kept as written")
    func jsonNumbers() throws {
        let text = #"{"title": 123456789012345678901234567890, "level": -1.5e-300, "chapters": [{"title": 0}]}"#
        let outline = try parse(text, .json)
        #expect(outline.title == "123456789012345678901234567890")
        #expect(outline.level == "-1.5e-300")
        #expect(outline.chapters[0].title == "0")
    }

    @Test(
        "JSON syntax errors name the line and what to change",
        arguments: [
            ("{\"title\": \"T\",\n\"chapters\": [],\n}", 3, "trailing comma"),
            ("{\"title\": \"T\",\n\"chapters\": [\n{\"title\": \"A\"},\n]}", 4, "trailing comma"),
            ("{\"title\": \"T\"\n\"chapters\": []}", 2, "a comma may be missing"),
            ("{\"title\": \"T\",\n\"chapters\": [\n{\"title\": \"A\"}\n", 4, "opened on line 2"),
            ("{\"title\": \"T\",\n// comment\n\"chapters\": []}", 2, "key was expected"),
            ("{\"title\": \"T\",\n\"level\": // comment\n1}", 2, "no comments"),
            ("{\"title\": 'T'}", 1, "double quotes"),
            ("{\"title\": \"T\n\"}", 1, "past the end of the line"),
            ("{\"title\": \"a\tb\"}", 1, "raw control character"),
            ("{\n\"title\": \"\\ud83d x\"}", 2, "lone high surrogate"),
            ("{\"title\": \"\\ude00\"}", 1, "lone low surrogate"),
            ("{\"title\": \"\\u00g9\"}", 1, "four hexadecimal digits"),
            ("{\"title\": \"\\x41\"}", 1, "unknown escape"),
            ("{\"title\": \"T\",\n\"level\": \"a\",\n\"title\": \"U\"}", 3, "appears twice"),
            ("{\"words\": 012}", 1, "must not start with 0"),
            ("{\"words\": 1.}", 1, "digits after its decimal point"),
            ("{\"words\": TRUE}", 1, "where a value was expected"),
            ("{}\n{}", 2, "after the end of the JSON value"),
            ("\n\n", 1, "empty"),
            ("{\"title\": \"T\", \"chapters\": [\"A\" \"B\"]}", 1, "a comma may be missing"),
            ("{\"title\"  \"T\"}", 1, "expected `:`"),
        ]
    )
    func jsonSyntaxErrors(text: String, line: Int, phrase: String) throws {
        let error = try #require(parseError(text, .json))
        #expect(error.line == line)
        #expect(error.message.contains(phrase))
    }

    @Test("deeply nested JSON is refused, not a stack overflow")
    func deepJSON() throws {
        let depth = 100_000
        let text = "{\"title\": " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let error = try #require(parseError(text, .json))
        #expect(error.message.contains("nested more than"))
    }

    // MARK: YAML specifics

    @Test("YAML syntax errors name the line, with hints for tabs and stray colons")
    func yamlSyntaxErrors() throws {
        let tab = try #require(parseError("title: T\nchapters:\n\t- title: A\n", .yaml))
        #expect(tab.line == 3)
        #expect(tab.message.contains("spaces, not tabs"))
        let colon = try #require(parseError("title: T\naudience: cooks: new ones\nchapters: []\n", .yaml))
        #expect(colon.line == 2)
        #expect(colon.message.contains("put the whole value in quotes"))
        let duplicate = try #require(parseError("title: T\nchapters: []\ntitle: U\n", .yaml))
        #expect(duplicate.line == 1)
        #expect(duplicate.message.contains("`title` appears more than once"))
        let documents = try #require(parseError("title: T\n---\ntitle: U\n", .yaml))
        #expect(documents.line == 2)
        let empty = try #require(parseError("# only a comment\n", .yaml))
        #expect(empty.message.contains("empty"))
    }

    @Test("YAML escapes that make no character, or a control character, are errors on their line")
    func yamlEscapes() throws {
        let surrogate = try #require(parseError("title: T\nlevel: \"\\ud800\"\nchapters: [{title: A}]\n", .yaml))
        #expect(surrogate.line == 2)
        #expect(surrogate.message.contains("invalid Unicode character escape"))
        let nul = try #require(parseError("title: T\nchapters:\n  - title: A\n    points: [\"a\\0b\"]\n", .yaml))
        #expect(nul.line == 4)
        #expect(nul.message.contains("point 1 of chapter 1 contains the control character U+0000"))
        let fine = try parse("title: \"Caf\\u00e9 \\x41 \\U0001F600\"\nchapters: [{title: A}]\n", .yaml)
        #expect(fine.title == "Café A 😀")
    }

    @Test("a YAML file that is only `---`, without a final line break, is refused on line 1 (fuzz crasher)")
    func documentMarkerOnly() throws {
        // libyaml put the empty document on line 2 of this one-line file.
        for text in ["---", "--- ", "---\n", "title: T\n---"] {
            let error = try #require(parseError(text, .yaml))
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            #expect(error.line.map { (1...lines).contains($0) } == true, "\(text.debugDescription): \(error)")
        }
        #expect(parseError("---", .yaml)?.line == 1)
    }

    @Test("deeply nested YAML is refused, not a stack overflow")
    func deepYAML() throws {
        for depth in [100, 999, 5000] {
            let text = "title: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
            let error = try #require(parseError(text, .yaml))
            #expect(error.message.contains("nested") || error.message.contains("not valid YAML"))
        }
    }
}
