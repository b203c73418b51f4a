import Foundation

/// The chat completions JSON of OpenAI and the servers that copy it (Ollama, llama.cpp's server,
/// vLLM, LM Studio), as much of it as coursegen sends and reads.
enum OpenAIWire {
    /// Which name the output budget is sent under. `max_completion_tokens` is OpenAI's current
    /// one (its reasoning models refuse `max_tokens`); some servers refuse it and want the older
    /// `max_tokens`.
    enum OutputBudget: Sendable, Hashable {
        case maxCompletionTokens
        case maxTokens
    }

    struct Request: Encodable {
        struct Message: Encodable {
            var role: String
            var content: String
        }
        struct StreamOptions: Encodable {
            var includeUsage: Bool
            enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
        }
        var model: String
        var messages: [Message]
        /// Always set for OpenAI-compatible servers (see `SentSettings`); left out when nil.
        var temperature: Double?
        var maxCompletionTokens: Int?
        var maxTokens: Int?
        /// Left out (nil) when not streaming: some servers refuse `stream_options` then.
        var stream: Bool?
        var streamOptions: StreamOptions?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature, stream
            case maxCompletionTokens = "max_completion_tokens"
            case maxTokens = "max_tokens"
            case streamOptions = "stream_options"
        }

        /// The system instruction and the prompt as `system` and `user` messages; the output
        /// budget under `budget`'s name. The thinking budget has no counterpart here and is not
        /// sent (a reasoning model's thinking is counted in its output budget).
        /// - Parameter stream: ask for a stream of chunks that ends with its usage.
        init(_ request: ChapterRequest, budget: OutputBudget, stream: Bool) {
            model = request.model
            messages = [
                Message(role: "system", content: request.systemInstruction),
                Message(role: "user", content: request.prompt),
            ]
            temperature = request.temperature
            maxCompletionTokens = budget == .maxCompletionTokens ? request.maxOutputTokens : nil
            maxTokens = budget == .maxTokens ? request.maxOutputTokens : nil
            self.stream = stream ? true : nil
            streamOptions = stream ? StreamOptions(includeUsage: true) : nil
        }
    }

    struct TokenUsage: Decodable {
        struct Details: Decodable {
            var reasoningTokens: Int?
            enum CodingKeys: String, CodingKey { case reasoningTokens = "reasoning_tokens" }
        }
        var promptTokens: Int?
        /// Output tokens, reasoning included.
        var completionTokens: Int?
        var completionTokensDetails: Details?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case completionTokensDetails = "completion_tokens_details"
        }

        /// As coursegen counts tokens: output without the reasoning, which is counted as thinking
        /// (as Gemini reports them), so output plus thinking is what the API bills as output.
        var usage: Usage {
            let reasoning = completionTokensDetails?.reasoningTokens ?? 0
            return Usage(
                promptTokens: promptTokens ?? 0,
                outputTokens: max((completionTokens ?? 0) - reasoning, 0),
                thinkingTokens: reasoning
            )
        }
    }

    /// A whole (non-streamed) answer.
    struct Response: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                var content: String?
                /// OpenAI's refusal text, when the model declined.
                var refusal: String?
            }
            var message: Message?
            var finishReason: String?
            enum CodingKeys: String, CodingKey {
                case message
                case finishReason = "finish_reason"
            }
        }
        var choices: [Choice]?
        var usage: TokenUsage?
        var model: String?
    }

    /// One `chat.completion.chunk` of a stream.
    struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                var content: String?
                /// vLLM's and DeepSeek's reasoning text.
                var reasoningContent: String?
                /// Ollama's (and newer vLLM's) reasoning text.
                var reasoning: String?
                var refusal: String?
                enum CodingKeys: String, CodingKey {
                    case content, reasoning, refusal
                    case reasoningContent = "reasoning_content"
                }
            }
            var delta: Delta?
            var finishReason: String?
            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }
        var choices: [Choice]?
        var usage: TokenUsage?
        var model: String?
    }

    /// An error answer, from whichever shape the server used.
    struct ErrorBody: Sendable, Hashable {
        var message: String?
        var type: String?
        var param: String?
        /// OpenAI's code ("model_not_found", "insufficient_quota"), or the HTTP status some
        /// servers put there as a number (llama.cpp, vLLM), as text.
        var code: String?

        /// Reads `{"error": {"message", "type", "param", "code"}}` (OpenAI, Ollama, llama.cpp,
        /// vLLM), `{"error": "text"}`, `{"object": "error", "message": ...}` (older vLLM) and
        /// `{"detail": "text"}` (FastAPI servers).
        /// - Returns: nil when `bytes` is not a JSON object of one of these shapes.
        init?(_ bytes: [UInt8]) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                return nil
            }
            func text(_ value: Any?) -> String? {
                switch value {
                case let string as String: string
                case let number as NSNumber: number.stringValue
                default: nil
                }
            }
            if let error = object["error"] as? [String: Any] {
                self.init(
                    message: text(error["message"]),
                    type: text(error["type"]),
                    param: text(error["param"]),
                    code: text(error["code"])
                )
            } else if let message = object["error"] as? String {
                self.init(message: message)
            } else if text(object["object"]) == "error" {
                self.init(
                    message: text(object["message"]),
                    type: text(object["type"]),
                    param: text(object["param"]),
                    code: text(object["code"])
                )
            } else if let detail = text(object["detail"]) {
                self.init(message: detail)
            } else {
                return nil
            }
        }

        init(message: String? = nil, type: String? = nil, param: String? = nil, code: String? = nil) {
            self.message = message
            self.type = type
            self.param = param
            self.code = code
        }
    }
}

