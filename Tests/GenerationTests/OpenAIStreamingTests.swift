import AsyncHTTPClient
import FakeOpenAI
import FakeServerKit
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Providers
import Platform

@Suite("OpenAI-compatible streamed answers, put together")
struct OpenAIStreamTests {
    func event(_ data: String) -> ServerSentEventParser.Event { .init(type: nil, data: data) }

    func chunk(content: String? = nil, reasoning: String? = nil, finish: String? = nil) -> ServerSentEventParser.Event {
        var delta: [String: String] = [:]
        if let content { delta["content"] = content }
        if let reasoning { delta["reasoning_content"] = reasoning }
        let deltaJSON = String(decoding: try! JSONEncoder().encode(delta), as: UTF8.self)
        let finishJSON = finish.map { #""\#($0)""# } ?? "null"
        return event(
            #"{"object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": \#(deltaJSON), "finish_reason": \#(finishJSON)}], "usage": null}"#
        )
    }

    let usage =
        #"{"object": "chat.completion.chunk", "model": "m", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 12, "completion_tokens_details": {"reasoning_tokens": 7}}}"#

    @Test("text is the concatenation of the content deltas; reasoning is a sign of life, never text; usage comes last")
    func assembly() throws {
        var stream = OpenAIStream()
        #expect(try stream.add(event(#"{"choices": [{"delta": {"role": "assistant", "content": ""}}]}"#)) == nil)
        #expect(try stream.add(chunk(reasoning: "Let me plan.")) == .thinking)
        #expect(try stream.add(event(#"{"choices": [{"delta": {"reasoning": "Ollama thinks too."}}]}"#)) == .thinking)
        #expect(try stream.add(chunk(content: "Own")) == .writing(words: 1))
        #expect(try stream.add(chunk(content: "ership is a")) == .writing(words: 3))
        #expect(try stream.add(chunk(content: " rule.")) == .writing(words: 4))
        #expect(try stream.add(chunk(finish: "stop")) == nil)
        #expect(try stream.add(event(usage)) == nil)
        #expect(try stream.add(event("[DONE]")) == nil)
        #expect(try stream.add(chunk(content: " After the end.")) == nil, "nothing counts after [DONE]")
        let response = try stream.finish(cut: false).get()
        #expect(response.text == "Ownership is a rule.")
        #expect(response.usage == Usage(promptTokens: 10, outputTokens: 5, thinkingTokens: 7))
        #expect(response.modelVersion == "m")
    }

    @Test(
        "a stream without [DONE], without finish_reason, or cut inside an event, is a failed attempt to retry",
        arguments: ["no [DONE]", "no finish_reason", "cut"]
    )
    func truncated(kind: String) throws {
        var stream = OpenAIStream()
        _ = try stream.add(chunk(content: "Half a chapter"))
        if kind != "no finish_reason" { _ = try stream.add(chunk(finish: "stop")) }
        if kind != "no [DONE]" { _ = try stream.add(event("[DONE]")) }
        let error = try #require(stream.finish(cut: kind == "cut").failureValue)
        #expect(error.disposition == .retry)
        #expect(error.message.contains(kind == "cut" ? "cut off" : kind == "no [DONE]" ? "[DONE]" : "finish_reason"))
    }

    @Test("finish_reason length is retried with a larger budget; an empty content is retried")
    func lengthAndEmpty() throws {
        var long = OpenAIStream()
        _ = try long.add(chunk(content: "Half"))
        _ = try long.add(chunk(finish: "length"))
        _ = try long.add(event("[DONE]"))
        #expect(long.finish(cut: false).failureValue?.disposition == .retryWithLargerBudget)
        var empty = OpenAIStream()
        _ = try empty.add(chunk(finish: "stop"))
        _ = try empty.add(event("[DONE]"))
        #expect(empty.finish(cut: false).failureValue?.disposition == .retry)
    }

    @Test(
        "an error event after HTTP 200 is that error: a server error retried, a bad request fatal",
        arguments: [
            (
                #"{"error": {"message": "The server is overloaded.", "type": "server_error", "param": null, "code": null}}"#,
                500, ProviderError.Disposition.retry
            ),
            (#"{"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}"#, 503, .retry),
            (
                #"{"error": {"message": "context too long", "type": "invalid_request_error", "param": null, "code": null}}"#,
                400, .fatal
            ),
        ]
    )
    func errorEvent(data: String, status: Int, disposition: ProviderError.Disposition) throws {
        var stream = OpenAIStream()
        _ = try stream.add(chunk(content: "Some"))
        do {
            _ = try stream.add(event(data))
            Issue.record("an error event was taken as a chunk")
        } catch {
            #expect(error.httpStatus == status)
            #expect(error.disposition == disposition)
        }
    }

    @Test("an event that is not JSON is a failed attempt; an answer larger than the bound is stopped")
    func malformedAndBounded() throws {
        var stream = OpenAIStream()
        #expect(throws: ProviderError.self) { try stream.add(event(#"{"choices": [{"delta": {"cont"#)) }
        var bounded = OpenAIStream(maximumTextSize: 100)
        let piece = String(repeating: "word ", count: 15)
        _ = try bounded.add(chunk(content: piece))
        #expect(throws: ProviderError.self) { try bounded.add(chunk(content: piece)) }
    }
}

@Suite("Generating with an OpenAI-compatible server, against the fake")
struct OpenAIEngineTests {
    let outline = markdownOutline(chapters: [("Only", ["one", "two"])])

    /// The JSON body of each chat request the fake recorded, in arrival order.
    static func chatBodies(_ harness: EngineHarness) -> [[String: Any]] {
        harness.server.statistics.requests.filter { $0.path == "/v1/chat/completions" }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any]
        }
    }

