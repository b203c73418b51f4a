import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

/// A Markdown outline with `chapters` (title, points), in order.
func markdownOutline(
    title: String = "Practical Rust",
    audience: String = "Python developers",
    chapters: [(String, [String])]
) -> String {
    var text = "---\naudience: \(audience)\nlevel: intermediate\nwords: 900\n---\n# \(title)\n\nA hands-on course.\n"
    for (chapter, points) in chapters {
        text += "\n## \(chapter)\n"
        for point in points { text += "- \(point)\n" }
    }
    return text
}

/// Chapters "Chapter 1" ... "Chapter n", each with two points.
func numberedChapters(_ count: Int) -> [(String, [String])] {
    (1...count).map { ("Chapter \($0)", ["First point of \($0)", "Second point of \($0)"]) }
}

@Suite("Generating an outline")
struct EngineTests {
    @Test("24 chapters publish in order, one request each, within the in-flight cap and without a 429")
    func twentyFourChapters() async throws {
        let harness = try await EngineHarness(
            scheduler: .init(concurrency: 8, requestsPerMinute: 600),
            reply: { _ in .success().after(.milliseconds(300)) }
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(24)))
        try await harness.shutdown()

        #expect(report.isComplete)
        #expect(harness.requests == 24)
        #expect(harness.server.statistics.rateLimitedCount == 0)
        #expect(harness.server.statistics.maxInFlight <= 8)
        #expect(harness.server.statistics.maxInFlight > 1, "requests ran concurrently")
        let names = (1...24).map { String(format: "%02d-chapter-%d.md", $0, $0) }
        #expect(harness.files() == names + ["SUMMARY.md", "book.toml"])
        for (index, name) in names.enumerated() {
            let text = try #require(harness.chapter(name))
            #expect(text.hasPrefix("# Chapter \(index + 1)\n\n"))
            #expect(text.contains("Chapter to write: Chapter \(index + 1)\n"), "\(name) holds its own chapter's text")
        }
        // Submissions respected 600 RPM, 0.1 s apart (the scheduler tests check the exact spacing
        // in simulated time). Arrival at the server adds network and scheduling jitter to each,
        // so only check there was no burst: 11 requests never arrived within half the second
        // that 10 spacings take.
        let arrivals = harness.server.statistics.requests.map(\.arrival).sorted()
        for index in 0..<(arrivals.count - 10) {
            #expect(arrivals[index + 10] - arrivals[index] >= .milliseconds(500))
        }
    }

    @Test("chapters that finish out of order are still published in outline order")
    func outOfOrder() async throws {
        let gates = (0..<4).map { _ in FakeGeminiServer.Gate() }
        let harness = try await EngineHarness(reply: { request in
            let index =
                Int(request.prompt.split(separator: "Chapter to write: Chapter ")[1].prefix { $0.isNumber })! - 1
            return .success().held(by: gates[index])
        })
        async let report = harness.generate(markdownOutline(chapters: numberedChapters(4)))
        try await harness.server.waitForRequests(4)
        for gate in gates.reversed() { gate.open() }  // the last chapter answers first
        let result = try await report
        try await harness.shutdown()
        #expect(result.chapters.map(\.title) == ["Chapter 1", "Chapter 2", "Chapter 3", "Chapter 4"])
        #expect(
            harness.files().prefix(4) == ["01-chapter-1.md", "02-chapter-2.md", "03-chapter-3.md", "04-chapter-4.md"]
        )
        let summary = try #require(harness.chapter("SUMMARY.md"))
        #expect(
            summary.contains(
                "- [Chapter 1](01-chapter-1.md)\n- [Chapter 2](02-chapter-2.md)\n- [Chapter 3](03-chapter-3.md)\n- [Chapter 4](04-chapter-4.md)\n"
            )
        )
    }

    @Test("a realistic mix of faults still publishes every chapter correctly")
    func faultMix() async throws {
        let mix = FakeGeminiServer.FaultMix.realistic(seed: 2026, maxFailuresPerPrompt: 2, latency: .milliseconds(20))
        let harness = try await EngineHarness(reply: { mix.reply(for: $0) })
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(24)))
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        #expect(harness.requests > 24, "the mix did inject faults")
        for index in 1...24 {
            let text = try #require(harness.chapter(String(format: "%02d-chapter-%d.md", index, index)))
            #expect(text.contains("Chapter to write: Chapter \(index)\n"))
        }
        #expect(harness.logs.all.contains { $0.level == .warning && $0.message == "chapter attempt failed, retrying" })
    }

    @Test(
        "each kind of transient fault is retried to success",
        arguments: [
            "429", "500", "503", "504", "empty parts", "MAX_TOKENS without parts", "malformed JSON", "connection reset",
            "hang",
        ]
    )
    func transientFaults(fault: String) async throws {
        let harness = try await EngineHarness(
            scheduler: .init(
                // Short only for the hang, which must end soon: a healthy answer on a loaded
                // machine may take seconds, and a timeout would make it another attempt.
                requestTimeout: fault == "hang" ? .seconds(3) : .seconds(60),
                backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(50))
            ),
            reply: { request in
                guard request.attempt == 1 else { return .success() }
                switch fault {
                case "429": return .rateLimited(retryDelay: "0.2s")
                case "500": return .status(code: 500)
                case "503": return .status(code: 503)
                case "504": return .status(code: 504)
                case "empty parts": return .emptyParts
                case "MAX_TOKENS without parts": return .maxTokensWithoutParts
                case "malformed JSON": return .malformedJSON
                case "connection reset": return .connectionReset
                default: return .hang
                }
            }
        )
        let report = try await harness.generate(markdownOutline(chapters: [("Only", ["one"])]))
        try await harness.shutdown()
        #expect(report.isComplete)
        // The hang is ended by a deliberately short timeout, which a loaded machine's healthy
        // retry can also outlast: then it takes one more attempt.
        let sent = harness.server.statistics.requestsByPrompt.values.first ?? 0
        #expect(fault == "hang" ? sent >= 2 : sent == 2)
        if fault == "MAX_TOKENS without parts" {
            let budgets = harness.server.statistics.requests.compactMap { request -> Int? in
                guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                    let config = body["generationConfig"] as? [String: Any]
                else { return nil }
                return config["maxOutputTokens"] as? Int
            }
            #expect(budgets.count == 2 && budgets[1] == budgets[0] * 2)
        }
    }

    @Test(
        "errors that will not get better fail fast, name the chapter and publish the rest",
        arguments: [
            FakeGeminiServer.Reply.status(code: 400),
            .status(code: 400, message: "User location is not supported for the API use."),
        ]
    )
    func fatalFaults(reply: FakeGeminiServer.Reply) async throws {
        let status = 400
        let harness = try await EngineHarness(reply: { request in
            request.prompt.contains("Chapter to write: Chapter 2\n") ? reply : .success()
        })
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        #expect(!report.isComplete)
        #expect(harness.requests == 3, "no retry of a \(status)")
        let failed = try #require(report.failedChapters.first)
        #expect(failed.position == 2)
        #expect(harness.files().contains("01-chapter-1.md") && harness.files().contains("03-chapter-3.md"))
        #expect(!harness.files().contains("02-chapter-2.md"))
        #expect(
            harness.logs.all.contains {
                $0.level == .error && $0.metadata["chapter"] == "2" && $0.metadata["http_status"] == "\(status)"
            }
        )
    }

    @Test(
        "a key revoked or a model withdrawn mid-run (403, 404) stops every submission: one request, every chapter failed with its message",
        arguments: [403, 404]
    )
    func stopEverything(status: Int) async throws {
        let harness = try await EngineHarness(
            // A minute between submissions: the refusal arrives long before a second one could go.
            scheduler: Scheduler.Configuration(requestsPerMinute: 1, backoff: Backoff(initial: .milliseconds(20))),
            reply: { _ in .status(code: status) }
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(4)))
        try await harness.shutdown()
        #expect(harness.requests == 1)
        #expect(report.failedChapters.count == 4)
        for chapter in report.failedChapters {
            guard case .failed(let message, _) = chapter.outcome else { continue }
            #expect(message.contains("HTTP \(status)"), "\(message)")
        }
        #expect(harness.logs.all.contains { $0.level == .error && $0.message.contains("refused the key or the model") })
    }

    @Test(
        "a blocked prompt or a refused finish fails fast with the reason",
        arguments: ["blocked", "SAFETY", "RECITATION"]
    )
    func refusals(kind: String) async throws {
        let harness = try await EngineHarness(reply: { _ in
            kind == "blocked" ? .blockedPrompt(reason: "SAFETY") : .finish(reason: kind, text: "partial")
        })
        let report = try await harness.generate(markdownOutline(chapters: [("Only", ["one"])]))
        try await harness.shutdown()
        #expect(harness.requests == 1)
        guard case .failed(let message, _) = try #require(report.failedChapters.first).outcome else { return }
        #expect(message.contains("SAFETY") || message.contains(kind))
        #expect(!harness.files().contains { $0.hasPrefix("01-") }, "a refused chapter is never published")
    }

    @Test("a failed chapter keeps its previously published version")
    func failureKeepsPrevious() async throws {
        let failing = Locked(false)
        let harness = try await EngineHarness(reply: { request in
            failing.value && request.prompt.contains("Ownership") ? .status(code: 400) : .success()
        })
        try await harness.generate(markdownOutline(chapters: [("Intro", ["a"]), ("Ownership", ["moves"])]))
        let before = try #require(harness.chapter("02-ownership.md"))
        failing.withLockedValue { $0 = true }
        // Ownership's points change (a new request, which fails) and a chapter is inserted before it.
        let report = try await harness.generate(
            markdownOutline(chapters: [("Intro", ["a"]), ("Setup", ["x"]), ("Ownership", ["moves", "borrows"])])
        )
        try await harness.shutdown()
        #expect(!report.isComplete)
        #expect(report.failedChapters.map(\.title) == ["Ownership"])
        #expect(harness.chapter("03-ownership.md") == before, "the previous text, renumbered")
        #expect(harness.files() == ["01-intro.md", "02-setup.md", "03-ownership.md", "SUMMARY.md", "book.toml"])
    }

    @Test("the API key never appears in a URL, a log line, the state or the output")
    func keyStaysSecret() async throws {
        let harness = try await EngineHarness(reply: { request in
            request.prompt.contains("Chapter 2\n") && request.attempt == 1 ? .status(code: 503) : .success()
        })
        try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        let key = FakeGeminiServer.defaultAPIKey
        for request in harness.server.statistics.requests {
            #expect(request.header("x-goog-api-key") == key)
            #expect(!request.hasKeyInURL)
            #expect(!request.path.contains(key))
        }
        #expect(!harness.logs.text.contains(key))
        #expect(!harness.logs.text.isEmpty)
        let enumerator = FileManager.default.enumerator(atPath: harness.temp.path)!
        var files = 0
        for case let relative as String in enumerator {
            let path = "\(harness.temp.path)/\(relative)"
            guard FileSystem.posix.kind(of: path) == .file, !relative.hasPrefix("inbox") else { continue }
            files += 1
            let bytes = try #require(try FileSystem.posix.read(path))
            #expect(!String(decoding: bytes, as: UTF8.self).contains(key), "\(relative) holds the key")
        }
        #expect(files > 5)
        #expect("\(APIKey(key)!)" == "<redacted>")
    }

    @Test("an outline that cannot be read is an OutlineError naming the file and line, and publishes nothing")
    func badOutline() async throws {
        let harness = try await EngineHarness()
        await #expect(throws: OutlineError.self) {
            try await harness.generate("# Title\n\n## \n- point\n")
        }
        try await harness.shutdown()
        #expect(harness.requests == 0)
        #expect(harness.files().isEmpty)
    }
}