extension OpenAIWire {
    /// Classifies one HTTP exchange with `POST {base}/chat/completions`. Pure: the whole policy
    /// for what is a success, what is retried and what fails fast lives here.
    ///
    /// - Success only with non-empty content and `finish_reason: "stop"`.
    /// - Retried: 408, 409, 429 (unless out of credit), every 5xx (503 and 504 as signs of
    ///   overload), an empty content, no `finish_reason`, a body that is not the JSON it should
    ///   be; `finish_reason: "length"` with a larger budget.
    /// - Stopping every submission: 401 and 403 (the key or its permission refused), 404 (no
    ///   such model, or a base URL that is no chat completions API: no request can succeed), and
    ///   a 429 `insufficient_quota` (out of credit).
    /// - Fatal, with the server's own message: other 4xx, `content_filter`, a refusal and any
    ///   other `finish_reason`.
    /// - Parameter limits: the answer's headers, for `Retry-After` and the rate-limit resets.
    static func classify(status: Int, limits: RateLimitHeaders, body: [UInt8]) -> Result<ChapterResponse, ProviderError>
    {
        guard status == 200 else {
            return .failure(classifyError(status: status, limits: limits, body: body))
        }
        let response: Response
        do {
            response = try JSONDecoder().decode(Response.self, from: Data(body))
        } catch {
            return .failure(notJSON(body))
        }
        return classify(response)
    }

    /// Classifies a whole answer (one JSON body, or a stream's chunks merged).
    static func classify(_ response: Response) -> Result<ChapterResponse, ProviderError> {
        let usage = response.usage?.usage ?? .notReported
        guard let choice = response.choices?.first else {
            return .failure(ProviderError(.retry, "the answer has no choices", httpStatus: 200, usage: usage))
        }
        let text = choice.message?.content ?? ""
        let isEmpty = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if isEmpty, let refusal = choice.message?.refusal, !refusal.isEmpty {
            return .failure(
                ProviderError(
                    .fatal,
                    "the model refused: \(ProviderTransport.oneLine(refusal)); reword the chapter's title, points or notes",
                    httpStatus: 200,
                    usage: usage
                )
            )
        }
        switch choice.finishReason {
        case "stop":
            guard !isEmpty else {
                return .failure(
                    ProviderError(.retry, "the answer finished (stop) without any text", httpStatus: 200, usage: usage)
                )
            }
            return .success(ChapterResponse(text: text, usage: usage, modelVersion: response.model))
        case "length":
            return .failure(
                ProviderError(
                    .retryWithLargerBudget,
                    "the answer ran out of output tokens (finish_reason length) after \(usage.thinkingTokens) reasoning and \(usage.outputTokens) output tokens",
                    httpStatus: 200,
                    usage: usage
                )
            )
        case "content_filter":
            return .failure(
                ProviderError(
                    .fatal,
                    "the server's content filter stopped the answer (finish_reason content_filter); reword the chapter's title, points or notes",
                    httpStatus: 200,
                    usage: usage
                )
            )
        case nil:
            return .failure(
                ProviderError(
                    .retry,
                    "the answer has no finish_reason; it was probably cut off",
                    httpStatus: 200,
                    usage: usage
                ).markedCutOff()
            )
        case let reason?:
            return .failure(
                ProviderError(
                    .fatal,
                    "the model stopped with finish_reason \(reason); a chapter cut short is never published",
                    httpStatus: 200,
                    usage: usage
                )
            )
        }
    }

