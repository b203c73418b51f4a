import FakeGemini
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing
import Providers
import Platform

// Tests of the fake Gemini server itself, through a raw HTTP/1.1 client on real sockets, so
// they see exactly the bytes a real client would: status lines, headers, bodies, EOF.

private typealias Server = FakeGeminiServer
private typealias Reply = FakeGeminiServer.Reply

private let model = "gemini-2.5-flash-lite"
private let generatePath = "/v1beta/models/\(model):generateContent"

@Suite("Fake Gemini server")
struct FakeGeminiServerTests {
    // MARK: Success

    @Test("a valid request gets Google's success shape, with the prompt verbatim in the text")
    func successShape() async throws {
        let prompt =
            "Write the chapter \"Ownership\".\nCover: moves, copies.\n  Keep ünïcödé, tabs\tand \\ backslashes."
        try await withServer { server in
            let response = try await exchange(server, body: requestBody(prompt: prompt))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json; charset=UTF-8")
            #expect(response.header("retry-after") == nil)

            let json = try response.json()
            let candidate = try #require(dig(json, "candidates", 0) as? [String: Any])
            #expect(dig(candidate, "content", "role") as? String == "model")
            let parts = try #require(dig(candidate, "content", "parts") as? [[String: Any]])
            #expect(parts.count == 1)
            let text = try #require(parts.first?["text"] as? String)
            #expect(text.contains(prompt))
            #expect(text == Server.defaultText(for: .init(model: model, prompt: prompt)))
            #expect(candidate["finishReason"] as? String == "STOP")
            #expect(candidate["index"] as? Int == 0)

            let usage = try #require(dig(json, "usageMetadata") as? [String: Any])
            let promptTokens = try #require(usage["promptTokenCount"] as? Int)
            let candidatesTokens = try #require(usage["candidatesTokenCount"] as? Int)
            let thoughtsTokens = try #require(usage["thoughtsTokenCount"] as? Int)
            #expect(promptTokens > 0 && candidatesTokens == text.count / 4 && thoughtsTokens > 0)
            #expect(usage["totalTokenCount"] as? Int == promptTokens + candidatesTokens + thoughtsTokens)
            #expect(dig(json, "modelVersion") as? String == model)
            #expect((dig(json, "responseId") as? String)?.isEmpty == false)
        }
    }

