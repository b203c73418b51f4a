import AsyncHTTPClient
import FakeOpenAI
import FakeServerKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Providers
import Platform

// The fake OpenAI-compatible server, through the raw client and AsyncHTTPClient.

private typealias Server = FakeOpenAIServer
private let chatPath = "/v1/chat/completions"
private let key = FakeOpenAIServer.defaultAPIKey

/// A chat body with a system and a user message and `extra` members ("\"stream\": true").
private func chatBody(
    prompt: String = "Write the chapter \"Ownership\".",
    model: String = "gpt-4o-mini",
    _ extra: String = ""
) -> String {
    let promptJSON = String(
        decoding: try! JSONSerialization.data(withJSONObject: [prompt], options: .fragmentsAllowed),
        as: UTF8.self
    ).dropFirst().dropLast()
    var body = #"{"model": "\#(model)", "messages": [{"role": "system", "content": "You write course chapters."}, "#
    body += #"{"role": "user", "content": \#(promptJSON)}]"#
    if !extra.isEmpty { body += ", " + extra }
    return body + "}"
}

/// Posts `body` to the chat endpoint with `Authorization: Bearer <bearer>` unless nil.
private func post(
    _ server: Server,
    _ body: String,
    bearer: String? = key,
    path: String = chatPath
) async throws -> RawResponse {
    try await exchange(
        server,
        path: path,
        body: body,
        key: nil,
        extraHeaders: bearer.map { [("Authorization", "Bearer \($0)")] } ?? []
    )
}

private func withOpenAI(
    _ configuration: Server.Configuration = .init(),
    _ body: (Server) async throws -> Void
) async throws {
    let server = try await Server.start(configuration)
    do {
        try await body(server)
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

/// The JSON of each `data:` line of an OpenAI stream, and whether it ended with `[DONE]`.
private func chunks(_ response: RawResponse) throws -> (chunks: [[String: Any]], done: Bool) {
    var chunks: [[String: Any]] = []
    var done = false
    for event in response.text.components(separatedBy: "\n\n") where !event.isEmpty {
        #expect(event.hasPrefix("data: "))
        let payload = String(event.dropFirst(6))
        if payload == "[DONE]" {
            done = true
            continue
        }
        #expect(!done, "nothing after [DONE]")
        chunks.append(try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]))
    }
    return (chunks, done)
}

/// The error object of an OpenAI error body, with all four members present.
private func openAIError(_ response: RawResponse) throws -> [String: Any] {
    let error = try #require(dig(try response.json(), "error") as? [String: Any])
    #expect(Set(error.keys) == ["message", "type", "param", "code"])
    return error
}

@Suite("Fake OpenAI-compatible server")
struct FakeOpenAIServerTests {
    // MARK: Success

