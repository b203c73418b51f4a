import FakeGemini
import Foundation
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

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

        let upToDate = await harness.engine.records.isUpToDate(outline, settings: harness.settings, in: folder)
        let staleWhenAllowed = await harness.engine.records.isUpToDate(outline, settings: allowing, in: folder)
        let escaped = harness.chapter("01-only.md")
        try await harness.generate(text, settings: allowing)
        let allowedUpToDate = await harness.engine.records.isUpToDate(outline, settings: allowing, in: folder)
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

    /// An answer that reads a file of the machine when the book is built, in every context.
    static let including = """
        Prose {{#include /etc/hostname}}, a span `{{#include /etc/hostname}}`.

        ```
        {{#include /etc/hostname}}
        ```

        {{#title Hacked}}
        """

    /// `including` as it is published: mdBook shows each line exactly as the model wrote it.
    static let includingPublished = """
        Prose \\{{#include /etc/hostname}}, a span `{{#include /etc/hostname}}`.

        ```
        \\{{#include /etc/hostname}}
        ```

        \\{{#title Hacked}}
        """

    @Test(
        "an answer's mdBook directives are published escaped, with a warning naming them; --allow-html keeps them escaped"
    )
    func directivesEscaped() async throws {
        let harness = try await EngineHarness(reply: { _ in .success(text: Self.including) })
        var allowing = harness.settings
        allowing.allowHTML = true
        let text = markdownOutline(chapters: [("Only", ["one"])])
        try await harness.generate(text)
        let escaped = harness.chapter("01-only.md")
        try await harness.generate(text, settings: allowing)
        let allowed = harness.chapter("01-only.md")
        let requests = harness.requests
        let warnings = harness.logs.all.filter { $0.level == .warning }
        try await harness.shutdown()

        #expect(escaped == "# Only\n\n" + Self.includingPublished + "\n")
        #expect(allowed == escaped)
        #expect(requests == 1)
        let named = warnings.filter {
            $0.metadata["neutralised"]?.description
                == "3 mdBook {{#include}} directives, an mdBook {{#title}} directive"
        }
        #expect(named.count == 1, "\(warnings)")
        #expect(named.first?.metadata["chapter_title"]?.description == "Only")
    }

    @Test(
        "chapters published before directives were escaped are stale: the next run republishes them from the store, with no request"
    )
    func olderSanitizerRepublishes() async throws {
        let harness = try await EngineHarness(reply: { _ in .success(text: Self.including) })
        let text = markdownOutline(chapters: [("One", ["a"]), ("Two", ["b"])])
        try await harness.generate(text)
        let outline = try OutlineParser.parse(fileAt: "\(harness.inbox)/course.md")
        let folder = "\(harness.output)/course"
        let upToDate = await harness.engine.records.isUpToDate(outline, settings: harness.settings, in: folder)

        // As the version before this one left it: the directives published as written, and a
        // manifest that records no sanitizer version.
        let manifests = harness.temp.list("state/manifests")
        try #require(manifests.count == 1)
        let manifestPath = "state/manifests/\(manifests[0])"
        var manifest = try BodyStore.decoder.decode(Manifest.self, from: Data(harness.temp.read(manifestPath)!.utf8))
        for index in manifest.chapters.indices {
            let old = Array("# \(manifest.chapters[index].title)\n\n\(Self.including)\n".utf8)
            try harness.temp.write("out/course/\(manifest.chapters[index].file!)", String(decoding: old, as: UTF8.self))
            manifest.chapters[index].sha256 = sha256Hex(old)
        }
        manifest.sanitizerVersion = nil
        try harness.temp.write(manifestPath, String(decoding: try BodyStore.encoder.encode(manifest), as: UTF8.self))
        #expect(!(harness.temp.read(manifestPath)!.contains("sanitizerVersion")))
        let staleAfterUpgrade = await harness.engine.records.isUpToDate(outline, settings: harness.settings, in: folder)

        try await harness.generate(text)
        let upToDateAgain = await harness.engine.records.isUpToDate(outline, settings: harness.settings, in: folder)
        let chapters = [harness.chapter("01-one.md"), harness.chapter("02-two.md")]
        let requests = harness.requests
        let files = harness.files()
        try await harness.shutdown()

        #expect(upToDate && !staleAfterUpgrade && upToDateAgain)
        #expect(
            chapters == ["# One\n\n" + Self.includingPublished + "\n", "# Two\n\n" + Self.includingPublished + "\n"]
        )
        #expect(requests == 2)
        #expect(files == ["01-one.md", "02-two.md", "SUMMARY.md", "book.toml"])
    }
}