    @Test(
        "streamed chapters arrive whole however the events are cut, with CRLF or LF, and report their usage",
        arguments: [
            (SplitPolicy.everyByte, LineEnding.crlf), (.everyByte, .lf), (.adversarial(seed: 3), .crlf),
            (.halves, .lf), (.seeded(seed: 7, cutsPerEvent: 3), .crlf),
        ]
    )
    func splitEvents(split: SplitPolicy, lineEnding: LineEnding) async throws {
        let harness = try await EngineHarness(
            openAI: .init(lineEnding: lineEnding, split: split),
            reply: { _ in .success().streamed(textEvents: 5) }
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        #expect(harness.requests == 1)
        #expect(harness.server.statistics.modelCheckCount == 1, "the key and model were checked once")
        let chapter = try #require(harness.chapter("01-only.md"))
        #expect(chapter.contains("written by fake-openai (gpt-4o-mini)"))
        #expect(chapter.contains("Chapter to write: Only") && chapter.contains("End of the fake chapter."))
        #expect(report.usage.promptTokens > 0 && report.usage.outputTokens > 0, "the usage chunk was read")
        let body = try #require(Self.chatBodies(harness).first)
        #expect(body["stream"] as? Bool == true)
        #expect(dig(body, "stream_options", "include_usage") as? Bool == true)
        #expect(dig(body, "messages", 0, "role") as? String == "system")
        #expect(dig(body, "messages", 1, "role") as? String == "user")
        #expect(body["max_completion_tokens"] as? Int == harness.settings.outputTokenBudget(words: 900))
        #expect(body["temperature"] as? Double == 0.7)
    }

    @Test(
        "a broken stream is a failed attempt, retried, never published",
        arguments: [
            "error event after 200", "cut mid-event", "ends without [DONE]", "malformed chunk", "HTML page", "stall",
        ]
    )
    func brokenStreams(fault: String) async throws {
        let harness = try await EngineHarness(
            openAI: .init(),
            // Short for the stalled attempt, so the test ends soon; long for every other case, so
            // a loaded machine's slow answer is never mistaken for a stall.
            streaming: OpenAIProvider.Streaming(stallTimeout: fault == "stall" ? .seconds(3) : .seconds(60)),
            reply: { request in
                guard request.attempt == 1 else { return .success().streamed(textEvents: 4) }
                switch fault {
                case "error event after 200": return .errorMidStream(code: 503)
                case "cut mid-event": return .success().streamed(textEvents: 4).cut(afterEvents: 2)
                case "ends without [DONE]": return .success().streamed(textEvents: 4).truncated(afterEvents: 3)
                case "malformed chunk": return .malformedJSON
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
        #expect(fault == "stall" ? harness.requests >= 2 : harness.requests == 2, "\(harness.logs.text)")
        let chapter = try #require(harness.chapter("01-only.md"))
        #expect(chapter.contains("End of the fake chapter."), "the whole second answer, not a piece of the first")
        #expect(harness.logs.all.contains { $0.level == .warning && $0.message == "chapter attempt failed, retrying" })
        if fault == "stall" {
            #expect(harness.logs.all.contains { $0.metadata["error"]?.contains("stalled") == true })
        }
    }

    @Test("reasoning is streamed as a sign of life, counted as thinking tokens, and never published")
    func reasoning() async throws {
        let harness = try await EngineHarness(
            openAI: .init(),
            reply: { _ in .success(reasoning: "Let me plan the sections first.").streamed(textEvents: 3) }
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(report.usage.thinkingTokens > 0)
        #expect(harness.chapter("01-only.md")?.contains("Let me plan") == false)
    }

    @Test(
        "each kind of transient fault is retried to success, streamed or not",
        arguments: [
            "429", "408", "409", "500", "503", "empty content", "length", "malformed JSON", "connection reset", "hang",
        ],
        [true, false]
    )
    func transientFaults(fault: String, streamed: Bool) async throws {
        let harness = try await EngineHarness(
            openAI: .init(),
            scheduler: .init(
                // Short for the hang, so the test ends soon; the default for every other case, so
                // a loaded machine's slow answer is never taken for a timeout.
                requestTimeout: fault == "hang" ? .seconds(5) : Scheduler.Configuration().requestTimeout,
                backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(50))
            ),
            streaming: streamed ? OpenAIProvider.Streaming() : nil,
            reply: { request in
                guard request.attempt == 1 else { return .success() }
                switch fault {
                case "429": return .rateLimited(retryAfterSeconds: nil, retryAfterMilliseconds: 100)
                case "408": return .status(code: 408)
                case "409": return .status(code: 409)
                case "500": return .status(code: 500)
                case "503": return .status(code: 503)
                case "empty content": return .emptyContent
                case "length": return .length()
                case "malformed JSON": return .malformedJSON
                case "connection reset": return .connectionReset
                default: return .hang
                }
            }
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        // The hang is ended by a deliberately short timeout, which a loaded machine's healthy
        // retry can also outlast: then it takes one more attempt.
        let sent = harness.server.statistics.requestsByPrompt.values.first ?? 0
        #expect(fault == "hang" ? sent >= 2 : sent == 2, "\(harness.logs.text)")
        let bodies = Self.chatBodies(harness)
        #expect(bodies.allSatisfy { ($0["stream"] as? Bool ?? false) == streamed })
        if fault == "length" {
            let budgets = bodies.compactMap { $0["max_completion_tokens"] as? Int }
            #expect(budgets.count == 2 && budgets[1] == budgets[0] * 2, "\(budgets)")
        }
    }

    @Test("a 400 fails fast with the server's own message; the other chapters are published")
    func badRequest() async throws {
        let harness = try await EngineHarness(openAI: .init()) { request in
            request.prompt.contains("Chapter to write: Chapter 2\n")
                ? .status(code: 400, message: "This model's maximum context length is 8192 tokens.") : .success()
        }
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        #expect(harness.requests == 3, "no retry of a 400")
        let failed = try #require(report.failedChapters.first)
        #expect(failed.position == 2)
        guard case .failed(let message, _) = failed.outcome else { return }
        #expect(message.contains("HTTP 400") && message.contains("maximum context length is 8192 tokens"))
        #expect(harness.files().contains("01-chapter-1.md") && harness.files().contains("03-chapter-3.md"))
    }

    @Test("a wrong key stops everything after one request: the model check, no chapter request")
    func wrongKey() async throws {
        let harness = try await EngineHarness(openAI: .init(), apiKey: "sk-not-the-right-key-0000")
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(4)))
        try await harness.shutdown()
        #expect(harness.server.statistics.requestCount == 1)
        #expect(harness.server.statistics.modelCheckCount == 1)
        #expect(report.failedChapters.count == 4)
        for chapter in report.failedChapters {
            guard case .failed(let message, _) = chapter.outcome else { continue }
            #expect(message.contains("HTTP 401") && message.contains("Incorrect API key provided"), "\(message)")
        }
        #expect(await harness.scheduler.stop?.reason == .refused)
    }

    @Test(
        "without the model route (llama.cpp) the check is no verdict; then the first 401 stops everything",
        arguments: [true, false]
    )
    func wrongKeyWithoutModelRoute(streamed: Bool) async throws {
        let harness = try await EngineHarness(
            openAI: .init(servesModelRoute: false),
            // A minute between submissions: the refusal arrives long before a second one could go.
            scheduler: Scheduler.Configuration(requestsPerMinute: 1),
            apiKey: "sk-not-the-right-key-0000",
            streaming: streamed ? OpenAIProvider.Streaming() : nil
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(4)))
        try await harness.shutdown()
        let chat = harness.server.statistics.requests.filter { $0.path == "/v1/chat/completions" }
        #expect(chat.count == 1)
        #expect(chat.first?.disposition.status == 401)
        #expect(report.failedChapters.count == 4)
        #expect(harness.logs.all.contains { $0.level == .error && $0.message.contains("refused the key or the model") })
    }

    @Test("an unknown model stops everything at the check; out of credit (insufficient_quota) at the first answer")
    func unknownModelAndNoCredit() async throws {
        let missing = try await EngineHarness(
            openAI: .init(),
            settings: GenerationSettings(provider: "openai", model: "gpt-9")
        )
        let first = try await missing.generate(markdownOutline(chapters: numberedChapters(3)))
        try await missing.shutdown()
        #expect(missing.server.statistics.requestCount == 1)
        #expect(first.failedChapters.count == 3)
        #expect(first.failedChapters.first?.failure?.message.contains("model_not_found") == true)

        let broke = try await EngineHarness(
            openAI: .init(),
            scheduler: Scheduler.Configuration(requestsPerMinute: 1),
            reply: { _ in .insufficientQuota }
        )
        let second = try await broke.generate(markdownOutline(chapters: numberedChapters(3)))
        try await broke.shutdown()
        #expect(broke.requests == 1, "no retry, no other chapter sent")
        #expect(second.failedChapters.count == 3)
        let error = try #require(second.failedChapters.first?.failure)
        #expect(error.disposition == .stopEverything && error.httpStatus == 429)
        #expect(error.message.contains("out of credit"))
    }

    @Test(
        "a 429 pauses every submission for retry-after-ms, else Retry-After",
        arguments: [(nil, 300, 300), (1, nil, 1000), (1, 300, 300)] as [(Int?, Int?, Int64)]
    )
    func retryAfter(seconds: Int?, milliseconds: Int?, pausedMilliseconds: Int64) async throws {
        let harness = try await EngineHarness(
            openAI: .init(),
            scheduler: Scheduler.Configuration(
                concurrency: 1,
                backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(10))
            ),
            reply: { request in
                request.prompt.contains("Chapter to write: Chapter 1\n") && request.attempt == 1
                    ? .rateLimited(retryAfterSeconds: seconds, retryAfterMilliseconds: milliseconds) : .success()
            }
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(harness.requests == 4)
        let paused = harness.logs.all.filter { $0.metadata["paused_ms"] != nil }.map { $0.metadata["paused_ms"] }
        #expect(paused == ["\(pausedMilliseconds)"], "the pause is the one the server asked for")
        // One request at a time: nothing reached the server before the pause was over.
        let chat = harness.server.statistics.requests.filter { $0.path == "/v1/chat/completions" }
        let limited = try #require(chat.firstIndex { $0.disposition.status == 429 })
        for later in chat[(limited + 1)...] {
            #expect(later.arrival - chat[limited].arrival >= .milliseconds(pausedMilliseconds))
        }
    }

    @Test(
        "x-ratelimit headers hold back submissions before a 429 happens: no request is turned away",
        arguments: [true, false]
    )
    func headerDrivenSlowDown(streamed: Bool) async throws {
        // Two requests per 20 s window, one at a time, paced far faster than that: the 2nd
        // answer's headers say nothing is left, so the 3rd submission waits for the window. 20 s
        // is far longer than two answers take even on a loaded machine (a 4 s window was not:
        // a loaded CI machine took that long for two answers, and nothing had to wait).
        let harness = try await EngineHarness(
            openAI: .init(
                rateLimits: FakeOpenAIServer.QuotaPolicy(requestsPerWindow: 2, window: TestTime.scaled(.seconds(20)))
            ),
            scheduler: Scheduler.Configuration(concurrency: 1, requestsPerMinute: 1_000_000),
            streaming: streamed ? OpenAIProvider.Streaming() : nil
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        #expect(harness.requests == 3, "each chapter sent once")
        #expect(harness.server.statistics.rateLimitedCount == 0, "the headers said when the quota was used up")
        #expect(harness.server.statistics.maxAdmittedPerWindow <= 2)
        let waits = harness.logs.all.filter {
            $0.message == "the API's rate limit has nothing left: submissions wait until it refills"
        }
        #expect(waits.count == 1, "\(harness.logs.text)")
    }

    @Test("a server that refuses max_completion_tokens is asked again with max_tokens, once for the provider's life")
    func maxTokensFallback() async throws {
        let harness = try await EngineHarness(
            openAI: .init(maxTokens: .rejectsMaxCompletionTokens),
            scheduler: Scheduler.Configuration(concurrency: 1)
        )
        let report = try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        #expect(report.isComplete, "\(report.failedChapters)")
        let bodies = Self.chatBodies(harness)
        #expect(bodies.count == 4)
        #expect(bodies.map { $0["max_completion_tokens"] != nil } == [true, false, false, false])
        #expect(bodies.map { $0["max_tokens"] != nil } == [false, true, true, true])
        #expect(harness.server.statistics.statusCounts[400] == 1)
        #expect(!harness.logs.all.contains { $0.level >= .warning }, "the fallback is no failed attempt")
    }

    @Test("a server on this machine needs no key: none is sent, not even an empty one")
    func noKeyOnLoopback() async throws {
        let harness = try await EngineHarness(
            openAI: .init(key: .notRequired, models: nil),
            settings: GenerationSettings(provider: "openai", model: "llama3.1:8b"),
            apiKey: nil
        )
        let report = try await harness.generate(outline)
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(harness.requests == 1)
        #expect(harness.server.statistics.requests.allSatisfy { $0.header("authorization") == nil })
        #expect(harness.chapter("01-only.md")?.contains("(llama3.1:8b)") == true)
    }

    @Test("the key travels only in Authorization: Bearer; never in a URL, a log line, the state or the output")
    func keyStaysSecret() async throws {
        let harness = try await EngineHarness(openAI: .init()) { request in
            request.prompt.contains("Chapter 2\n") && request.attempt == 1 ? .status(code: 503) : .success()
        }
        try await harness.generate(markdownOutline(chapters: numberedChapters(3)))
        try await harness.shutdown()
        let key = FakeOpenAIServer.defaultAPIKey
        for request in harness.server.statistics.requests {
            #expect(request.header("authorization") == "Bearer \(key)")
            #expect(!request.path.contains(key) && !(request.query ?? "").contains(key))
        }
        #expect(!harness.logs.text.contains(key))
        let enumerator = FileManager.default.enumerator(atPath: harness.temp.path)!
        for case let relative as String in enumerator {
            let path = "\(harness.temp.path)/\(relative)"
            guard FileSystem.posix.kind(of: path) == .file else { continue }
            let bytes = try #require(try FileSystem.posix.read(path))
            #expect(!String(decoding: bytes, as: UTF8.self).contains(key), "\(relative) holds the key")
        }
    }

    @Test("plain http to another machine, or no key for one, is refused before any request")
    func refusedBases() throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { try? client.syncShutdown() }
        #expect(throws: ProviderError.self) {
            try OpenAIProvider(baseURL: "http://192.168.1.5:11434/v1", apiKey: APIKey("k"), httpClient: client)
        }
        #expect(throws: ProviderError.self) {
            try OpenAIProvider(baseURL: "https://api.openai.com/v1", apiKey: nil, httpClient: client)
        }
        #expect(throws: Never.self) {
            try OpenAIProvider(baseURL: "http://127.0.0.1:11434/v1", apiKey: nil, httpClient: client)
        }
        #expect(OpenAIProvider.needsKey(baseURL: "https://api.openai.com/v1"))
        #expect(!OpenAIProvider.needsKey(baseURL: "http://localhost:1234/v1"))
        #expect(!OpenAIProvider.needsKey(baseURL: "http://[::1]:8080/v1"))
    }
}
