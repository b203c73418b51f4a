import FakeGemini
import FakeServerKit
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Generation
@testable import Providers
import Platform

@Suite("Server-sent events")
struct ServerSentEventParserTests {
    static let stream = "data: {\"a\": 1}\r\n\r\n: a comment\ndata: line one\ndata: line two\n\nevent: ping\ndata:x\r\r"

    @Test("events come out whole whatever the network cut, CRLF, LF and CR alike")
    func splits() {
        let bytes = Array(Self.stream.utf8)
        let expected: [ServerSentEventParser.Event] = [
            .init(type: nil, data: "{\"a\": 1}"),
            .init(type: nil, data: "line one\nline two"),
            .init(type: "ping", data: "x"),
        ]
        // Every split into two pieces, at every byte, including inside "\r\n".
        for cut in 0...bytes.count {
            var parser = ServerSentEventParser()
            let events = parser.feed(bytes[..<cut]) + parser.feed(bytes[cut...])
            #expect(events == expected, "cut at \(cut)")
            #expect(!parser.isInsideEvent)
        }
        // One byte at a time.
        var parser = ServerSentEventParser()
        #expect(bytes.flatMap { parser.feed([$0]) } == expected)
    }

    @Test("a multi-byte character split across reads stays whole")
    func utf8Split() {
        let bytes = Array("data: 所有権\n\n".utf8)
        var parser = ServerSentEventParser()
        let events = bytes.flatMap { parser.feed([$0]) }
        #expect(events == [.init(type: nil, data: "所有権")])
    }

    @Test("a stream that stops inside an event says so, and never yields it", arguments: ["data: {\"cut", "data: whole line\n", "data: x\r\n"])
    func cut(tail: String) {
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array(("data: first\n\n" + tail).utf8)) == [.init(type: nil, data: "first")])
        #expect(parser.isInsideEvent)
    }

    @Test("a byte order mark before the first line is dropped; events without data are not dispatched")
    func bomAndEmpty() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("\u{FEFF}data: a\n\nevent: only\n\nid: 7\n\n".utf8))
        #expect(events == [.init(type: nil, data: "a")])
    }
}

@Suite("Gemini's streamed answers, put together")
struct GeminiStreamTests {
    func event(_ json: String) -> ServerSentEventParser.Event { .init(type: nil, data: json) }

    @Test("text is the concatenation of the non-thought parts; words are counted across pieces")
    func assembly() throws {
        var stream = GeminiStream()
        #expect(try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "Thinking…", "thought": true}]}}]}"#)) == .thinking)
        #expect(try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "Own"}]}}]}"#)) == .writing(words: 1))
        #expect(try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "ership is a"}]}}]}"#)) == .writing(words: 3))
        let last = #"{"candidates": [{"content": {"parts": [{"text": " rule."}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-2.5-flash"}"#
        #expect(try stream.add(event(last)) == .writing(words: 4))
        let response = try stream.finish(cut: false).get()
        #expect(response.text == "Ownership is a rule.")
        #expect(response.usage == Usage(promptTokens: 10, outputTokens: 5, thinkingTokens: 7))
        #expect(response.modelVersion == "gemini-2.5-flash")
    }

    @Test("a stream without finishReason, or cut inside an event, is a failed attempt to retry")
    func truncated() throws {
        var stream = GeminiStream()
        _ = try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "Half a chapter"}]}}]}"#))
        #expect(stream.finish(cut: false).failureValue?.disposition == .retry)
        #expect(stream.finish(cut: true).failureValue?.message.contains("cut off") == true)
    }

    @Test("an error event after HTTP 200 is that error, with its own status")
    func errorEvent() {
        var stream = GeminiStream()
        #expect(throws: ProviderError.self) {
            try stream.add(event(#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#))
        }
        do {
            _ = try stream.add(event(#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#))
        } catch {
            #expect(error.httpStatus == 503 && error.disposition == .retry && error.overloaded)
        }
    }

    @Test("an answer larger than the bound is stopped, not kept in memory")
    func bounded() throws {
        var stream = GeminiStream(maximumTextSize: 100)
        let piece = String(repeating: "word ", count: 15)
        _ = try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "\#(piece)"}]}}]}"#))
        #expect(throws: ProviderError.self) {
            try stream.add(event(#"{"candidates": [{"content": {"parts": [{"text": "\#(piece)"}]}}]}"#))
        }
    }
}

@Suite("Streaming against the fake Gemini")
struct StreamingTests {
    let outline = markdownOutline(chapters: [("Only", ["one", "two"])])