    /// The failure for a 200 whose body is not the JSON it should be (cut off, or an HTML page).
    static func notJSON(_ body: [UInt8]) -> ProviderError {
        let looksLikeHTML = body.prefix(64).contains(UInt8(ascii: "<"))
        return ProviderError(
            .retry,
            looksLikeHTML
                ? "the answer is an HTML page (\(body.count) bytes), not JSON: a proxy or the server's front end answered"
                : "the answer is not valid JSON (\(body.count) bytes); it was probably cut off",
            httpStatus: 200
        )
    }

    static func classifyError(status: Int, limits: RateLimitHeaders, body: [UInt8]) -> ProviderError {
        let error = ErrorBody(body)
        var message = error?.message.map(ProviderTransport.oneLine) ?? ""
        if let code = error?.code, !code.isEmpty, code != String(status) {
            message += message.isEmpty ? code : " (\(code))"
        }
        if message.isEmpty { message = "no error message in the answer" }

        switch status {
        case 429 where error?.code == "insufficient_quota" || error?.type == "insufficient_quota":
            // Out of credit, not over a per-minute limit: no retry helps and nothing says when it
            // ends, so stop until the operator adds credit and reloads.
            return ProviderError(
                .stopEverything,
                "\(message) (out of credit: add credit or raise the spending limit for the key's organization, then reload)",
                httpStatus: status
            )
        case 429:
            let delay =
                limits.retryAfter ?? limits.quotaPause ?? error?.message.flatMap(parseRetryHint)
            return ProviderError(.retry, message, httpStatus: status, retryDelay: delay)
        case 503, 504:
            // "The server is overloaded or not ready yet", a gateway that gave up: slow down.
            return ProviderError(.retry, message, httpStatus: status, retryDelay: limits.retryAfter, overloaded: true)
        case 408, 409, 500...599:
            return ProviderError(.retry, message, httpStatus: status, retryDelay: limits.retryAfter)
        case 401, 403:
            return ProviderError(
                .stopEverything,
                "\(message) (check the key: OPENAI_API_KEY, --api-key-file or the credential openai-api-key)",
                httpStatus: status
            )
        case 404:
            return ProviderError(
                .stopEverything,
                "\(message) (check the model name, and that the base URL is the API's, ending in /v1)",
                httpStatus: status
            )
        default:
            return ProviderError(.fatal, message, httpStatus: status)
        }
    }

    /// The error a stream sends as an event after HTTP 200, classified as the same error would be
    /// as an answer: with its numeric `code` as the status where the server gives one (llama.cpp),
    /// else 400 for an `invalid_request_error` and 500 for anything else (a server error).
    static func classifyErrorEvent(_ error: ErrorBody, body: [UInt8]) -> ProviderError {
        let status =
            error.code.flatMap { Int($0) }.flatMap { (400...599).contains($0) ? $0 : nil }
            ?? (error.type == "invalid_request_error" ? 400 : 500)
        return classifyError(status: status, limits: RateLimitHeaders(), body: body)
    }

    /// Classifies the answer to `GET {base}/models/{model}` (the key and model check): nil when
    /// both are accepted. Only an answer that no chapter request could escape stops everything:
    /// 401 or 403, or a 404 whose JSON says `model_not_found`. Any other answer, a 404 for the
    /// route itself included (llama.cpp's server has no such route), is no verdict: the chapters'
    /// own requests will tell.
    static func classifyModelCheck(status: Int, body: [UInt8]) -> ProviderError? {
        switch status {
        case 200:
            return nil
        case 401, 403:
            return classifyError(status: status, limits: RateLimitHeaders(), body: body)
        case 404 where ErrorBody(body)?.code == "model_not_found":
            return classifyError(status: status, limits: RateLimitHeaders(), body: body)
        default:
            let error = classifyError(status: status, limits: RateLimitHeaders(), body: body)
            return ProviderError(.retry, "the model check was not answered: \(error.message)", httpStatus: status)
        }
    }

    /// Whether an answer refuses the `max_completion_tokens` parameter (400, or 422 from servers
    /// that validate bodies with FastAPI, naming it): the server wants `max_tokens` instead.
    static func rejectsMaxCompletionTokens(status: Int, body: [UInt8]) -> Bool {
        guard status == 400 || status == 422 else { return false }
        return String(decoding: body, as: UTF8.self).contains("max_completion_tokens")
    }

    /// Reads "Please try again in 1.5s." (a Go duration: "20ms", "6m0s") from a 429's message,
    /// for a 429 without `Retry-After` or rate-limit headers.
    static func parseRetryHint(_ message: String) -> Duration? {
        guard let range = message.range(of: "try again in ") else { return nil }
        let duration = message[range.upperBound...].prefix { !$0.isWhitespace }
        return RateLimitHeaders.parseGoDuration(String(duration.hasSuffix(".") ? duration.dropLast() : duration))
    }
}
