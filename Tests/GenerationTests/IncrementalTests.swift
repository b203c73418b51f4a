import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// The outline every incremental test starts from: course fields, four chapters with points and notes.
let baseOutline = """
    ---
    audience: Python developers
    level: intermediate
    language: en
    words: 900
    ---
    # Practical Rust

    A hands-on course.

    ## Getting started
    - Installing rustup
    - Cargo basics
    The first exercise is a word counter.

    ## Ownership
    - Moves and copies
    - Borrows

    ## Error handling
    - The ? operator

    ## Shipping
    - Release builds

    """

@Suite("Paying once per chapter")
struct IncrementalTests {
    /// One row of issue 3's table: a change to the outline (or settings, or file name) and the
    /// requests it may cost.
    struct Change: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String = baseOutline
        var file = "course.md"
        var settings = GenerationSettings()
        var requests: Int
        var testDescription: String { name }
    }

    static let changes: [Change] = [
        Change(name: "none (identical bytes rewritten)", requests: 0),
        Change(
            name: "whitespace only",
            text: baseOutline.replacingOccurrences(of: "\n## ", with: "\n\n\n##   ")
                .replacingOccurrences(of: "- Moves and copies", with: "-   Moves and copies  \t")
                .replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\n",
            requests: 0
        ),
        Change(
            name: "one chapter's points",
            text: baseOutline.replacingOccurrences(of: "- Borrows", with: "- Borrows and lifetimes"),
            requests: 1
        ),
        Change(
            name: "one chapter's notes",
            text: baseOutline.replacingOccurrences(of: "word counter", with: "line counter"),
            requests: 1
        ),
        Change(
            name: "one chapter's title",
            text: baseOutline.replacingOccurrences(of: "## Shipping", with: "## Shipping a tool"),
            requests: 1
        ),
        Change(
            name: "two chapters swapped",
            text: baseOutline.replacingOccurrences(
                of: "## Ownership\n- Moves and copies\n- Borrows\n\n## Error handling\n- The ? operator\n",
                with: "## Error handling\n- The ? operator\n\n## Ownership\n- Moves and copies\n- Borrows\n"
            ),
            requests: 0
        ),
        Change(
            name: "one chapter moved to the end",
            text: baseOutline.replacingOccurrences(of: "## Ownership\n- Moves and copies\n- Borrows\n\n", with: "")
                + "## Ownership\n- Moves and copies\n- Borrows\n",
            requests: 0
        ),
        Change(
            name: "a chapter inserted",
            text: baseOutline.replacingOccurrences(of: "## Shipping", with: "## Testing\n- cargo test\n\n## Shipping"),
            requests: 1
        ),
        Change(
            name: "a chapter deleted",
            text: baseOutline.replacingOccurrences(of: "## Error handling\n- The ? operator\n\n", with: ""),
            requests: 0
        ),
        Change(
            name: "a course-level field",
            text: baseOutline.replacingOccurrences(of: "level: intermediate", with: "level: beginner"),
            requests: 4
        ),
        Change(
            name: "the course title",
            text: baseOutline.replacingOccurrences(of: "# Practical Rust", with: "# Practical Rust, 2nd edition"),
            requests: 4
        ),
        Change(name: "the model", settings: GenerationSettings(model: "gemini-3.7-flash"), requests: 4),
        Change(name: "a generation setting", settings: GenerationSettings(thinkingLevel: .low), requests: 4),
        Change(name: "the outline file renamed", file: "rust-course.md", requests: 0),
    ]

    @Test("each change costs exactly the requests issue 3 allows", arguments: changes)
    func requestCounts(change: Change) async throws {
        let harness = try await EngineHarness()
        try await harness.generate(baseOutline)
        #expect(harness.requests == 4)
        let before = try Self.chapters(in: harness, folder: "course")

        let report = try await harness.generate(change.text, file: change.file, settings: change.settings)
        try await harness.shutdown()
        #expect(harness.requests - 4 == change.requests)
        #expect(report.isComplete)

        // Whatever the change, the folder holds exactly the outline's chapters, each with the
        // text generated for that chapter's own entry.
        let outline = try OutlineParser.parse(Array(change.text.utf8), format: .markdown, fileName: change.file)
        let folder = Outline.folderName(forFile: change.file)!
        #expect(harness.files(folder) == outline.chapterFileNames + ["SUMMARY.md", "book.toml"])
        for (index, chapter) in outline.chapters.enumerated() {
            let text = try #require(harness.chapter(outline.chapterFileNames[index], in: folder))
            #expect(text.hasPrefix("# \(chapter.title)\n\n"))
            #expect(text.contains("Chapter to write: \(chapter.title)\n"))
            if change.requests == 0, let old = before[chapter.title] {
                #expect(text == old, "\(chapter.title) kept its text")
            }
        }
    }

    /// Chapter title -> file text.
    static func chapters(in harness: EngineHarness, folder: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in harness.files(folder) where ChapterFile.isChapterFileName(name) {
            let text = try #require(harness.chapter(name, in: folder))
            result[String(text.split(separator: "\n")[0].dropFirst(2))] = text
        }
        return result
    }

    @Test("a hand-edited chapter is kept, with a warning, until --force; then it is kept as .orig")
    func handEdits() async throws {
        let harness = try await EngineHarness()
        try await harness.generate(baseOutline)
        let edited = "# Ownership\n\nMy own careful words.\n"
        try harness.temp.write("out/course/02-ownership.md", edited)

        // Unchanged outline: nothing to do, the edit stays.
        var report = try await harness.generate(baseOutline)
        #expect(harness.chapter("02-ownership.md") == edited)
        #expect(report.chapters[1].outcome == .handEdited)

        // The chapter's entry changes: still no request for it and the edit stays, with a warning
        // naming the file; a reorder moves the edited file with its chapter.
        let changed =
            baseOutline
            .replacingOccurrences(of: "- Borrows", with: "- Borrows and lifetimes")
            .replacingOccurrences(
                of:
                    "## Ownership\n- Moves and copies\n- Borrows and lifetimes\n\n## Error handling\n- The ? operator\n",
                with:
                    "## Error handling\n- The ? operator\n\n## Ownership\n- Moves and copies\n- Borrows and lifetimes\n"
            )
        report = try await harness.generate(changed)
        #expect(harness.requests == 4)
        #expect(harness.chapter("03-ownership.md") == edited)
        #expect(
            harness.logs.all.contains {
                $0.level == .warning && $0.metadata["file"]?.hasSuffix("/course/03-ownership.md") == true
            }
        )
        #expect(report.isComplete)

        // --force regenerates it and keeps the edit beside it.
        report = try await harness.generate(changed, force: true)
        try await harness.shutdown()
        #expect(harness.requests == 5)
        #expect(harness.chapter("03-ownership.md")?.contains("Borrows and lifetimes") == true)
        #expect(harness.chapter("03-ownership.md.orig") == edited)
        #expect(report.backups == ["03-ownership.md": "03-ownership.md.orig"])

        // And later runs see the regenerated file as coursegen's own again.
        let after = try await EngineHarness.rerun(harness, changed)
        #expect(after.chapters[2].outcome == .unchanged)
    }

    @Test("a stray NN-name.md file in the folder is kept as .orig, never deleted")
    func strayFile() async throws {
        let harness = try await EngineHarness()
        try await harness.generate(baseOutline)
        try harness.temp.write("out/course/07-my-extra.md", "# Mine\n")
        let report = try await harness.generate(
            baseOutline.replacingOccurrences(of: "## Shipping\n- Release builds\n", with: "")
        )
        try await harness.shutdown()
        #expect(report.backups == ["07-my-extra.md": "07-my-extra.md.orig"])
        #expect(harness.chapter("07-my-extra.md.orig") == "# Mine\n")
        #expect(!harness.files().contains("07-my-extra.md"))
    }

    @Test("status counts chapters, failures with their error, tokens and requests")
    func status() async throws {
        let harness = try await EngineHarness(reply: { request in
            if request.prompt.contains("Chapter to write: Shipping") {
                return .status(code: 400, message: "Shipping is refused")
            }
            // One retry: it counts as a request too.
            return request.prompt.contains("Chapter to write: Ownership") && request.attempt == 1
                ? .status(code: 503) : .success()
        })
        try await harness.generate(baseOutline)
        try await harness.shutdown()
        let status = try #require(try StateDirectory(path: harness.state).status().first)
        #expect(status.outline == "course")
        #expect(status.title == "Practical Rust")
        #expect(status.chapters == 4)
        #expect(status.upToDate == 3)
        #expect(status.failed.map(\.chapter) == [4])
        #expect(status.failed.first?.error.contains("Shipping is refused") == true)
        #expect(status.requests == 5)
        #expect(status.usage.promptTokens > 0 && status.usage.outputTokens > 0)
        #expect(status.lastGenerated != nil)
    }

    @Test("gc removes bodies no manifest references after the grace period, and only those")
    func garbageCollection() async throws {
        let harness = try await EngineHarness()
        try await harness.generate(baseOutline)
        try await harness.generate(baseOutline.replacingOccurrences(of: "- Borrows", with: "- Borrows!"))
        try await harness.shutdown()
        let state = StateDirectory(path: harness.state)
        // The old Ownership body is unreferenced now, but young.
        var report = try state.collectGarbage(grace: .seconds(3600))
        #expect(report.removed == 0 && report.kept == 1)
        report = try state.collectGarbage(grace: .seconds(3600), now: Date().addingTimeInterval(7200))
        #expect(report.removed == 1 && report.kept == 0)
        // Everything the outline uses is still there: a rerun costs nothing.
        let after = try await EngineHarness.rerun(
            harness,
            baseOutline.replacingOccurrences(of: "- Borrows", with: "- Borrows!")
        )
        #expect(after.isComplete && after.chapters.allSatisfy { $0.outcome == .unchanged })
    }
}

extension EngineHarness {
    /// Runs `text` again on the harness's state and output with a fresh server (the old one is
    /// shut down), failing the test if that costs any request.
    static func rerun(_ harness: EngineHarness, _ text: String) async throws -> RunReport {
        let fresh = try await EngineHarness(reusing: harness)
        let report = try await fresh.generate(text)
        try await fresh.shutdown()
        #expect(fresh.requests == 0)
        return report
    }
}
