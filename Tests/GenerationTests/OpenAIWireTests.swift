import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

/// An answer of OpenAI's shape with `content` (JSON, or null) and `finishReason`.
private func completion(
    _ content: String?,
    finishReason: String?,
    usage: String =
        #"{"prompt_tokens": 812, "completion_tokens": 3100, "completion_tokens_details": {"reasoning_tokens": 1000}}"#,
    extraMessage: String = ""
) -> String {
    let contentJSON = content.map { #""\#($0)""# } ?? "null"
    let reasonJSON = finishReason.map { #""\#($0)""# } ?? "null"
    return """
        {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": \(contentJSON)\(extraMessage)},
                      "finish_reason": \(reasonJSON)}],
         "usage": \(usage)}
        """
}

/// An error answer in OpenAI's shape.
private func openAIError(_ message: String, type: String = "invalid_request_error", code: String? = nil) -> String {
    let codeJSON = code.map { #""\#($0)""# } ?? "null"
    return #"{"error": {"message": "\#(message)", "type": "\#(type)", "param": null, "code": \#(codeJSON)}}"#
}

@Suite("Classifying OpenAI-compatible answers")
struct OpenAIWireTests {
    func classify(
        _ status: Int,
        _ body: String,
        limits: RateLimitHeaders = RateLimitHeaders()
    ) -> Result<ChapterResponse, ProviderError> {
        OpenAIWire.classify(status: status, limits: limits, body: Array(body.utf8))
    }

    @Test("content with finish_reason stop is a success; reasoning tokens count as thinking, not output")
    func success() throws {
        let response = try classify(200, completion("## Intro\\nBody.", finishReason: "stop")).get()
        #expect(response.text == "## Intro\nBody.")
        #expect(response.usage == Usage(promptTokens: 812, outputTokens: 2100, thinkingTokens: 1000))
        #expect(response.modelVersion == "gpt-4o-mini-2024-07-18")
    }

    @Test("usage without details (Ollama) is all output; no usage at all is unknown, never zero")
    func usageShapes() throws {
        let ollama = try classify(
            200,
            completion(
                "Text.",
                finishReason: "stop",
                usage: #"{"prompt_tokens": 20, "completion_tokens": 300, "total_tokens": 320}"#
            )
        ).get()
        #expect(ollama.usage == Usage(promptTokens: 20, outputTokens: 300))
        let bare = try classify(200, #"{"choices": [{"message": {"content": "Text."}, "finish_reason": "stop"}]}"#)
            .get()
        #expect(bare.usage == .notReported)
        let price = Price(inputPerMillion: 1, outputPerMillion: 1, thinkingPerMillion: 1)
        let cost = CostEstimate(bare.usage + ollama.usage, at: price)
        #expect(!cost.isComplete && cost.field == "unknown")
        #expect(cost.summary == "at least $0.0003 (tokens not reported by the server for 1 answer)")
        #expect(CostEstimate(bare.usage, at: price).summary == "unknown (tokens not reported by the server for 1 answer)")
        #expect(bare.usage.summary == "not reported by the server (1 answer)")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var body: String
        var disposition: ProviderError.Disposition
        var overloaded = false
        /// Words the message must hold (the server's own, or the advice).
        var says: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty content", status: 200, body: completion("", finishReason: "stop"), disposition: .retry),
        Case(name: "null content", status: 200, body: completion(nil, finishReason: "stop"), disposition: .retry),
        Case(
            name: "whitespace only",
            status: 200,
            body: completion("\\n  ", finishReason: "stop"),
            disposition: .retry
        ),
        Case(
            name: "finish_reason length",
            status: 200,
            body: completion("half a chap", finishReason: "length"),
            disposition: .retryWithLargerBudget,
            says: ["length"]
        ),
        Case(
            name: "content_filter",
            status: 200,
            body: completion("", finishReason: "content_filter"),
            disposition: .fatal,
            says: ["content filter", "reword"]
        ),
        Case(
            name: "a refusal",
            status: 200,
            body: completion(nil, finishReason: "stop", extraMessage: #", "refusal": "I can't help with that.""#),
            disposition: .fatal,
            says: ["refused", "I can't help with that."]
        ),
        Case(
            name: "another finish_reason",
            status: 200,
            body: completion("partial", finishReason: "tool_calls"),
            disposition: .fatal,
            says: ["tool_calls"]
        ),
        Case(name: "no finish_reason", status: 200, body: completion("text", finishReason: nil), disposition: .retry),
        Case(name: "no choices", status: 200, body: #"{"choices": []}"#, disposition: .retry),
        Case(
            name: "truncated JSON",
            status: 200,
            body: #"{"choices": [{"message": {"content": "Hel"#,
            disposition: .retry
        ),
        Case(name: "an HTML page", status: 200, body: "<html>sign in</html>", disposition: .retry, says: ["HTML"]),
        Case(
            name: "408",
            status: 408,
            body: openAIError("Request timed out.", type: "server_error"),
            disposition: .retry
        ),
        Case(
            name: "409",
            status: 409,
            body: openAIError("The request conflicted with another request.", type: "server_error"),
            disposition: .retry
        ),
        Case(
            name: "429 rate limit",
            status: 429,
            body: openAIError("Rate limit reached for gpt-4o-mini.", type: "requests", code: "rate_limit_exceeded"),
            disposition: .retry,
            says: ["Rate limit reached", "rate_limit_exceeded"]
        ),
        Case(
            name: "429 insufficient_quota",
            status: 429,
            body: openAIError(
                "You exceeded your current quota.",
                type: "insufficient_quota",
                code: "insufficient_quota"
            ),
            disposition: .stopEverything,
            says: ["You exceeded your current quota.", "out of credit"]
        ),
        Case(
            name: "500",
            status: 500,
            body: openAIError("The server had an error.", type: "server_error"),
            disposition: .retry
        ),
        Case(name: "501, any 5xx", status: 501, body: "", disposition: .retry, says: ["no error message"]),
        Case(name: "502", status: 502, body: "<html>Bad gateway</html>", disposition: .retry),
        Case(
            name: "503",
            status: 503,
            body: openAIError("The server is overloaded or not ready yet.", type: "server_error"),
            disposition: .retry,
            overloaded: true,
            says: ["overloaded"]
        ),
        Case(name: "504", status: 504, body: "", disposition: .retry, overloaded: true),
        Case(
            name: "401 wrong key",
            status: 401,
            body: openAIError("Incorrect API key provided: sk-abc***xyz.", code: "invalid_api_key"),
            disposition: .stopEverything,
            says: ["Incorrect API key provided", "OPENAI_API_KEY", "openai-api-key"]
        ),
        Case(
            name: "403",
            status: 403,
            body: openAIError(
                "Country, region, or territory not supported",
                code: "unsupported_country_region_territory"
            ),
            disposition: .stopEverything,
            says: ["Country, region, or territory not supported"]
        ),
        Case(
            name: "404 model_not_found",
            status: 404,
            body: openAIError(
                "The model `gpt-9` does not exist or you do not have access to it.",
                code: "model_not_found"
            ),
            disposition: .stopEverything,
            says: ["The model `gpt-9` does not exist", "model_not_found", "base URL"]
        ),
        Case(
            name: "404 from Ollama",
            status: 404,
            body:
                #"{"error": {"message": "model \"llama9\" not found, try pulling it first", "type": "not_found_error", "param": null, "code": null}}"#,
            disposition: .stopEverything,
            says: ["try pulling it first"]
        ),
        Case(
            name: "400 with the server's message",
            status: 400,
            body: openAIError("This model's maximum context length is 8192 tokens."),
            disposition: .fatal,
            says: ["maximum context length is 8192"]
        ),
        Case(
            name: "400 from older vLLM (top-level error)",
            status: 400,
            body:
                #"{"object": "error", "message": "max_tokens must be at least 1", "type": "BadRequestError", "param": null, "code": 400}"#,
            disposition: .fatal,
            says: ["max_tokens must be at least 1"]
        ),
        Case(
            name: "422 from a FastAPI server",
            status: 422,
            body: #"{"detail": "Unprocessable request"}"#,
            disposition: .fatal,
            says: ["Unprocessable request"]
        ),
        Case(
            name: "400 with an error string",
            status: 400,
            body: #"{"error": "messages must not be empty"}"#,
            disposition: .fatal,
            says: ["messages must not be empty"]
        ),
    ]

    @Test("every outcome is classified once: success, retry, larger budget, fatal, stop everything", arguments: cases)
    func classification(_ example: Case) throws {
        let error = try #require(classify(example.status, example.body).failureValue)
        #expect(error.disposition == example.disposition)
        #expect(error.overloaded == example.overloaded)
        #expect(error.httpStatus == example.status)
        for words in example.says {
            #expect(error.message.contains(words), "\(error.message)")
        }
    }

    @Test("a 429 waits for retry-after-ms, else Retry-After, else the reset headers, else the message's hint")
    func rateLimitDelay() throws {
        let body = openAIError(
            "Rate limit reached. Please try again in 6m0s. Visit ...",
            type: "requests",
            code: "rate_limit_exceeded"
        )
        let both = RateLimitHeaders(
            [
                ("Retry-After", "2"), ("retry-after-ms", "1500"), ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "9s"),
            ],
            now: Date()
        )
        #expect(classify(429, body, limits: both).failureValue?.retryDelay == .milliseconds(1500))
        #expect(classify(429, body, limits: both).failureValue?.isRateLimit == true)
        let seconds = RateLimitHeaders(
            [("retry-after", "2"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "9s")],
            now: Date()
        )
        #expect(classify(429, body, limits: seconds).failureValue?.retryDelay == .seconds(2))
        let resets = RateLimitHeaders(
            [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "9s")],
            now: Date()
        )
        #expect(classify(429, body, limits: resets).failureValue?.retryDelay == .seconds(9))
        #expect(classify(429, body).failureValue?.retryDelay == .seconds(360))
        let silent = openAIError("Rate limit reached.", type: "requests", code: "rate_limit_exceeded")
        #expect(classify(429, silent).failureValue?.retryDelay == nil)
    }

    @Test("a Retry-After on a 503 is kept for that request")
    func retryAfterOn503() {
        let limits = RateLimitHeaders([("Retry-After", "7")], now: Date())
        let error = classify(503, openAIError("overloaded", type: "server_error"), limits: limits).failureValue
        #expect(error?.retryDelay == .seconds(7))
        #expect(error?.isRateLimit == false, "only a 429 pauses every submission")
    }

    @Test(
        "the key and model check: 200 accepts; 401, 403 and a JSON model_not_found stop everything; anything else is no verdict",
        arguments: [
            (200, #"{"id": "gpt-4o-mini", "object": "model"}"#, nil),
            (200, "not even JSON", nil),
            (
                401, openAIError("Incorrect API key provided.", code: "invalid_api_key"),
                ProviderError.Disposition.stopEverything
            ),
            (403, "<html>Forbidden</html>", .stopEverything),
            (404, openAIError("The model `gpt-9` does not exist.", code: "model_not_found"), .stopEverything),
            (404, openAIError("Invalid URL (GET /v1/models/gpt-9)"), .retry),
            (404, #"{"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}"#, .retry),
            (404, "<html>404 page not found</html>", .retry),
            (404, #"{"detail": "Not Found"}"#, .retry),
            (405, #"{"detail": "Method Not Allowed"}"#, .retry),
            (500, openAIError("oops", type: "server_error"), .retry),
        ] as [(Int, String, ProviderError.Disposition?)]
    )
    func modelCheck(status: Int, body: String, disposition: ProviderError.Disposition?) {
        #expect(OpenAIWire.classifyModelCheck(status: status, body: Array(body.utf8))?.disposition == disposition)
    }

    @Test(
        "a refusal of max_completion_tokens is recognised whichever way the server words it",
        arguments: [
            (
                400,
                openAIError(
                    "Unsupported parameter: 'max_completion_tokens' is not supported with this model. Use 'max_tokens' instead."
                ), true
            ),
            (400, openAIError("Unrecognized request argument supplied: max_completion_tokens"), true),
            (
                422, #"{"detail": [{"loc": ["body", "max_completion_tokens"], "msg": "extra fields not permitted"}]}"#,
                true
            ),
            (400, openAIError("Unsupported parameter: 'max_tokens' is not supported with this model."), false),
            (400, openAIError("This model's maximum context length is 8192 tokens."), false),
            (500, openAIError("max_completion_tokens broke something"), false),
        ]
    )
    func maxCompletionTokensRefused(status: Int, body: String, refused: Bool) {
        #expect(OpenAIWire.rejectsMaxCompletionTokens(status: status, body: Array(body.utf8)) == refused)
    }

    @Test(
        "the request has system and user messages, the budget under the chosen name, and usage asked for when streaming"
    )
    func requestShape() throws {
        let outline = Outline(title: "T", language: "de", words: 900, chapters: [.init(title: "Eins", points: ["a"])])
        let settings = GenerationSettings(provider: "openai", model: "llama3.1:8b")
        let request = ChapterRequest(settings: settings, outline: outline, index: 0)
        func json(_ budget: OpenAIWire.OutputBudget, stream: Bool) throws -> [String: Any] {
            let data = try JSONEncoder().encode(OpenAIWire.Request(request, budget: budget, stream: stream))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let streamed = try json(.maxCompletionTokens, stream: true)
        #expect(streamed["model"] as? String == "llama3.1:8b")
        #expect(dig(streamed, "messages", 0, "role") as? String == "system")
        #expect(dig(streamed, "messages", 0, "content") as? String == request.systemInstruction)
        #expect(dig(streamed, "messages", 1, "role") as? String == "user")
        #expect(dig(streamed, "messages", 1, "content") as? String == request.prompt)
        #expect(streamed["temperature"] as? Double == 0.7)
        #expect(streamed["max_completion_tokens"] as? Int == request.maxOutputTokens)
        #expect(streamed["max_tokens"] == nil)
        #expect(streamed["stream"] as? Bool == true)
        #expect(dig(streamed, "stream_options", "include_usage") as? Bool == true)
        let whole = try json(.maxTokens, stream: false)
        #expect(whole["max_tokens"] as? Int == request.maxOutputTokens)
        #expect(whole["max_completion_tokens"] == nil)
        #expect(whole["stream"] == nil && whole["stream_options"] == nil)
        #expect(Set(whole.keys) == ["model", "messages", "temperature", "max_tokens"], "no thinking budget is sent")
    }

    @Test(
        "model names of OpenAI, Ollama, llama.cpp and vLLM pass; path tricks and odd characters do not",
        arguments: [
            ("gpt-4o-mini", true), ("llama3.1:8b", true), ("qwen2.5:14b-instruct-q4_K_M", true),
            ("ft:gpt-4o-mini:org::abc123", true), ("meta-llama/Llama-3.1-8B-Instruct", true), ("o4-mini", true),
            ("../evil", false), ("a/../b", false), ("./a", false), ("/abs", false), ("a//b", false), ("a/", false),
            ("", false), ("gpt 4", false), ("gpt?x=1", false), ("gpt#4", false), ("modèle", false), ("a%2Fb", false),
        ]
    )
    func modelNames(name: String, isValid: Bool) {
        #expect(OpenAIProvider.isValidModelName(name) == isValid)
    }
}

@Suite("Rate-limit headers")
struct RateLimitHeadersTests {
    @Test(
        "Go durations as OpenAI's reset headers write them",
        arguments: [
            ("20ms", 20), ("1s", 1000), ("8.64s", 8640), ("6m0s", 360_000), ("1h2m3.5s", 3_723_500), ("0s", 0),
            ("0", 0), ("1.5m", 90_000), ("250us", 1), ("999ns", 1), ("48h", 86_400_000),
        ] as [(String, Int64)]
    )
    func goDurations(text: String, milliseconds: Int64) {
        #expect(RateLimitHeaders.parseGoDuration(text) == .milliseconds(milliseconds))
    }

    @Test(
        "anything else is no duration",
        arguments: ["", "s", "-1s", "1", "1x", "1.2.3s", "ms", "1s2", " 1s", "one second"]
    )
    func badGoDurations(text: String) {
        #expect(RateLimitHeaders.parseGoDuration(text) == nil)
    }

    @Test("Retry-After is seconds or an HTTP date counted from now; retry-after-ms wins over it")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 1_767_225_600)  // Thu, 01 Jan 2026 00:00:00 GMT
        #expect(RateLimitHeaders.parseRetryAfter("120", now: now) == .seconds(120))
        #expect(RateLimitHeaders.parseRetryAfter("1.5", now: now) == .milliseconds(1500))
        #expect(RateLimitHeaders.parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now: now) == .seconds(30))
        #expect(RateLimitHeaders.parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now: now) == .zero, "a date past")
        #expect(RateLimitHeaders.parseRetryAfter("-5", now: now) == nil)
        #expect(RateLimitHeaders.parseRetryAfter("soon", now: now) == nil)
        #expect(RateLimitHeaders.parseRetryAfter("99999999", now: now) == RateLimitHeaders.longestWait)
        let both = RateLimitHeaders([("Retry-After", "2"), ("Retry-After-Ms", "1234.5")], now: now)
        #expect(both.retryAfter == .milliseconds(1235))
        #expect(RateLimitHeaders([("retry-after", "3")], now: now).retryAfter == .seconds(3))
        #expect(RateLimitHeaders([("retry-after-ms", "x"), ("retry-after", "3")], now: now).retryAfter == .seconds(3))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var headers: [(String, String)]
        var pause: Duration?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no headers (a local server)", headers: [], pause: nil),
        Case(
            name: "requests left",
            headers: [("x-ratelimit-remaining-requests", "4"), ("x-ratelimit-reset-requests", "12s")],
            pause: nil
        ),
        Case(
            name: "no request left",
            headers: [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "12s")],
            pause: .seconds(12)
        ),
        Case(
            name: "no token left",
            headers: [
                ("x-ratelimit-remaining-requests", "10"), ("x-ratelimit-reset-requests", "1s"),
                ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "6m0s"),
            ],
            pause: .seconds(360)
        ),
        Case(
            name: "both used up: the later reset",
            headers: [
                ("X-RateLimit-Remaining-Requests", "0"), ("X-RateLimit-Reset-Requests", "20ms"),
                ("X-RateLimit-Remaining-Tokens", "0"), ("X-RateLimit-Reset-Tokens", "1.5s"),
            ],
            pause: .milliseconds(1500)
        ),
        Case(
            name: "used up, but no reset said",
            headers: [("x-ratelimit-remaining-requests", "0")],
            pause: nil
        ),
        Case(
            name: "a reset without remaining",
            headers: [("x-ratelimit-reset-requests", "12s")],
            pause: nil
        ),
        Case(
            name: "unreadable values",
            headers: [("x-ratelimit-remaining-requests", "none"), ("x-ratelimit-reset-requests", "soon")],
            pause: nil
        ),
    ]

    @Test("a limit with nothing left holds back submissions until it refills; anything else does not", arguments: cases)
    func quotaPause(_ example: Case) {
        #expect(
            RateLimitHeaders(example.headers.map { (name: $0.0, value: $0.1) }, now: Date()).quotaPause == example.pause
        )
    }
}
