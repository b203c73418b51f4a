import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

@Suite("Classifying Gemini's answers")
struct GeminiWireTests {
    func classify(_ status: Int, _ json: String) -> Result<ChapterResponse, ProviderError> {
        GeminiWire.classify(status: status, body: Array(json.utf8))
    }

    @Test("text with finishReason STOP is a success; thought parts are skipped; usage is read")
    func success() throws {
        let result = classify(
            200,
            """
            {"candidates": [{"content": {"role": "model", "parts": [
                {"text": "Thinking about it...", "thought": true},
                {"text": "## Intro\\n"}, {"text": "Body."}]},
              "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 812, "candidatesTokenCount": 2110, "thoughtsTokenCount": 1028, "totalTokenCount": 3950},
             "modelVersion": "gemini-2.5-flash", "responseId": "abc"}
            """
        )
        let response = try result.get()
        #expect(response.text == "## Intro\nBody.")
        #expect(response.usage == Usage(promptTokens: 812, outputTokens: 2110, thinkingTokens: 1028))
        #expect(response.modelVersion == "gemini-2.5-flash")
    }

    @Test("an answer with no parts is retried, never published", arguments: ["STOP"])
    func emptyParts(reason: String) {
        let result = classify(200, #"{"candidates": [{"content": {"role": "model"}, "finishReason": "\#(reason)"}]}"#)
        #expect(result.failureValue?.disposition == .retry)
    }

    @Test("MAX_TOKENS is retried with a larger budget, with or without text")
    func maxTokens() {
        let empty = classify(
            200,
            #"{"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}], "usageMetadata": {"thoughtsTokenCount": 8192}}"#
        )
        #expect(empty.failureValue?.disposition == .retryWithLargerBudget)
        #expect(empty.failureValue?.usage?.thinkingTokens == 8192)
        let cut = classify(
            200,
            #"{"candidates": [{"content": {"parts": [{"text": "half a chap"}]}, "finishReason": "MAX_TOKENS"}]}"#
        )
        #expect(cut.failureValue?.disposition == .retryWithLargerBudget)
    }

    @Test("a blocked prompt fails fast with the reason")
    func blocked() {
        let result = classify(
            200,
            #"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}}"#
        )
        #expect(result.failureValue?.disposition == .fatal)
        #expect(result.failureValue?.message.contains("SAFETY") == true)
    }

    @Test(
        "other finish reasons fail fast, unknown ones included",
        arguments: ["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "OTHER", "SOMETHING_NEW"]
    )
    func otherFinishReasons(reason: String) {
        let result = classify(
            200,
            #"{"candidates": [{"content": {"parts": [{"text": "partial"}]}, "finishReason": "\#(reason)"}]}"#
        )
        #expect(result.failureValue?.disposition == .fatal)
        #expect(result.failureValue?.message.contains(reason) == true)
    }

    @Test(
        "truncated or malformed JSON is retried",
        arguments: [#"{"candidates": [{"content": {"parts": [{"text": "Hel"#, "<html>502</html>", ""]
    )
    func malformed(body: String) {
        #expect(classify(200, body).failureValue?.disposition == .retry)
    }

    @Test("transient HTTP statuses are retried", arguments: [408, 429, 500, 502, 503, 504])
    func retryableStatuses(status: Int) {
        let result = classify(
            status,
            #"{"error": {"code": \#(status), "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#
        )
        #expect(result.failureValue?.disposition == .retry)
        #expect(result.failureValue?.httpStatus == status)
        #expect(result.failureValue?.message.contains("overloaded") == true)
    }

    @Test(
        "client errors fail fast with the API's own message; a refused key, permission or model stops everything",
        arguments: [
            (400, ProviderError.Disposition.fatal), (401, .stopEverything), (403, .stopEverything),
            (404, .stopEverything),
        ]
    )
    func fatalStatuses(status: Int, disposition: ProviderError.Disposition) {
        let result = classify(
            status,
            #"{"error": {"code": \#(status), "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}}"#
        )
        #expect(result.failureValue?.disposition == disposition)
        #expect(result.failureValue?.message.contains("models/gemini-9 is not found") == true)
    }

    @Test("the key and model check: 200 accepts; the refusals stop everything; other failures are no verdict")
    func modelCheck() {
        #expect(GeminiWire.classifyModelCheck(status: 200, body: Array(#"{"name": "models/gemini-2.5-flash"}"#.utf8)) == nil)
        let missing = #"{"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}"#
        #expect(GeminiWire.classifyModelCheck(status: 404, body: Array(missing.utf8))?.disposition == .stopEverything)
        let overloaded = #"{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}"#
        #expect(GeminiWire.classifyModelCheck(status: 503, body: Array(overloaded.utf8))?.disposition == .retry)
    }

    @Test(
        "the model check stops only on the API's own refusals; a gateway's 404 or 405, or an unknown route, is no verdict",
        arguments: [
            (400, #"{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}"#, true),
            (400, #"{"error": {"code": 400, "message": "Invalid JSON payload.", "status": "INVALID_ARGUMENT"}}"#, false),
            (401, #"{"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}"#, true),
            (403, #"{"error": {"code": 403, "message": "Method doesn't allow unregistered callers.", "status": "PERMISSION_DENIED"}}"#, true),
            (404, #"{"error": {"code": 404, "message": "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", "status": "NOT_FOUND"}}"#, true),
            (404, #"{"error": {"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}}"#, false),
            (404, "404 page not found\n", false),
            (404, "<html><body><h1>404 Not Found</h1>nginx</body></html>", false),
            (405, "Method Not Allowed", false),
            (403, "<html>Forbidden by the proxy</html>", false),
            (502, "Bad Gateway", false),
        ] as [(Int, String, Bool)]
    )
    func modelCheckVerdicts(status: Int, body: String, stops: Bool) {
        let error = GeminiWire.classifyModelCheck(status: status, body: Array(body.utf8))
        #expect(error?.disposition == (stops ? .stopEverything : .retry))
    }

    @Test("a refused key says so")
    func invalidKey() {
        let result = classify(
            400,
            """
            {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
              "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}
            """
        )
        #expect(result.failureValue?.disposition == .stopEverything)
        #expect(result.failureValue?.message.contains("GEMINI_API_KEY") == true)
    }

    @Test("a 429 carries RetryInfo's delay")
    func retryInfo() throws {
        let result = classify(
            429,
            """
            {"error": {"code": 429, "message": "You exceeded your current quota. Please retry in 11.769242877s.", "status": "RESOURCE_EXHAUSTED",
              "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-PaidTier"}]},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "11.769242877s"}]}}
            """
        )
        let error = try #require(result.failureValue)
        #expect(error.disposition == .retry)
        #expect(error.isRateLimit)
        #expect(error.retryDelay == .milliseconds(11_770))
    }

    @Test("a 429 without RetryInfo uses the message's hint")
    func retryHint() {
        let result = classify(
            429,
            #"{"error": {"code": 429, "message": "Quota exceeded. Please retry in 39.478s.", "status": "RESOURCE_EXHAUSTED"}}"#
        )
        #expect(result.failureValue?.retryDelay == .milliseconds(39_478))
    }

    @Test("a 429 on a per-day quota stops for the day")
    func dailyQuota() {
        let result = classify(
            429,
            """
            {"error": {"code": 429, "message": "You exceeded your current quota.", "status": "RESOURCE_EXHAUSTED",
              "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                          {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "15s"}]}}
            """
        )
        #expect(result.failureValue?.disposition == .dailyQuotaExhausted)
        #expect(result.failureValue?.message.contains("midnight Pacific") == true)
    }

    @Test(
        "protobuf durations parse",
        arguments: [("15s", 15_000), ("11.769242877s", 11_770), ("0s", 0), ("0.5s", 500)]
    )
    func durations(text: String, milliseconds: Int64) {
        #expect(GeminiWire.parseDuration(text) == .milliseconds(milliseconds))
    }

    @Test("bad durations are ignored", arguments: ["15", "s", "-3s", "abc", "1e400s"])
    func badDurations(text: String) {
        #expect(GeminiWire.parseDuration(text) == nil)
    }

    @Test("the request body is Gemini's camelCase shape (a 2.5 model: temperature and thinkingBudget)")
    func requestShape() throws {
        let outline = Outline(title: "T", language: "de", words: 900, chapters: [.init(title: "Eins", points: ["a"])])
        let request = ChapterRequest(settings: GenerationSettings(model: "gemini-2.5-flash-lite"), outline: outline, index: 0)
        let json = String(decoding: try JSONEncoderForTests.encode(GeminiWire.Request(request)), as: UTF8.self)
        #expect(json.contains(#""systemInstruction":{"parts":[{"text":"#))
        #expect(json.contains(#""contents":[{"parts":[{"text":"#))
        #expect(json.contains(#""role":"user""#))
        #expect(
            json.contains(
                #""generationConfig":{"maxOutputTokens":8192,"temperature":0.7,"thinkingConfig":{"thinkingBudget":1024}}"#
            )
        )
        // The default, a Gemini 3 model: neither, and no empty thinkingConfig.
        let current = ChapterRequest(settings: GenerationSettings(), outline: outline, index: 0)
        let currentJSON = String(decoding: try JSONEncoderForTests.encode(GeminiWire.Request(current)), as: UTF8.self)
        #expect(currentJSON.contains(#""generationConfig":{"maxOutputTokens":8192}"#), "\(currentJSON)")
    }

    @Test("a page of models.list: names without models/, what they support, and the next page's token")
    func modelPage() throws {
        let body = #"""
            {"models": [{"name": "models/gemini-3.8-flash", "displayName": "Gemini 3.8 Flash",
                         "supportedGenerationMethods": ["generateContent", "countTokens"]},
                        {"name": "models/gemini-embedding-001", "supportedGenerationMethods": ["embedContent"]}],
             "nextPageToken": "abc"}
            """#
        let page = try GeminiWire.classifyModelPage(status: 200, body: Array(body.utf8)).get()
        #expect(page.models.map(\.name) == ["gemini-3.8-flash", "gemini-embedding-001"])
        #expect(page.models.map(\.generatesContent) == [true, false])
        #expect(page.models.first?.displayName == "Gemini 3.8 Flash")
        #expect(page.next == "abc")
        let last = try GeminiWire.classifyModelPage(status: 200, body: Array(#"{"models": [], "nextPageToken": ""}"#.utf8)).get()
        #expect(last.next == nil && last.models.isEmpty)
    }
}
