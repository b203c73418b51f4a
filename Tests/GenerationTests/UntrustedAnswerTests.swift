import FakeGemini
import Foundation
import Testing

@testable import Generation

@Suite("What the model writes is untrusted")
struct UntrustedAnswerTests {
    @Test(
        "an answer with more than 1 MiB of text is a failed attempt, streamed or not, and nothing is published",
        arguments: [true, false]
    )
    func oversizedAnswer(streamed: Bool) async throws {
        let text = String(repeating: "word ", count: ProviderTransport.maximumTextSize / 5 + 1)
        let harness = try await EngineHarness(
            scheduler: Scheduler.Configuration(
                maximumAttempts: 2,
                backoff: Backoff(initial: .milliseconds(1), maximum: .milliseconds(5))
            ),
            streaming: streamed ? GeminiProvider.Streaming() : nil,
            reply: { _ in .success(text: text) }
        )
        let report = try await harness.generate(markdownOutline(chapters: [("Only", ["one"])]))
        let requests = harness.requests
        let files = harness.files()
        try await harness.shutdown()

        #expect(text.utf8.count > ProviderTransport.maximumTextSize)
        #expect(report.failedChapters.count == 1)
        #expect(
            report.failedChapters.first?.failure?.message.contains("\(ProviderTransport.maximumTextSize) bytes") == true
        )
        #expect(requests == 2)
        #expect(files == ["SUMMARY.md", "book.toml"])
    }

    @Test("switching --allow-html makes an up-to-date outline stale and republishes it from the store")
    func allowHTMLRepublishes() async throws {
        let harness = try await EngineHarness(reply: { _ in .success(text: "Text <iframe src=x></iframe>") })
        let text = markdownOutline(chapters: [("Only", ["one"])])
        try await harness.generate(text)
        let outline = try OutlineParser.parse(fileAt: "\(harness.inbox)/course.md")
        var allowing = harness.settings
        allowing.allowHTML = true
        let folder = "\(harness.output)/course"

        let upToDate = await harness.engine.isUpToDate(outline, settings: harness.settings, in: folder)
        let staleWhenAllowed = await harness.engine.isUpToDate(outline, settings: allowing, in: folder)
        let escaped = harness.chapter("01-only.md")
        try await harness.generate(text, settings: allowing)
        let allowedUpToDate = await harness.engine.isUpToDate(outline, settings: allowing, in: folder)
        let kept = harness.chapter("01-only.md")
        let requests = harness.requests
        let files = harness.files()
        try await harness.shutdown()

        #expect(upToDate && !staleWhenAllowed && allowedUpToDate)
        #expect(escaped == "# Only\n\nText &lt;iframe src=x&gt;&lt;/iframe&gt;\n")
        #expect(kept == "# Only\n\nText <iframe src=x></iframe>\n")
        #expect(requests == 1)
        #expect(files == ["01-only.md", "SUMMARY.md", "book.toml"])
    }
}