    @Test("a completion carries the text, finish_reason stop, and usage with reasoning tokens")
    func completion() async throws {
        let prompt = "Write \"Ownership\".\nKeep ünïcödé."
        try await withOpenAI { server in
            #expect(server.baseURL == "http://127.0.0.1:\(server.port)/v1")
            let response = try await post(server, chatBody(prompt: prompt))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("x-ratelimit-limit-requests") == nil, "no limits configured, no headers")
            let json = try response.json()
            #expect(dig(json, "object") as? String == "chat.completion")
            #expect((dig(json, "id") as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(dig(json, "model") as? String == "gpt-4o-mini")
            let text = try #require(dig(json, "choices", 0, "message", "content") as? String)
            #expect(
                text
                    == Server.defaultText(
                        for: .init(model: "gpt-4o-mini", messages: [.init(role: "user", content: prompt)])
                    )
            )
            #expect(dig(json, "choices", 0, "message", "role") as? String == "assistant")
            #expect(dig(json, "choices", 0, "finish_reason") as? String == "stop")
            let usage = try #require(dig(json, "usage") as? [String: Any])
            let promptTokens = try #require(usage["prompt_tokens"] as? Int)
            let completionTokens = try #require(usage["completion_tokens"] as? Int)
            #expect(usage["total_tokens"] as? Int == promptTokens + completionTokens)
            #expect(dig(usage, "completion_tokens_details", "reasoning_tokens") as? Int == 0)
        }
    }

    @Test("reasoning is sent as reasoning_content and counted in reasoning_tokens")
    func reasoning() async throws {
        let usage = Server.Usage(promptTokens: 20, completionTokens: 300, reasoningTokens: 120)
        try await withOpenAI(.init { _ in .success(text: "Body.", reasoning: "Let me plan.", usage: usage) }) {
            server in
            let json = try await post(server, chatBody()).json()
            #expect(dig(json, "choices", 0, "message", "content") as? String == "Body.")
            #expect(dig(json, "choices", 0, "message", "reasoning_content") as? String == "Let me plan.")
            #expect(dig(json, "usage", "completion_tokens_details", "reasoning_tokens") as? Int == 120)
            #expect(dig(json, "usage", "total_tokens") as? Int == 320)
        }
    }

    @Test("every request is recorded with its headers and parsed body, and attempts are numbered per prompt")
    func recording() async throws {
        try await withOpenAI { server in
            _ = try await post(server, chatBody(prompt: "A", #""temperature": 0.7, "max_completion_tokens": 4000"#))
            _ = try await post(
                server,
                chatBody(prompt: "A", #""stream": true, "stream_options": {"include_usage": true}"#)
            )
            _ = try await post(server, chatBody(prompt: "B", #""max_tokens": 100"#))
            let requests = server.chatRequests.compactMap { $0 }
            #expect(requests.count == 3)
            #expect(requests[0].temperature == 0.7)
            #expect(requests[0].maxCompletionTokens == 4000)
            #expect(requests[0].system == "You write course chapters.")
            #expect(requests[0].prompt == "A")
            #expect(requests[1].stream && requests[1].includeUsage)
            #expect(requests[2].maxTokens == 100)
            #expect(requests.map(\.attempt) == [1, 2, 1])
            #expect(server.statistics.requests.first?.header("authorization") == "Bearer \(key)")
            #expect(server.statistics.requestsByPrompt == ["A": 2, "B": 1])
        }
    }

    // MARK: Streaming

    @Test("a stream sends a role chunk, content deltas, finish_reason on the last choice chunk, then [DONE]")
    func stream() async throws {
        try await withOpenAI(.init { _ in .success(text: "Hello, streaming world.").streamed(textEvents: 3) }) {
            server in
            let response = try await post(server, chatBody(#""stream": true"#))
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(!response.text.contains("\r"))
            let (chunks, done) = try chunks(response)
            #expect(done)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            #expect(dig(chunks.first, "choices", 0, "delta", "role") as? String == "assistant")
            let deltas = chunks.compactMap { dig($0, "choices", 0, "delta", "content") as? String }
            #expect(deltas.joined() == "Hello, streaming world.")
            let reasons = chunks.map { dig($0, "choices", 0, "finish_reason") as? String }
            #expect(reasons.last == "stop")
            #expect(reasons.dropLast().allSatisfy { $0 == nil })
            #expect(chunks.allSatisfy { $0["usage"] == nil }, "no usage without include_usage")
        }
    }

    @Test("with include_usage, every chunk has usage null and a last chunk has usage and empty choices")
    func streamUsage() async throws {
        try await withOpenAI { server in
            let body = chatBody(#""stream": true, "stream_options": {"include_usage": true}"#)
            let (chunks, done) = try chunks(try await post(server, body))
            #expect(done)
            let last = try #require(chunks.last)
            #expect((last["choices"] as? [Any])?.isEmpty == true)
            #expect(dig(last, "usage", "completion_tokens") as? Int ?? 0 > 0)
            #expect(dig(last, "usage", "completion_tokens_details", "reasoning_tokens") as? Int == 0)
            #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
            #expect(dig(chunks.dropLast().last, "choices", 0, "finish_reason") as? String == "stop")
        }
    }

    @Test("a streamed reasoning model sends reasoning_content deltas before any content")
    func streamedReasoning() async throws {
        let reply = Server.Reply.success(text: "Body.", reasoning: "First I plan. Then I write.")
        try await withOpenAI(.init { _ in reply.streamed(thinking: .milliseconds(10)) }) { server in
            let (chunks, done) = try chunks(try await post(server, chatBody(#""stream": true"#)))
            #expect(done)
            let deltas = chunks.compactMap { dig($0, "choices", 0, "delta") as? [String: Any] }
            let kinds = deltas.map { delta -> String in
                if delta["reasoning_content"] != nil { return "reasoning" }
                if let content = delta["content"] as? String, !content.isEmpty { return "content" }
                return "other"
            }
            let firstContent = try #require(kinds.firstIndex(of: "content"))
            #expect(kinds.prefix(firstContent).filter { $0 == "reasoning" }.count == 2)
            #expect(!kinds.suffix(from: firstContent).contains("reasoning"))
            let reasoning = deltas.compactMap { $0["reasoning_content"] as? String }.joined()
            #expect(reasoning == "First I plan. Then I write.")
        }
    }

    @Test("AsyncHTTPClient reads an adversarially split stream into the same deltas")
    func asyncHTTPClientStream() async throws {
        let text = "Grüße — 🦀 streaming"
        try await withOpenAI(.init(split: .adversarial(seed: 3)) { _ in .success(text: text) }) { server in
            var request = HTTPClientRequest(url: server.baseURL + "/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(key)")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: chatBody(#""stream": true"#)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            var bytes: [UInt8] = []
            for try await part in response.body { bytes += Array(buffer: part) }
            let events = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let deltas = try events.dropLast().map { event in
                dig(
                    try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)),
                    "choices",
                    0,
                    "delta",
                    "content"
                )
                    as? String ?? ""
            }
            #expect(deltas.joined() == text)
        }
    }

    @Test(
        "stream faults: a stall keeps the connection silent, a cut closes it mid-chunk, a truncation ends without [DONE]"
    )
    func streamFaults() async throws {
        let configuration = Server.Configuration { request in
            switch request.prompt {
            case "stall": .success().stalled(afterEvents: 2)
            case "cut": .success().cut(afterEvents: 2)
            default: .success().truncated(afterEvents: 3)
            }
        }
        try await withOpenAI(configuration) { server in
            let port = server.port
            let stalled = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(
                    httpRequest(
                        path: chatPath,
                        body: chatBody(prompt: "stall", #""stream": true"#),
                        key: nil,
                        extraHeaders: [("Authorization", "Bearer \(key)")]
                    )
                )
                _ = try connection.readHead()
                _ = try connection.readChunks(untilEvents: 2, terminator: "\n\n")
                return connection
            }
            defer { stalled.close() }
            try await server.waitUntil { $0.requests.first?.eventsWritten == 2 }
            #expect(!stalled.hasBytesAvailable())

            let cut = try await blocking {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    httpRequest(
                        path: chatPath,
                        body: chatBody(prompt: "cut", #""stream": true"#),
                        key: nil,
                        extraHeaders: [("Authorization", "Bearer \(key)")]
                    )
                )
                _ = try connection.readHead()
                return String(decoding: try connection.readToEOF(), as: UTF8.self)
            }
            #expect(!cut.contains("[DONE]"))
            #expect(cut.components(separatedBy: "data: ").count == 4, "two whole chunks and the start of a third")

            let truncated = try await post(server, chatBody(prompt: "truncated", #""stream": true"#))
            let (chunks, done) = try chunks(truncated)
            #expect(!done)
            #expect(chunks.count == 3)
            #expect(chunks.allSatisfy { dig($0, "choices", 0, "finish_reason") as? String == nil })
        }
    }

    // MARK: Errors

    @Test("no key and a wrong key are 401 in OpenAI's error shape, the wrong key masked")
    func authentication() async throws {
        try await withOpenAI { server in
            let missing = try await post(server, chatBody(), bearer: nil)
            #expect(missing.status == 401)
            let missingError = try openAIError(missing)
            #expect((missingError["message"] as? String)?.hasPrefix("You didn't provide an API key.") == true)
            #expect(missingError["type"] as? String == "invalid_request_error")
            #expect(missingError["code"] is NSNull && missingError["param"] is NSNull)

            let wrong = try await post(server, chatBody(), bearer: "sk-proj-abcdefghijklmnop1234")
            #expect(wrong.status == 401)
            let wrongError = try openAIError(wrong)
            #expect(wrongError["code"] as? String == "invalid_api_key")
            let message = try #require(wrongError["message"] as? String)
            #expect(message.hasPrefix("Incorrect API key provided: sk-proj-"))
            #expect(message.contains("1234.") && !message.contains("abcdefghijklmnop"))
            #expect(server.statistics.requestsByPrompt.isEmpty)
        }
    }

    @Test("a server that needs no key answers without Authorization, like Ollama")
    func noKeyNeeded() async throws {
        try await withOpenAI(.init(key: .notRequired, models: nil)) { server async throws in
            #expect(try await post(server, chatBody(model: "anything-local:7b"), bearer: nil).status == 200)
            #expect(try await post(server, chatBody(), bearer: "ignored").status == 200)
        }
    }

    @Test("an unknown model is 404 model_not_found")
    func unknownModel() async throws {
        try await withOpenAI { server in
            let response = try await post(server, chatBody(model: "gpt-9"))
            #expect(response.status == 404)
            let error = try openAIError(response)
            #expect(error["code"] as? String == "model_not_found")
            #expect(error["message"] as? String == "The model `gpt-9` does not exist or you do not have access to it.")
        }
    }

    @Test("GET /v1/models/{model} describes a served model, 404 model_not_found for others, 401 without a key")
    func modelRoute() async throws {
        func get(_ server: Server, _ model: String, bearer: String? = key) async throws -> RawResponse {
            try await exchange(
                server,
                method: "GET",
                path: "/v1/models/\(model)",
                body: nil,
                key: nil,
                extraHeaders: bearer.map { [("Authorization", "Bearer \($0)")] } ?? []
            )
        }
        try await withOpenAI { server in
            let known = try await get(server, "gpt-4o-mini")
            #expect(known.status == 200)
            #expect(dig(try known.json(), "id") as? String == "gpt-4o-mini")
            #expect(dig(try known.json(), "object") as? String == "model")
            let unknown = try await get(server, "gpt-9")
            #expect(unknown.status == 404)
            #expect(try openAIError(unknown)["code"] as? String == "model_not_found")
            #expect(try await get(server, "gpt-4o-mini", bearer: nil).status == 401)
            #expect(try await get(server, "gpt-4o-mini", bearer: "sk-wrong-key-1234").status == 401)
            #expect(server.statistics.modelCheckCount == 4)
            #expect(server.statistics.chapterRequestCount == 0, "model checks are not chapter requests")
        }
        // A local server with any model and no key (llama.cpp), then one without the route at all.
        try await withOpenAI(.init(key: .notRequired, models: nil)) { server in
            let response = try await get(server, "llama3.1:8b", bearer: nil)
            #expect(response.status == 200)
        }
        try await withOpenAI(.init(servesModelRoute: false)) { server in
            let response = try await get(server, "gpt-4o-mini")
            #expect(response.status == 404)
            let error = try openAIError(response)
            #expect(error["code"] is NSNull, "a 404 for the route, not for the model")
            #expect((error["message"] as? String)?.hasPrefix("Invalid URL (GET /v1/models/gpt-4o-mini)") == true)
        }
    }

    struct BadRequest: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var param: String?
        var messagePrefix: String
        var testDescription: String { name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "not JSON", body: "{", param: nil, messagePrefix: "We could not parse the JSON body"),
        BadRequest(
            name: "no messages",
            body: #"{"model": "gpt-4o-mini"}"#,
            param: "messages",
            messagePrefix: "Missing required parameter: 'messages'."
        ),
        BadRequest(
            name: "empty messages",
            body: #"{"model": "gpt-4o-mini", "messages": []}"#,
            param: "messages",
            messagePrefix: "Invalid 'messages': empty array."
        ),
        BadRequest(
            name: "unknown role",
            body: #"{"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]}"#,
            param: "messages[0].role",
            messagePrefix: "Invalid value: 'robot'."
        ),
        BadRequest(
            name: "temperature above 2",
            body: chatBody(#""temperature": 3"#),
            param: "temperature",
            messagePrefix: "Invalid 'temperature': decimal above maximum value."
        ),
        BadRequest(
            name: "unknown parameter",
            body: chatBody(#""max_output_tokens": 5"#),
            param: nil,
            messagePrefix: "Unrecognized request argument supplied: max_output_tokens"
        ),
        BadRequest(
            name: "stream_options without stream",
            body: chatBody(#""stream_options": {"include_usage": true}"#),
            param: "stream_options",
            messagePrefix: "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        ),
    ]

    @Test("bad bodies are 400 invalid_request_error naming the parameter", arguments: badRequests)
    func badRequest(_ testCase: BadRequest) async throws {
        try await withOpenAI { server in
            let response = try await post(server, testCase.body)
            #expect(response.status == 400)
            let error = try openAIError(response)
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["param"] as? String == testCase.param)
            #expect((error["message"] as? String)?.hasPrefix(testCase.messagePrefix) == true, "\(error)")
        }
    }

    @Test("a server that wants max_tokens rejects max_completion_tokens with a 400 naming it, and takes max_tokens")
    func maxCompletionTokensRejected() async throws {
        try await withOpenAI(.init(maxTokens: .rejectsMaxCompletionTokens)) { server in
            let rejected = try await post(server, chatBody(#""max_completion_tokens": 100"#))
            #expect(rejected.status == 400)
            let error = try openAIError(rejected)
            #expect(error["param"] as? String == "max_completion_tokens")
            #expect(error["code"] as? String == "unsupported_parameter")
            #expect((error["message"] as? String)?.contains("'max_completion_tokens'") == true)
            #expect(try await post(server, chatBody(#""max_tokens": 100"#)).status == 200)
        }
        try await withOpenAI(.init(maxTokens: .rejectsMaxTokens)) { server in
            let rejected = try await post(server, chatBody(#""max_tokens": 100"#))
            #expect(try openAIError(rejected)["param"] as? String == "max_tokens")
            #expect(try await post(server, chatBody(#""max_completion_tokens": 100"#)).status == 200)
        }
    }

    @Test("a server that ignores max_completion_tokens reports length only against max_tokens")
    func maxCompletionTokensIgnored() async throws {
        try await withOpenAI(.init(maxTokens: .ignoresMaxCompletionTokens) { _ in .length() }) { server in
            let ignored = try await post(server, chatBody(#""max_completion_tokens": 50"#)).json()
            #expect(dig(ignored, "usage", "completion_tokens") as? Int != 50)
            let honoured = try await post(server, chatBody(#""max_tokens": 50"#)).json()
            #expect(dig(honoured, "usage", "completion_tokens") as? Int == 50)
        }
    }

    @Test("length, empty content and server errors have OpenAI's shapes")
    func faults() async throws {
        let configuration = Server.Configuration { request in
            switch request.prompt {
            case "length": .length()
            case "empty": .emptyContent
            case "500": .status(code: 500)
            case "503": .status(code: 503)
            case "credit": .insufficientQuota
            default: .errorMidStream(code: 500)
            }
        }
        try await withOpenAI(configuration) { server in
            let length = try await post(server, chatBody(prompt: "length", #""max_completion_tokens": 64"#)).json()
            #expect(dig(length, "choices", 0, "finish_reason") as? String == "length")
            #expect(dig(length, "usage", "completion_tokens") as? Int == 64)

            let empty = try await post(server, chatBody(prompt: "empty")).json()
            #expect(dig(empty, "choices", 0, "message", "content") as? String == "")
            #expect(dig(empty, "choices", 0, "finish_reason") as? String == "stop")

            let serverError = try await post(server, chatBody(prompt: "500"))
            #expect(serverError.status == 500)
            #expect(try openAIError(serverError)["type"] as? String == "server_error")
            let overloaded = try await post(server, chatBody(prompt: "503"))
            #expect(overloaded.status == 503)
            #expect(try openAIError(overloaded)["message"] as? String == "The server is overloaded or not ready yet.")
            let credit = try await post(server, chatBody(prompt: "credit"))
            #expect(credit.status == 429)
            #expect(try openAIError(credit)["code"] as? String == "insufficient_quota")
            #expect(credit.header("retry-after") == nil)

            let midStream = try await post(server, chatBody(prompt: "mid", #""stream": true"#))
            #expect(midStream.status == 200)
            let (chunks, done) = try chunks(midStream)
            #expect(!done)
            #expect(dig(chunks.last, "error", "type") as? String == "server_error")
        }
    }

    @Test("a decided 429 carries Retry-After and retry-after-ms as asked")
    func decidedRateLimit() async throws {
        let configuration = Server.Configuration { request in
            request.prompt == "both"
                ? .rateLimited(retryAfterSeconds: 2, retryAfterMilliseconds: 1500)
                : .rateLimited(retryAfterSeconds: nil, retryAfterMilliseconds: nil, limitType: "tokens")
        }
        try await withOpenAI(configuration) { server in
            let both = try await post(server, chatBody(prompt: "both"))
            #expect(both.status == 429)
            #expect(both.header("retry-after") == "2")
            #expect(both.header("retry-after-ms") == "1500")
            #expect(try openAIError(both)["code"] as? String == "rate_limit_exceeded")
            let neither = try await post(server, chatBody(prompt: "neither"))
            #expect(neither.header("retry-after") == nil && neither.header("retry-after-ms") == nil)
            #expect(try openAIError(neither)["type"] as? String == "tokens")
        }
    }

    // MARK: Rate limits

    @Test("rate limits are reported in x-ratelimit headers on every answer and enforced with 429 + Retry-After")
    func headerDrivenLimits() async throws {
        let limits = QuotaPolicy(requestsPerWindow: 3, tokensPerWindow: 100_000, window: .seconds(60))
        try await withOpenAI(.init(rateLimits: limits)) { server in
            var remaining: [String?] = []
            for index in 1...3 {
                let response = try await post(server, chatBody(prompt: "p\(index)", #""max_completion_tokens": 1000"#))
                #expect(response.status == 200)
                #expect(response.header("x-ratelimit-limit-requests") == "3")
                #expect(response.header("x-ratelimit-limit-tokens") == "100000")
                remaining.append(response.header("x-ratelimit-remaining-requests"))
                let reset = try #require(response.header("x-ratelimit-reset-requests"))
                #expect(reset.hasSuffix("s"), "a Go duration: \(reset)")
                let tokensLeft = try #require(response.header("x-ratelimit-remaining-tokens").flatMap(Int.init))
                #expect(tokensLeft <= 100_000 - 1000 * index)
            }
            #expect(remaining == ["2", "1", "0"])

            let limited = try await post(server, chatBody(prompt: "p4"))
            #expect(limited.status == 429)
            let seconds = try #require(limited.header("retry-after").flatMap(Int.init))
            let milliseconds = try #require(limited.header("retry-after-ms").flatMap(Int.init))
            #expect(seconds >= 1 && seconds <= 60)
            #expect(milliseconds > 0 && milliseconds <= 60_000 && (seconds - 1) * 1000 < milliseconds)
            #expect(limited.header("x-ratelimit-remaining-requests") == "0")
            let error = try openAIError(limited)
            #expect(error["code"] as? String == "rate_limit_exceeded")
            #expect(error["type"] as? String == "requests")
            let message = try #require(error["message"] as? String)
            #expect(
                message.hasPrefix(
                    "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
                )
            )
            #expect(server.statistics.quotaRejections == [.requestQuota: 1])
            #expect(server.statistics.maxAdmittedPerWindow == 3)
        }
    }

    @Test("a token limit turns away a request whose prompt and budget do not fit")
    func tokenLimit() async throws {
        let limits = QuotaPolicy(tokensPerWindow: 5000, window: .seconds(60))
        try await withOpenAI(.init(rateLimits: limits, retryAfter: .milliseconds)) { server in
            #expect(try await post(server, chatBody(#""max_completion_tokens": 3000"#)).status == 200)
            let limited = try await post(server, chatBody(#""max_completion_tokens": 3000"#))
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == nil)
            #expect(limited.header("retry-after-ms") != nil)
            let error = try openAIError(limited)
            #expect(error["type"] as? String == "tokens")
            #expect((error["message"] as? String)?.contains("tokens per min (TPM): Limit 5000") == true)
        }
    }

    @Test("the realistic fault mix is reproducible and every prompt succeeds after its failures")
    func faultMix() {
        let mix = Server.FaultMix.realistic(seed: 5)
        let again = Server.FaultMix.realistic(seed: 5)
        var faults = 0
        for index in 0..<2000 {
            for attempt in 1...3 {
                let request = Server.Request(
                    model: "gpt-4o-mini",
                    messages: [.init(role: "user", content: "c\(index)")],
                    attempt: attempt
                )
                let kind = String(describing: mix.reply(for: request).kind)
                #expect(kind == String(describing: again.reply(for: request).kind))
                if attempt == 3 {
                    #expect(kind.hasPrefix("success"))
                } else if !kind.hasPrefix("success") {
                    faults += 1
                }
            }
        }
        #expect((0.2...0.32).contains(Double(faults) / 4000))
    }
}