    @Test(
        "streamed chapters arrive whole however the events are cut, with CRLF or LF",
        arguments: [
            (SplitPolicy.everyByte, LineEnding.crlf), (.adversarial(seed: 3), .crlf), (.halves, .lf),
            (.seeded(seed: 7, cutsPerEvent: 3), .crlf),
        ]
    )
    func splitEvents(split: SplitPolicy, lineEnding: LineEnding) async throws {
        let harness = try await EngineHarness(
            server: FakeGeminiServer.Configuration(lineEnding: lineEnding, split: split),
            reply: { _ in .success().streamed(textEvents: 5) }
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(harness.requests == 1)
        let chapter = try #require(harness.chapter("01-only.md"))
        #expect(chapter.contains("Chapter to write: Only") && chapter.contains("End of the fake chapter."))
        #expect(harness.server.statistics.requests.last?.path.hasSuffix(":streamGenerateContent") == true)
        #expect(harness.server.statistics.requests.last?.query == "alt=sse")
    }

    @Test(
        "a broken stream is a failed attempt, retried, never published",
        arguments: ["error event after 200", "cut mid-event", "ends without finishReason", "HTML page", "stall"]
    )
    func brokenStreams(fault: String) async throws {
        let harness = try await EngineHarness(
            scheduler: .init(backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(50))),
            // Short only for the stall, which must end soon: elsewhere a healthy stream on a
            // loaded machine may pause for seconds, and a stall would make it another attempt.
            streaming: GeminiProvider.Streaming(stallTimeout: fault == "stall" ? .seconds(2) : .seconds(60)),
            reply: { request in
                guard request.attempt == 1 else { return .success().streamed(textEvents: 4) }
                switch fault {
                case "error event after 200": return .errorMidStream(code: 503)
                case "cut mid-event": return .success().streamed(textEvents: 4).cut(afterEvents: 2)
                case "ends without finishReason": return .success().streamed(textEvents: 4).truncated(afterEvents: 2)
                case "HTML page": return .htmlPage
                default: return .success().streamed(textEvents: 4).stalled(afterEvents: 1)
                }
            }
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        // The stall is caught by a deliberately short timeout, which a loaded machine's healthy
        // retry can also trip: then it takes one more attempt.
        #expect(fault == "stall" ? harness.requests >= 2 : harness.requests == 2)
        let chapter = try #require(harness.chapter("01-only.md"))
        #expect(chapter.contains("End of the fake chapter."), "the whole second answer, not a piece of the first")
        #expect(harness.logs.all.contains { $0.level == .warning && $0.message == "chapter attempt failed, retrying" })
        if fault == "stall" {
            #expect(harness.logs.all.contains { $0.metadata["error"]?.contains("stalled") == true })
        }
    }

    @Test("with thinking on, thought summaries are asked for, shown as signs of life and never published")
    func thoughts() async throws {
        let events = Locked([Scheduler.Event]())
        let harness = try await EngineHarness(reply: { _ in .success(thought: "Let me plan the sections.").streamed(textEvents: 3) })
        let path = try harness.temp.write("inbox/course.md", outline)
        let report = try await harness.engine.run(
            Engine.Job(outlinePath: path, name: "course", outputFolder: "\(harness.output)/course", settings: harness.settings),
            onProgress: { progress in if progress.writing > 0 { events.withLockedValue { $0.append(.writing(words: progress.words)) } } }
        )
        try await harness.shutdown()
        #expect(report.isComplete)
        let request = try #require(harness.server.statistics.requests.last)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        let thinking = (body["generationConfig"] as? [String: Any])?["thinkingConfig"] as? [String: Any]
        #expect(thinking?["includeThoughts"] as? Bool == true)
        #expect(harness.chapter("01-only.md")?.contains("Let me plan") == false)
        #expect(!events.value.isEmpty, "progress showed words being written")
    }

    @Test("with thinking off, no thought summaries are asked for")
    func noThinking() async throws {
        let harness = try await EngineHarness(settings: GenerationSettings(model: "gemini-2.5-flash-lite", thinkingBudget: 0))
        _ = try await harness.generate(outline)
        try await harness.shutdown()
        let body = try #require(
            try JSONSerialization.jsonObject(with: Data(harness.server.statistics.requests.last!.body)) as? [String: Any]
        )
        let thinking = (body["generationConfig"] as? [String: Any])?["thinkingConfig"] as? [String: Any]
        #expect(thinking?["includeThoughts"] == nil)
    }

    @Test("--no-stream keeps calling generateContent")
    func notStreaming() async throws {
        let harness = try await EngineHarness(streaming: nil)
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(harness.server.statistics.requests.last?.path.hasSuffix(":generateContent") == true)
    }
}
