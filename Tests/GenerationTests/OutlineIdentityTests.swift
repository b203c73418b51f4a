import Testing

@testable import Generation
@testable import Outlines

@Suite("Chapter identity and spelling suggestions")
struct OutlineIdentityTests {
    @Test(
        "titles equal but for case, spacing or Unicode form name the same chapter",
        arguments: [
            ("Moves and copies", "Moves and copies"),
            ("Moves and copies", "  moves   AND\tcopies  "),
            ("Moves and copies", "Moves\u{A0}and\u{2003}copies"),
            ("Straße", "STRASSE"),
            ("ΟΔΟΣ", "οδος"),
            ("ﬁle formats", "FILE formats"),
            ("Café", "Cafe\u{301}"),
            ("ÅNGSTRÖM", "a\u{30A}ngstro\u{308}m"),
            ("İstanbul", "i\u{307}stanbul"),
            ("Ǆ", "ǆ"),
        ]
    )
    func sameChapter(a: String, b: String) {
        #expect(ChapterIdentity(title: a) == ChapterIdentity(title: b))
        #expect(ChapterIdentity(title: a).hashValue == ChapterIdentity(title: b).hashValue)
        #expect(Outline.Chapter(title: a).identity == Outline.Chapter(title: b, points: ["other"]).identity)
    }

    @Test(
        "titles that differ in anything a reader sees name different chapters",
        arguments: [
            ("Moves and copies", "Moves and copy"),
            ("Setup", "Set up"),
            ("a-b", "a b"),
            ("Rust", "Rust!"),
            ("Café", "Cafe"),
            ("Chapter 1", "Chapter 2"),
            ("Istanbul", "İstanbul"),
            ("ab", "a\u{200B}b"),
        ]
    )
    func differentChapters(a: String, b: String) {
        #expect(ChapterIdentity(title: a) != ChapterIdentity(title: b))
    }

    @Test("the identity is the folded, single-spaced, NFC title")
    func foldedText() {
        #expect(ChapterIdentity(title: "  Moves   AND Copies ").folded == "moves and copies")
        #expect(ChapterIdentity(title: "Straße").description == "strasse")
        let composed = ChapterIdentity(title: "CAFE\u{301}").folded
        #expect(Array(composed.unicodeScalars) == Array("café".unicodeScalars))
    }

    @Test(
        "a suggestion is the known name within two edits, or one the typed text begins",
        arguments: [
            ("titel", ["title", "points"], "title"),
            ("ponits", ["title", "points"], "points"),
            ("Words", ["words", "title"], "words"),
            ("desc", ["description", "audience"], "description"),
            ("LEVEL", ["level"], "level"),
            ("max-output-token", ["max-output-tokens", "model"], "max-output-tokens"),
            ("COURSEGEN_CONCURENCY", ["COURSEGEN_CONCURRENCY", "COURSEGEN_RPM"], "COURSEGEN_CONCURRENCY"),
            ("duration", ["title", "points", "notes"], nil),
            ("xy", ["rpm", "tpm"], nil),
            ("de", ["description"], nil),
        ] as [(String, [String], String?)]
    )
    func suggestions(typed: String, known: [String], expected: String?) {
        #expect(Spelling.suggestion(for: typed, among: known) == expected)
    }

    @Test("on a tie the first known name wins, and a closer one beats a prefix")
    func suggestionOrder() {
        #expect(Spelling.suggestion(for: "rpn", among: ["rpm", "tpn"]) == "rpm")
        #expect(Spelling.suggestion(for: "note", among: ["notebook", "notes"]) == "notes")
    }

    @Test(
        "edit distance counts insertions, deletions, substitutions and swaps of neighbours",
        arguments: [
            ("", "", 0), ("abc", "", 3), ("", "ab", 2), ("title", "title", 0), ("titel", "title", 1),
            ("points", "ponits", 1), ("kitten", "sitting", 3), ("ca", "abc", 3), ("Straße", "Strasse", 2),
            ("Title", "title", 1),
        ]
    )
    func editDistance(a: String, b: String, distance: Int) {
        #expect(Spelling.editDistance(a, b) == distance)
        #expect(Spelling.editDistance(b, a) == distance)
    }
}
