import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

@Suite("Chapter keys")
struct ChapterKeyTests {
    static let outline = Outline(
        title: "Practical Rust",
        audience: "Python developers",
        level: "intermediate",
        language: "en",
        words: 1500,
        description: "A hands-on course.",
        chapters: [
            .init(title: "Getting started", points: ["rustup", "cargo"], notes: "Word counter exercise."),
            .init(title: "Ownership", points: ["moves"]),
            .init(title: "Testing", points: []),
        ]
    )

    func key(_ outline: Outline = outline, _ index: Int = 0, settings: GenerationSettings = .init()) -> ChapterKey {
        ChapterKey(settings: settings, outline: outline, index: index)
    }

    @Test("is 64 hex digits and the same in every process (SHA-256, not Hasher)")
    func stable() {
        let key = key()
        #expect(key.hex.count == 64)
        #expect(ChapterKey(hex: key.hex) == key)
        // Pinned: if this changes, every user pays for every chapter again. Bump
        // PromptTemplate.version instead when the request really changes.
        #expect(key.hex == ChapterKeyTests.pinnedKey)
        // Keys of 2.5 models are what they were before Gemini 3 requests took another shape:
        // an installation that keeps its model pays for nothing on upgrade.
        #expect(self.key(settings: GenerationSettings(model: "gemini-2.5-flash")).hex == ChapterKeyTests.pinnedKey25)
    }
    /// Under the default model, gemini-3.8-flash (changed with the default: every chapter of an
    /// installation that sets no model regenerates once, as the README's upgrade notes say).
    static let pinnedKey = "407d9fe7dc938a193b22c63019942754a9ff827e95fd6c52d355d8c6f5ba7fa0"
    /// Under gemini-2.5-flash, the default before: the pin of earlier releases.
    static let pinnedKey25 = "9491eb9efecb6f421f230b079eb8686b2e5f88c230111642ee7d9187bf3443fe"

    @Test("ignores the chapter's position and the other chapters")
    func positionFree() {
        var reordered = Self.outline
        reordered.chapters.reverse()
        reordered.chapters.append(.init(title: "Appendix"))
        #expect(key(reordered, 2) == key())
        var removed = Self.outline
        removed.chapters.removeLast()
        #expect(key(removed, 0) == key())
    }

    @Test("ignores the line a chapter starts on")
    func lineFree() {
        var moved = Self.outline
        moved.chapters[0].line = 99
        #expect(key(moved) == key())
    }

    @Test(
        "changes with each field that shapes the request",
        arguments: [
            "title", "audience", "level", "language", "words", "description",
            "chapter.title", "chapter.points", "chapter.point order", "chapter.notes",
            "model", "provider", "temperature", "max-output-tokens", "thinking-budget", "thinking-level",
        ]
    )
    func sensitivity(field: String) {
        var outline = Self.outline
        // Temperature and the thinking budget are sent to 2.5 models only: the key holds what is sent.
        let base = ["temperature", "thinking-budget"].contains(field)
            ? GenerationSettings(model: "gemini-2.5-flash-lite") : GenerationSettings()
        var settings = base
        switch field {
        case "title": outline.title += "!"
        case "audience": outline.audience = nil
        case "level": outline.level = "beginner"
        case "language": outline.language = "de"
        case "words": outline.words = 1600
        case "description": outline.description! += " More."
        case "chapter.title": outline.chapters[0].title = "Getting Started!"
        case "chapter.points": outline.chapters[0].points.append("toolchains")
        case "chapter.point order": outline.chapters[0].points.reverse()
        case "chapter.notes": outline.chapters[0].notes = nil
        case "model": settings.model = "gemini-2.5-pro"
        case "provider": settings.provider = "other"
        case "temperature": settings.temperature = 0.2
        case "max-output-tokens": settings.maxOutputTokens = 4096
        case "thinking-budget": settings.thinkingBudget = 0
        case "thinking-level": settings.thinkingLevel = .low
        default: Issue.record("unknown field \(field)")
        }
        #expect(key(outline, settings: settings) != key(settings: base))
    }

    @Test("keeps nil and empty apart, and field boundaries apart")
    func unambiguous() {
        var emptyNotes = Self.outline
        emptyNotes.chapters[0].notes = ""
        var noNotes = Self.outline
        noNotes.chapters[0].notes = nil
        #expect(key(emptyNotes) != key(noNotes))
        var joined = Self.outline
        joined.chapters[0].points = ["rustupcargo"]
        #expect(key(joined) != key())
    }

    @Test("the outline digest changes with order but not with lines")
    func digest() {
        var reordered = Self.outline
        reordered.chapters.swapAt(0, 1)
        #expect(reordered.digest != Self.outline.digest)
        var moved = Self.outline
        moved.chapters[1].line = 40
        #expect(moved.digest == Self.outline.digest)
    }

    @Test("the prompt names neither the chapter's position nor the other chapters")
    func promptIsPositionFree() {
        let request = ChapterRequest(settings: .init(), outline: Self.outline, index: 1)
        #expect(request.prompt.contains("Ownership"))
        #expect(!request.prompt.contains("Getting started"))
        #expect(!request.prompt.contains("Testing"))
        #expect(!request.prompt.contains("2"))
    }
}