    @Test("the decision sees the parsed request, written in camelCase or snake_case, with attempt numbers")
    func decisionSeesParsedRequest() async throws {
        let seen = Recorder<[Server.Request]>([])
        let configuration = Server.Configuration { request in
            seen.withLockedValue { $0.append(request) }
            return .success()
        }
        let camel = """
            {"systemInstruction": {"parts": [{"text": "You write courses."}]},
             "contents": [{"role": "user", "parts": [{"text": "Chapter one"}]}],
             "generationConfig": {"temperature": 0.7, "maxOutputTokens": 8192,
                                  "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": false}}}
            """
        let snake = """
            {"system_instruction": {"parts": {"text": "You write courses."}},
             "contents": [{"role": "user", "parts": [{"text": "Chapter one"}]}],
             "generation_config": {"temperature": 1, "max_output_tokens": 100,
                                   "thinking_config": {"thinking_budget": 0}}}
            """
        try await withServer(configuration) { server in
            let camelResponse = try await exchange(server, body: camel)
            #expect(camelResponse.status == 200)
            let snakeResponse = try await exchange(server, path: "/v1/models/\(model):generateContent", body: snake)
            #expect(snakeResponse.status == 200)
        }
        let requests = seen.withLockedValue { $0 }
        try #require(requests.count == 2)
        #expect(
            requests[0]
                == Server.Request(
                    apiVersion: "v1beta",
                    model: model,
                    systemInstruction: "You write courses.",
                    prompt: "Chapter one",
                    generationConfig: .init(
                        temperature: 0.7,
                        maxOutputTokens: 8192,
                        thinkingBudget: 1024,
                        includeThoughts: false
                    ),
                    attempt: 1
                )
        )
        #expect(
            requests[1]
                == Server.Request(
                    apiVersion: "v1",
                    model: model,
                    systemInstruction: "You write courses.",
                    prompt: "Chapter one",
                    generationConfig: .init(temperature: 1, maxOutputTokens: 100, thinkingBudget: 0),
                    attempt: 2
                )
        )
    }

    @Test("a thought part comes before the text, marked thought: true, when asked for")
    func thoughtPart() async throws {
        let configuration = Server.Configuration { request in
            request.prompt == "explicit" ? .success(thought: "Let me plan.") : .success()
        }
        try await withServer(configuration) { server in
            let explicit = try await exchange(server, body: requestBody(prompt: "explicit")).json()
            let parts = try #require(dig(explicit, "candidates", 0, "content", "parts") as? [[String: Any]])
            #expect(parts.count == 2)
            #expect(parts.first?["thought"] as? Bool == true)
            #expect(parts.first?["text"] as? String == "Let me plan.")
            #expect(parts.last?["thought"] == nil)
            #expect((parts.last?["text"] as? String)?.contains("explicit") == true)

            let asked = try await exchange(
                server,
                body: requestBody(prompt: "asked", generationConfig: #"{"thinkingConfig": {"includeThoughts": true}}"#)
            )
            .json()
            let askedParts = try #require(dig(asked, "candidates", 0, "content", "parts") as? [[String: Any]])
            #expect(askedParts.map { $0["thought"] as? Bool } == [true, nil])

            let plain = try await exchange(server, body: requestBody(prompt: "plain")).json()
            #expect((dig(plain, "candidates", 0, "content", "parts") as? [Any])?.count == 1)
        }
    }

    @Test("custom text and usage are sent exactly as given")
    func customTextAndUsage() async throws {
        let usage = Server.Usage(promptTokenCount: 812, candidatesTokenCount: 2110, thoughtsTokenCount: 1028)
        try await withServer(.init { _ in .success(text: "# Custom\n\nBody.", usage: usage) }) { server in
            let json = try await exchange(server, body: requestBody(prompt: "p")).json()
            #expect(dig(json, "candidates", 0, "content", "parts", 0, "text") as? String == "# Custom\n\nBody.")
            #expect(dig(json, "usageMetadata", "promptTokenCount") as? Int == 812)
            #expect(dig(json, "usageMetadata", "candidatesTokenCount") as? Int == 2110)
            #expect(dig(json, "usageMetadata", "thoughtsTokenCount") as? Int == 1028)
            #expect(dig(json, "usageMetadata", "totalTokenCount") as? Int == 3950)
        }
    }

    @Test("thinking turned off (budget 0) reports no thoughtsTokenCount, as the API omits it")
    func noThinking() async throws {
        try await withServer { server in
            let body = requestBody(prompt: "p", generationConfig: #"{"thinkingConfig": {"thinkingBudget": 0}}"#)
            let json = try await exchange(server, body: body).json()
            #expect(dig(json, "usageMetadata", "thoughtsTokenCount") == nil)
            #expect(dig(json, "usageMetadata", "totalTokenCount") as? Int != nil)
        }
    }

    // MARK: Authentication

    @Test("no key is 403 PERMISSION_DENIED and a wrong key is 400 API_KEY_INVALID")
    func authenticationErrors() async throws {
        try await withServer { server in
            let missing = try await exchange(server, body: requestBody(prompt: "p"), key: nil)
            #expect(missing.status == 403)
            #expect(try dig(missing.json(), "error", "status") as? String == "PERMISSION_DENIED")
            #expect(try dig(missing.json(), "error", "code") as? Int == 403)

            let wrong = try await exchange(server, body: requestBody(prompt: "p"), key: "not-the-key")
            #expect(wrong.status == 400)
            let error = try #require(dig(wrong.json(), "error") as? [String: Any])
            #expect(error["status"] as? String == "INVALID_ARGUMENT")
            #expect(error["message"] as? String == "API key not valid. Please pass a valid API key.")
            let info = try #require(detail(error, "ErrorInfo"))
            #expect(info["reason"] as? String == "API_KEY_INVALID")

            #expect(server.statistics.requestCount == 2)
            #expect(server.statistics.requestsByPrompt.isEmpty)
        }
    }

    @Test("a key in the URL is accepted as Google does, and recorded so tests can forbid it")
    func keyInURL() async throws {
        try await withServer { server in
            let response = try await exchange(
                server,
                path: generatePath + "?key=\(Server.defaultAPIKey)",
                body: requestBody(prompt: "p"),
                key: nil
            )
            #expect(response.status == 200)
            let statistics = server.statistics
            #expect(statistics.keyInURLCount == 1)
            #expect(statistics.requests.first?.hasKeyInURL == true)
            #expect(statistics.requests.first?.query == "key=\(Server.defaultAPIKey)")
            #expect(statistics.requests.first?.header("X-GOOG-API-KEY") == nil)
        }
    }

    // MARK: Request validation

    struct BadBody: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var message: String
        var testDescription: String { name }
    }

    static let badBodies: [BadBody] = [
        BadBody(
            name: "unknown top-level field",
            body: #"{"contents": [{"parts": [{"text": "p"}]}], "temprature": 0.5}"#,
            message: #"Invalid JSON payload received. Unknown name "temprature": Cannot find field."#
        ),
        BadBody(
            name: "unknown generationConfig field",
            body: #"{"contents": [{"parts": [{"text": "p"}]}], "generationConfig": {"maxTokens": 5}}"#,
            message:
                #"Invalid JSON payload received. Unknown name "maxTokens" at 'generation_config': Cannot find field."#
        ),
        BadBody(
            name: "temperature not a number",
            body: #"{"contents": [{"parts": [{"text": "p"}]}], "generationConfig": {"temperature": "hot"}}"#,
            message: #"Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot""#
        ),
        BadBody(
            name: "maxOutputTokens not an integer",
            body: #"{"contents": [{"parts": [{"text": "p"}]}], "generationConfig": {"maxOutputTokens": 1.5}}"#,
            message: "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 1.5"
        ),
        BadBody(
            name: "thinkingBudget out of range",
            body:
                #"{"contents": [{"parts": [{"text": "p"}]}], "generationConfig": {"thinkingConfig": {"thinkingBudget": 30000}}}"#,
            message: "The thinking budget (30000) is invalid."
        ),
        BadBody(
            name: "empty contents",
            body: #"{"contents": []}"#,
            message: "* GenerateContentRequest.contents: contents is not specified\n"
        ),
        BadBody(
            name: "no contents",
            body: #"{"generationConfig": {}}"#,
            message: "* GenerateContentRequest.contents: contents is not specified\n"
        ),
        BadBody(
            name: "empty parts",
            body: #"{"contents": [{"role": "user", "parts": []}]}"#,
            message: "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"
        ),
        BadBody(
            name: "cut JSON",
            body: #"{"contents": [{"parts": [{"text": "p"#,
            message: "Invalid JSON payload received. Unterminated string at byte 36."
        ),
        BadBody(
            name: "array instead of object",
            body: "[]",
            message: "Invalid JSON payload received. Root element must be a message."
        ),
    ]

    @Test("a body the real API rejects is 400 INVALID_ARGUMENT with its message", arguments: badBodies)
    func badBody(_ bad: BadBody) async throws {
        let decisions = Recorder(0)
        let configuration = Server.Configuration { _ in
            decisions.withLockedValue { $0 += 1 }
            return .success()
        }
        try await withServer(configuration) { server in
            let response = try await exchange(server, body: bad.body)
            #expect(response.status == 400)
            let error = try #require(dig(response.json(), "error") as? [String: Any])
            #expect(error["code"] as? Int == 400)
            #expect(error["status"] as? String == "INVALID_ARGUMENT")
            #expect(error["message"] as? String == bad.message)
        }
        #expect(decisions.withLockedValue { $0 } == 0)
    }

    @Test("an unknown model is 404 NOT_FOUND, a path that is no method is 404 too")
    func unknownModel() async throws {
        try await withServer { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/gemini-9-ultra:generateContent",
                body: requestBody(prompt: "p")
            )
            #expect(response.status == 404)
            let error = try #require(dig(response.json(), "error") as? [String: Any])
            #expect(error["status"] as? String == "NOT_FOUND")
            #expect(
                (error["message"] as? String)?.hasPrefix("models/gemini-9-ultra is not found for API version v1beta")
                    == true
            )

            let noMethod = try await exchange(server, path: "/v1beta/models/\(model):countTokens", body: "{}")
            #expect(noMethod.status == 404)
        }
    }

    @Test("an X-Server-Timeout below 10 seconds is rejected with 400")
    func shortServerTimeout() async throws {
        try await withServer { server in
            let short = try await exchange(
                server,
                body: requestBody(prompt: "p"),
                extraHeaders: [("X-Server-Timeout", "5")]
            )
            #expect(short.status == 400)
            let long = try await exchange(
                server,
                body: requestBody(prompt: "p"),
                extraHeaders: [("X-Server-Timeout", "300")]
            )
            #expect(long.status == 200)
        }
    }

    // MARK: Faults

    @Test(
        "an error status carries Google's status name and usual message",
        arguments: [
            (400, "INVALID_ARGUMENT"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND"), (500, "INTERNAL"),
            (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"),
        ]
    )
    func errorStatus(code: Int, status: String) async throws {
        try await withServer(.init { _ in .status(code: code) }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == code)
            #expect(response.header("retry-after") == nil)
            let error = try #require(dig(response.json(), "error") as? [String: Any])
            #expect(error["code"] as? Int == code)
            #expect(error["status"] as? String == status)
            #expect((error["message"] as? String)?.isEmpty == false)
            if code == 503 {
                #expect(error["message"] as? String == "The model is overloaded. Please try again later.")
            }
            #expect(server.statistics.requests.first?.disposition == .answered(status: code))
        }
    }

    @Test("a 502 is the HTML page of Google's front end, not JSON")
    func badGateway() async throws {
        try await withServer(.init { _ in .status(code: 502) }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == 502)
            #expect(response.header("content-type")?.hasPrefix("text/html") == true)
            #expect(response.text.contains("<b>502.</b>"))
        }
    }

    @Test("a 429 carries QuotaFailure, Help and RetryInfo in its body and no Retry-After header")
    func rateLimited() async throws {
        let configuration = Server.Configuration { _ in
            .rateLimited(retryDelay: "11.769242877s", quotaId: "GenerateRequestsPerDayPerProjectPerModel")
        }
        try await withServer(configuration) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == 429)
            #expect(response.header("retry-after") == nil)
            let error = try #require(dig(response.json(), "error") as? [String: Any])
            #expect(error["status"] as? String == "RESOURCE_EXHAUSTED")
            #expect((error["message"] as? String)?.hasSuffix("Please retry in 11.769242877s.") == true)
            #expect(detail(error, "RetryInfo")?["retryDelay"] as? String == "11.769242877s")
            let quota = try #require(detail(error, "QuotaFailure"))
            #expect(dig(quota, "violations", 0, "quotaId") as? String == "GenerateRequestsPerDayPerProjectPerModel")
            #expect(dig(quota, "violations", 0, "quotaMetric") is String)
            #expect(dig(quota, "violations", 0, "quotaValue") is String)
            #expect(detail(error, "Help") != nil)
            #expect(server.statistics.rateLimitedCount == 1)
        }
    }

    @Test("empty parts: a 200 whose candidate has finishReason STOP and content with only a role")
    func emptyParts() async throws {
        try await withServer(.init { _ in .emptyParts }) { server in
            let json = try await exchange(server, body: requestBody(prompt: "p")).json()
            let candidate = try #require(dig(json, "candidates", 0) as? [String: Any])
            #expect(candidate["finishReason"] as? String == "STOP")
            #expect(candidate["content"] as? [String: String] == ["role": "model"])
        }
    }

    @Test("MAX_TOKENS without parts reports the whole output budget as thoughts")
    func maxTokensWithoutParts() async throws {
        try await withServer(.init { _ in .maxTokensWithoutParts }) { server in
            let body = requestBody(prompt: "p", generationConfig: #"{"maxOutputTokens": 2048}"#)
            let json = try await exchange(server, body: body).json()
            let candidate = try #require(dig(json, "candidates", 0) as? [String: Any])
            #expect(candidate["finishReason"] as? String == "MAX_TOKENS")
            #expect(candidate["content"] as? [String: String] == ["role": "model"])
            #expect(dig(json, "usageMetadata", "thoughtsTokenCount") as? Int == 2048)
            #expect(dig(json, "usageMetadata", "candidatesTokenCount") == nil)
        }
    }

    @Test("a blocked prompt has promptFeedback.blockReason and no candidates")
    func blockedPrompt() async throws {
        try await withServer(.init { _ in .blockedPrompt() }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == 200)
            let json = try response.json()
            #expect(dig(json, "promptFeedback", "blockReason") as? String == "SAFETY")
            #expect(dig(json, "candidates") == nil)
        }
    }

    @Test(
        "finish(reason:) ends the candidate with that reason",
        arguments: ["SAFETY", "RECITATION", "PROHIBITED_CONTENT"]
    )
    func finishReason(_ reason: String) async throws {
        try await withServer(.init { _ in .finish(reason: reason, text: "Partial") }) { server in
            let json = try await exchange(server, body: requestBody(prompt: "p")).json()
            #expect(dig(json, "candidates", 0, "finishReason") as? String == reason)
            #expect(dig(json, "candidates", 0, "content", "parts", 0, "text") as? String == "Partial")
        }
    }

    @Test("malformed JSON is a complete 200 whose body does not parse")
    func malformedJSON() async throws {
        try await withServer(.init { _ in .malformedJSON }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == 200)
            #expect(response.header("content-length") == String(response.body.count))
            #expect(response.text.hasPrefix("{"))
            #expect(throws: (any Error).self) { try response.json() }
        }
    }

    @Test("connection reset closes the connection before a single byte of reply")
    func connectionReset() async throws {
        try await withServer(.init { _ in .connectionReset }) { server in
            let port = server.port
            let received = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "p")))
                return try connection.readToEOF()
            }
            #expect(received.isEmpty)
            try await server.waitUntil { $0.inFlight == 0 }
            #expect(server.statistics.requests.first?.disposition == .reset)
        }
    }

    @Test("a hang sends nothing while later requests are answered, and is forgotten when the client closes")
    func hang() async throws {
        let configuration = Server.Configuration { $0.prompt == "hang" ? .hang : .success() }
        try await withServer(configuration) { server in
            let port = server.port
            let hung = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "hang")))
                return connection
            }
            try await server.waitForRequests(1)
            // Another request, sent after the hung one arrived, gets its full answer...
            #expect(try await exchange(server, body: requestBody(prompt: "other")).status == 200)
            // ...while the hung connection still has nothing to read.
            #expect(!hung.hasBytesAvailable())
            #expect(server.statistics.requests.first?.disposition == .pending)
            #expect(server.statistics.inFlight == 1)

            hung.close()
            try await server.waitUntil { $0.inFlight == 0 && $0.openConnections == 0 }
            #expect(server.statistics.requests.first?.disposition == .abandoned)
        }
    }

    @Test("errorMidStream sends text, then an error event, after a 200")
    func errorMidStream() async throws {
        try await withServer(.init { _ in .errorMidStream(code: 503) }) { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/\(model):streamGenerateContent?alt=sse",
                body: requestBody(prompt: "p")
            )
            #expect(response.status == 200)
            let events = try response.serverSentEvents()
            #expect(events.count == 2)
            #expect(dig(events.first, "candidates", 0, "content", "parts", 0, "text") is String)
            #expect(dig(events.last, "error", "code") as? Int == 503)
            #expect(dig(events.last, "error", "status") as? String == "UNAVAILABLE")
        }
    }

    // MARK: Streaming

    @Test("streaming with alt=sse splits the text over several data: events, the last with finishReason")
    func streaming() async throws {
        let prompt = "Ownership and borrowing"
        try await withServer { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/\(model):streamGenerateContent?alt=sse",
                body: requestBody(prompt: prompt)
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.text.hasSuffix("\r\n\r\n"))

            let events = try response.serverSentEvents()
            #expect(events.count >= 2)
            let texts = events.map { dig($0, "candidates", 0, "content", "parts", 0, "text") as? String ?? "" }
            #expect(texts.joined() == Server.defaultText(for: .init(model: model, prompt: prompt)))
            let reasons = events.map { dig($0, "candidates", 0, "finishReason") as? String }
            #expect(reasons.last == "STOP")
            #expect(reasons.dropLast().allSatisfy { $0 == nil })
            #expect(dig(events.last, "usageMetadata", "candidatesTokenCount") is Int)
        }
    }

    @Test("streaming without alt=sse sends one JSON array")
    func streamingArray() async throws {
        try await withServer { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/\(model):streamGenerateContent",
                body: requestBody(prompt: "p")
            )
            #expect(response.header("content-type") == "application/json; charset=UTF-8")
            let array = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [Any])
            #expect(array.count >= 2)
            #expect(dig(array.last, "candidates", 0, "finishReason") as? String == "STOP")
        }
    }

    @Test("a malformed stream sends one good event, then half an event, and no finishReason")
    func malformedStream() async throws {
        try await withServer(.init { _ in .malformedJSON }) { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/\(model):streamGenerateContent?alt=sse",
                body: requestBody(prompt: "p")
            )
            #expect(response.status == 200)
            let events = response.text.components(separatedBy: "\r\n\r\n")
            #expect(events.count == 2)
            let first = try JSONSerialization.jsonObject(with: Data(events[0].dropFirst(6).utf8))
            #expect(dig(first, "candidates", 0, "finishReason") == nil)
            #expect(events[1].hasPrefix("data: {"))
            #expect(throws: (any Error).self) {
                try JSONSerialization.jsonObject(with: Data(events[1].dropFirst(6).utf8))
            }
        }
    }

    @Test(
        "answers without text stream as a single event",
        arguments: [
            (Reply.emptyParts, "STOP"), (Reply.maxTokensWithoutParts, "MAX_TOKENS"),
            (Reply.finish(reason: "RECITATION", text: ""), "RECITATION"), (Reply.blockedPrompt(), nil),
        ]
    )
    func streamWithoutText(reply: FakeGeminiServer.Reply, finishReason: String?) async throws {
        try await withServer(.init { _ in reply }) { server in
            let response = try await exchange(
                server,
                path: "/v1beta/models/\(model):streamGenerateContent?alt=sse",
                body: requestBody(prompt: "p")
            )
            let events = try response.serverSentEvents()
            #expect(events.count == 1)
            #expect(dig(events.first, "candidates", 0, "finishReason") as? String == finishReason)
            #expect(dig(events.first, "candidates", 0, "content", "parts") == nil)
            if finishReason == nil {
                #expect(dig(events.first, "promptFeedback", "blockReason") as? String == "SAFETY")
            }
        }
    }

    // MARK: Latency and gates

    @Test("latency delays the reply: the server finished waiting before the client had its answer")
    func latency() async throws {
        let latency = Duration.milliseconds(50)
        try await withServer(.init { _ in .success().after(latency) }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            let received = ContinuousClock.now
            #expect(response.status == 200)
            let record = try #require(server.statistics.requests.first)
            let completed = try #require(record.completedAt)
            #expect(completed - record.arrival >= latency)
            #expect(completed <= received)
        }
    }

    @Test("replies held by a gate wait for it; in-flight accounting sees every concurrent request")
    func gateAndMaxInFlight() async throws {
        let gate = Server.Gate()
        let clients = 4
        try await withServer(.init { _ in .success().held(by: gate) }) { server in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<clients {
                    group.addTask {
                        try await exchange(server, body: requestBody(prompt: "chapter \(index)")).status
                    }
                }
                try await server.waitUntil { $0.inFlight == clients }
                #expect(server.statistics.requests.allSatisfy { $0.disposition == .pending })
                gate.open()
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                #expect(statuses == Array(repeating: 200, count: clients))
            }
            let statistics = server.statistics
            #expect(statistics.maxInFlight == clients)
            #expect(statistics.inFlight == 0)
        }
    }

    @Test("a gate that is already open lets replies through at once")
    func openGate() async throws {
        let gate = Server.Gate()
        gate.open()
        try await withServer(.init { _ in .success().held(by: gate) }) { server in
            let response = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(response.status == 200)
        }
    }

    // MARK: Counting and waiting

    @Test("requests are counted in total, per prompt and per model, and attempts are numbered per prompt")
    func counting() async throws {
        let configuration = Server.Configuration { $0.attempt == 1 ? .status(code: 503) : .success() }
        try await withServer(configuration) { server in
            #expect(try await exchange(server, body: requestBody(prompt: "A")).status == 503)
            #expect(try await exchange(server, body: requestBody(prompt: "A")).status == 200)
            #expect(try await exchange(server, body: requestBody(prompt: "B")).status == 503)
            #expect(try await exchange(server, body: requestBody(prompt: "B"), key: nil).status == 403)
            let statistics = server.statistics
            #expect(statistics.requestCount == 4)
            #expect(statistics.requestsByPrompt == ["A": 2, "B": 1])
            #expect(statistics.requestsByModel == [model: 3])
            #expect(statistics.requests.map(\.attempt) == [1, 2, 1, nil])
            #expect(statistics.requests.map(\.prompt) == ["A", "A", "B", nil])
            #expect(statistics.maxInFlight == 1)
            let body = try #require(statistics.requests.first?.body)
            #expect(String(decoding: body, as: UTF8.self) == requestBody(prompt: "A"))
            #expect(statistics.requests.first?.header("content-type") == "application/json")
            #expect(statistics.requests.first?.path == generatePath)
        }
    }

    @Test("waitForRequests resumes when the Nth request arrives, not before")
    func waitForRequests() async throws {
        try await withServer { server in
            let resumedAt = Recorder<Int?>(nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await server.waitForRequests(3)
                    resumedAt.withLockedValue { $0 = server.statistics.requestCount }
                }
                for index in 1...2 {
                    _ = try await exchange(server, body: requestBody(prompt: "p\(index)"))
                }
                #expect(resumedAt.withLockedValue { $0 } == nil)
                _ = try await exchange(server, body: requestBody(prompt: "p3"))
                try await group.waitForAll()
            }
            #expect(resumedAt.withLockedValue { $0 } == 3)
        }
    }

    @Test("a wait fails on its timeout, on cancellation and on shutdown")
    func waitFailures() async throws {
        let server = try await Server.start()
        let timedOut = await #expect(throws: FakeGeminiError.self) {
            try await server.waitUntil(timeout: .milliseconds(10)) { _ in false }
        }
        #expect(timedOut?.code == .timedOut)

        await #expect(throws: CancellationError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.waitForRequests(100) }
                group.cancelAll()
                try await group.waitForAll()
            }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let error = await #expect(throws: FakeGeminiError.self) { try await server.waitForRequests(100) }
                #expect(error?.code == .shutDown)
            }
            try await server.shutdown()
            try await group.waitForAll()
        }
    }

    // MARK: Connections and lifecycle

    @Test("several requests share one keep-alive connection; Connection: close is honoured")
    func keepAlive() async throws {
        try await withServer { server in
            let port = server.port
            let (first, second, last, rest) = try await blocking {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "one")))
                let first = try connection.readResponse()
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "two")))
                let second = try connection.readResponse()
                try connection.send(
                    httpRequest(
                        path: generatePath,
                        body: requestBody(prompt: "three"),
                        extraHeaders: [("Connection", "close")]
                    )
                )
                let last = try connection.readResponse()
                return (first, second, last, try connection.readToEOF())
            }
            #expect([first.status, second.status, last.status] == [Int](repeating: 200, count: 3))
            #expect(first.header("connection") == nil)
            #expect(last.header("connection") == "close")
            #expect(rest.isEmpty)
            #expect(server.statistics.requestCount == 3)
        }
    }

    @Test("GET /_fake/stats reports the counters as JSON and is not counted itself")
    func statsEndpoint() async throws {
        let configuration = Server.Configuration { $0.prompt == "limited" ? .rateLimited() : .success() }
        try await withServer(configuration) { server in
            _ = try await exchange(server, body: requestBody(prompt: "A"))
            _ = try await exchange(server, body: requestBody(prompt: "A"))
            _ = try await exchange(server, body: requestBody(prompt: "limited"))
            _ = try await exchange(
                server,
                path: generatePath + "?key=\(Server.defaultAPIKey)",
                body: requestBody(prompt: "B"),
                key: nil
            )

            let response = try await exchange(server, method: "GET", path: "/_fake/stats", body: nil)
            #expect(response.status == 200)
            let stats = try #require(try response.json() as? [String: Any])
            #expect(stats["requests"] as? Int == 4)
            #expect(stats["byPrompt"] as? [String: Int] == ["A": 2, "B": 1, "limited": 1])
            #expect(stats["byModel"] as? [String: Int] == [model: 4])
            #expect(stats["maxInFlight"] as? Int == 1)
            #expect(stats["rateLimited"] as? Int == 1)
            #expect(stats["keyInURL"] as? Int == 1)
            #expect(server.statistics.requestCount == 4)
        }
    }

    @Test("servers run side by side on their own ports and keys, and refuse connections after shutdown")
    func sideBySide() async throws {
        var servers: [Server] = []
        for index in 0..<3 {
            servers.append(try await Server.start(.init(apiKey: "key-\(index)")))
        }
        #expect(Set(servers.map(\.port)).count == 3)
        for (index, server) in servers.enumerated() {
            #expect(server.baseURL == "http://127.0.0.1:\(server.port)")
            #expect(try await exchange(server, body: requestBody(prompt: "p"), key: "key-\(index)").status == 200)
            #expect(
                try await exchange(server, body: requestBody(prompt: "p"), key: "key-\((index + 1) % 3)").status == 400
            )
        }
        for server in servers { try await server.shutdown() }
        for server in servers {
            let port = server.port
            #expect(throws: RawHTTPError.connect(errno: ECONNREFUSED)) {
                _ = try RawConnection(port: port)
            }
        }
        try await servers[0].shutdown()  // A second shutdown does nothing.
    }

    @Test("shutdown closes connections whose reply hangs")
    func shutdownClosesHungConnections() async throws {
        let server = try await Server.start(.init { _ in .hang })
        let port = server.port
        let connection = try await blocking {
            let connection = try RawConnection(port: port)
            try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "p")))
            return connection
        }
        defer { connection.close() }
        try await server.waitForRequests(1)
        try await server.shutdown()
        #expect(try await blocking { try connection.readToEOF() }.isEmpty)
        #expect(server.statistics.requests.first?.disposition == .abandoned)
        #expect(server.statistics.openConnections == 0)
    }

    // MARK: Fault mix

    @Test("the realistic fault mix is reproducible, has every fault, and lets each prompt succeed after k failures")
    func faultMix() {
        let mix = Server.FaultMix.realistic(seed: 7, maxFailuresPerPrompt: 2)
        let again = Server.FaultMix.realistic(seed: 7, maxFailuresPerPrompt: 2)
        let other = Server.FaultMix.realistic(seed: 8, maxFailuresPerPrompt: 2)
        var tally: [String: Int] = [:]
        var differsFromOtherSeed = false
        let prompts = 4000
        for index in 0..<prompts {
            for attempt in 1...4 {
                let request = Server.Request(model: model, prompt: "chapter \(index)", attempt: attempt)
                let kind = String(describing: mix.reply(for: request).kind)
                #expect(kind == String(describing: again.reply(for: request).kind))
                if kind != String(describing: other.reply(for: request).kind) { differsFromOtherSeed = true }
                if attempt > 2 {
                    #expect(kind.hasPrefix("success"))
                } else if attempt == 1 {
                    tally[kind, default: 0] += 1
                }
            }
        }
        #expect(differsFromOtherSeed)
        func share(_ prefix: String) -> Double {
            Double(tally.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +)) / Double(prompts)
        }
        #expect((0.08...0.12).contains(share("status(code: 503")))
        #expect((0.035...0.065).contains(share("status(code: 500")))
        #expect((0.035...0.065).contains(share("rateLimited(retryDelay: Optional(\"1s\")")))
        #expect((0.02...0.04).contains(share("emptyParts")))
        #expect((0.01...0.03).contains(share("malformedJSON")))
        #expect((0.003...0.02).contains(share("connectionReset")))
        #expect((0.68...0.80).contains(share("success")))
    }

    @Test("a client that retries finishes every prompt against the realistic fault mix")
    func faultMixOnTheWire() async throws {
        let mix = Server.FaultMix.realistic(seed: 3, maxFailuresPerPrompt: 2)
        try await withServer(.init(reply: mix.reply(for:))) { server in
            let prompts = (1...30).map { "chapter \($0)" }
            var requests = 0
            for prompt in prompts {
                var finished = false
                for _ in 1...3 where !finished {
                    requests += 1
                    guard let response = try? await exchange(server, body: requestBody(prompt: prompt)),
                        response.status == 200, let json = try? response.json(),
                        let text = dig(json, "candidates", 0, "content", "parts", 0, "text") as? String
                    else { continue }
                    #expect(text.contains(prompt))
                    finished = true
                }
                #expect(finished, "\(prompt) did not succeed in 3 attempts")
            }
            #expect(server.statistics.requestCount == requests)
            #expect(requests > prompts.count, "seed 3 should inject at least one fault in 30 prompts")
        }
    }
}
