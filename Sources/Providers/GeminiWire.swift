import Foundation
import Platform

/// Gemini's `generateContent` JSON, as much of it as coursegen sends and reads.
enum GeminiWire {
    struct Request: Encodable {
        struct Content: Encodable {
            var role: String?
            var parts: [Part]
        }
        struct Part: Encodable {
            var text: String
        }
        struct GenerationConfig: Encodable {
            struct ThinkingConfig: Encodable {
                /// Gemini 2.5 only; nil for Gemini 3, which refuses it.
                var thinkingBudget: Int?
                /// Gemini 3 only, as the enum's name (`LOW`); nil: the model's default.
                var thinkingLevel: String?
                /// Thought summaries: streamed while the model thinks, so a stream that is
                /// thinking is not mistaken for a stalled one. Left out when nil.
                var includeThoughts: Bool?

                var isEmpty: Bool { thinkingBudget == nil && thinkingLevel == nil && includeThoughts == nil }
            }
            /// Left out when nil (Gemini 3 deprecates it).
            var temperature: Double?
            var maxOutputTokens: Int
            /// Left out when it would be empty.
            var thinkingConfig: ThinkingConfig?
        }
        var systemInstruction: Content
        var contents: [Content]
        var generationConfig: GenerationConfig
        /// `flex` or `priority`; left out for the standard tier (python-genai puts
        /// `config.service_tier` here, beside `generationConfig`).
        var serviceTier: String?

        /// The request as `request` says: what it leaves nil is not sent (`SentSettings` decided
        /// what applies to its model).
        /// - Parameter includeThoughts: ask for thought summaries (streaming, thinking on).
        init(_ request: ChapterRequest, includeThoughts: Bool = false) {
            systemInstruction = Content(role: nil, parts: [Part(text: request.systemInstruction)])
            contents = [Content(role: "user", parts: [Part(text: request.prompt)])]
            let thinkingOn = request.thinkingBudget != 0
            let thinking = GenerationConfig.ThinkingConfig(
                thinkingBudget: request.thinkingBudget,
                thinkingLevel: request.thinkingLevel?.wireName,
                includeThoughts: includeThoughts && thinkingOn ? true : nil
            )
            generationConfig = GenerationConfig(
                temperature: request.temperature,
                maxOutputTokens: request.maxOutputTokens,
                thinkingConfig: thinking.isEmpty ? nil : thinking
            )
            serviceTier = request.serviceTier == .standard ? nil : request.serviceTier.rawValue
        }
    }

    struct Response: Decodable {
        struct Candidate: Decodable {
            struct Content: Decodable {
                var parts: [Part]?
            }
            struct Part: Decodable {
                var text: String?
                var thought: Bool?
            }
            var content: Content?
            var finishReason: String?
        }
        struct PromptFeedback: Decodable {
            var blockReason: String?
            var blockReasonMessage: String?
        }
        struct UsageMetadata: Decodable {
            var promptTokenCount: Int?
            var candidatesTokenCount: Int?
            var thoughtsTokenCount: Int?
            /// Part of `promptTokenCount`, served from the API's cache (cheaper).
            var cachedContentTokenCount: Int?
            /// The tier the request ran at ("flex", or `SERVICE_TIER_FLEX` as a proto enum
            /// name): priority over its limit runs at standard.
            var serviceTier: String?

            /// The tier the API says the request ran at, nil when it does not say or says
            /// something unknown.
            var ranAt: BillingTier? {
                guard var word = serviceTier?.lowercased() else { return nil }
                if word.hasPrefix("service_tier_") { word.removeFirst("service_tier_".count) }
                return ServiceTier(rawValue: word).map(BillingTier.init)
            }
        }
        var candidates: [Candidate]?
        var promptFeedback: PromptFeedback?
        var usageMetadata: UsageMetadata?
        var modelVersion: String?
    }

    struct ErrorEnvelope: Decodable {
        struct Body: Decodable {
            var code: Int?
            var message: String?
            var status: String?
            var details: [Detail]?
        }
        /// One `google.rpc` detail; only the fields coursegen reads.
        struct Detail: Decodable {
            struct Violation: Decodable {
                var quotaId: String?
                var quotaMetric: String?
            }
            var type: String?
            var retryDelay: String?
            var violations: [Violation]?
            var reason: String?

            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case retryDelay, violations, reason
            }
        }
        var error: Body
    }
}

extension GeminiWire {
    /// Classifies one HTTP exchange with `generateContent`. Pure: the whole policy for what is a
    /// success, what is retried and what fails fast lives here.
    ///
    /// - Success only with non-empty text and finishReason STOP.
    /// - Retried: 408, 429 (unless the quota is per day), 500, 502, 503, 504; an answer with no
    ///   text (STOP without parts happens with 2.5 Flash); MAX_TOKENS without text (thinking used the
    ///   budget: retried with a larger one); a body that is not the JSON it should be.
    /// - Stopping every submission: the key refused (400 API_KEY_INVALID, 401, 403) and an unknown
    ///   model or endpoint (404): no other request can succeed either.
    /// - Fatal, with the API's own message: other 4xx, a blocked prompt, any other finishReason.
    static func classify(
        status: Int,
        body: [UInt8],
        asked: ServiceTier = .standard
    ) -> Result<ChapterResponse, ProviderError> {
        guard status == 200 else {
            return .failure(classifyError(status: status, body: body, asked: asked))
        }
        let response: Response
        do {
            response = try JSONDecoder().decode(Response.self, from: Data(body))
        } catch {
            return .failure(notJSON(body))
        }
        return classify(response, asked: BillingTier(asked))
    }

    /// The failure for a 200 whose body is not the JSON it should be (cut off, or an HTML page).
    static func notJSON(_ body: [UInt8]) -> ProviderError {
        let looksLikeHTML = body.prefix(64).contains(UInt8(ascii: "<"))
        return ProviderError(
            .retry,
            looksLikeHTML
                ? "the answer is an HTML page (\(body.count) bytes), not JSON: a proxy or the API's front end answered"
                : "the answer is not valid JSON (\(body.count) bytes); it was probably cut off",
            httpStatus: 200
        )
    }

    /// Classifies a whole answer (one JSON body, or the events of a stream merged), billed at
    /// the tier the API says it ran at, else at `asked`.
    static func classify(_ response: Response, asked: BillingTier = .standard) -> Result<ChapterResponse, ProviderError> {
        let usage =
            response.usageMetadata.map {
                Usage(
                    promptTokens: $0.promptTokenCount ?? 0,
                    outputTokens: $0.candidatesTokenCount ?? 0,
                    thinkingTokens: $0.thoughtsTokenCount ?? 0,
                    cachedPromptTokens: $0.cachedContentTokenCount ?? 0
                )
            } ?? .notReported
        if let reason = response.promptFeedback?.blockReason {
            let detail = response.promptFeedback?.blockReasonMessage.map { ": \($0)" } ?? ""
            return .failure(
                ProviderError(
                    .fatal,
                    "the prompt was blocked (blockReason \(reason))\(detail); reword the chapter's title, points or notes",
                    httpStatus: 200,
                    usage: usage
                )
            )
        }
        guard let candidate = response.candidates?.first else {
            return .failure(ProviderError(.retry, "the answer has no candidates", httpStatus: 200, usage: usage))
        }
        let text = (candidate.content?.parts ?? [])
            .filter { $0.thought != true }
            .compactMap(\.text)
            .joined()
        let finishReason = candidate.finishReason ?? "(none)"
        switch finishReason {
        case "STOP":
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return .failure(
                    ProviderError(.retry, "the answer finished (STOP) without any text", httpStatus: 200, usage: usage)
                )
            }
            return .success(
                ChapterResponse(
                    text: text,
                    usage: usage,
                    modelVersion: response.modelVersion,
                    tier: response.usageMetadata?.ranAt ?? asked
                )
            )
        case "MAX_TOKENS":
            return .failure(
                ProviderError(
                    .retryWithLargerBudget,
                    "the answer ran out of output tokens (MAX_TOKENS) after \(usage.thinkingTokens) thinking and \(usage.outputTokens) output tokens",
                    httpStatus: 200,
                    usage: usage
                )
            )
        case "(none)":
            return .failure(
                ProviderError(
                    .retry,
                    "the answer has no finishReason; it was probably cut off",
                    httpStatus: 200,
                    usage: usage
                )
            )
        default:
            return .failure(
                ProviderError(
                    .fatal,
                    "the model stopped with finishReason \(finishReason); a chapter cut short is never published. Reword the chapter's entry if this persists",
                    httpStatus: 200,
                    usage: usage
                )
            )
        }
    }

    /// Classifies the answer to `GET /v1beta/models/{model}` (the key and model check): nil when
    /// both are accepted, else the error as `classify` would give it for a chapter.
    /// The verdict of `models.get` on the key and the model: nil when accepted, a
    /// `.stopEverything` error only when the API itself refused them (Google's JSON error naming
    /// the key, the permission or the model), and a `.retry` error, "no verdict", for anything
    /// else: an overloaded API, or a gateway in front of it that does not forward this route
    /// (its own 404 or 405) although it forwards generation requests.
    static func classifyModelCheck(status: Int, body: [UInt8]) -> ProviderError? {
        guard status != 200 else { return nil }
        let error = classifyError(status: status, body: body)
        let apiError = (try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body)))?.error
        let refusal: Bool =
            switch (status, apiError?.status) {
            case (400, "INVALID_ARGUMENT"): error.disposition == .stopEverything  // API_KEY_INVALID
            case (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"): true
            case (404, _): isUnknownModel(status: status, body: body)
            default: false
            }
        guard !refusal else { return error }
        return ProviderError(.retry, "the model check was not answered: \(error.message)", httpStatus: status)
    }

    /// Whether the API said the model does not exist (or no longer does): 404 NOT_FOUND "models/X
    /// is not found for API version v1beta, or is not supported for generateContent. Call
    /// ListModels …", as opposed to a gateway's 404 for a route it does not forward.
    static func isUnknownModel(status: Int, body: [UInt8]) -> Bool {
        guard status == 404, let error = (try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body)))?.error
        else { return false }
        return error.status == "NOT_FOUND" && error.message?.contains("models/") == true
    }

    /// One page of `GET /v1beta/models` (`ListModelsResponse`): `models[]` and, when more
    /// follow, `nextPageToken`. python-genai reads the REST field `supportedGenerationMethods`
    /// as `supported_actions`; both spellings are read.
    struct ModelPage: Decodable {
        struct Model: Decodable {
            var name: String?
            var displayName: String?
            var supportedGenerationMethods: [String]?
            var supportedActions: [String]?
        }
        var models: [Model]?
        var nextPageToken: String?

        /// The page's models that have a name, and the token of the next page (nil or empty: none).
        var entries: (models: [GeminiModel], next: String?) {
            let models = (self.models ?? []).compactMap { model -> GeminiModel? in
                guard let name = model.name, !name.isEmpty else { return nil }
                return GeminiModel(
                    name: name,
                    displayName: model.displayName,
                    supportedActions: model.supportedGenerationMethods ?? model.supportedActions ?? []
                )
            }
            return (models, nextPageToken.flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    /// Classifies one page of the model list: its models and the next page's token, or the
    /// error as for a chapter (a refused key stops everything).
    static func classifyModelPage(
        status: Int,
        body: [UInt8]
    ) -> Result<(models: [GeminiModel], next: String?), ProviderError> {
        guard status == 200 else { return .failure(classifyError(status: status, body: body)) }
        guard let page = try? JSONDecoder().decode(ModelPage.self, from: Data(body)) else {
            return .failure(notJSON(body))
        }
        return .success(page.entries)
    }

    /// Classifies an error answer to a request at tier `asked`. Under flex, a 503, or a 429 that
    /// names no quota, is the request shed under load (`ProviderError.shed`): the flex queue is
    /// full, the service is not down. A 400 about the tier stops everything once.
    static func classifyError(status: Int, body: [UInt8], asked: ServiceTier = .standard) -> ProviderError {
        let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body))
        let apiMessage = envelope?.error.message.map(ProviderTransport.oneLine)
        let apiStatus = envelope?.error.status
        let details = envelope?.error.details ?? []
        var message = [apiStatus, apiMessage].compactMap { $0 }.joined(separator: ": ")
        if message.isEmpty { message = "no error message in the answer" }
        let quotaIDs = details.flatMap { $0.violations ?? [] }.compactMap(\.quotaId)

        if asked == .flex, status == 503 || (status == 429 && quotaIDs.isEmpty) {
            var shed = ProviderError(
                .retry,
                "\(message) (a flex request shed under load: the flex queue is full, not the service down)",
                httpStatus: status,
                retryDelay: details.compactMap(\.retryDelay).first.flatMap(parseDuration)
            )
            shed.shed = true
            return shed
        }
        if status == 400, asked != .standard, let apiMessage, mentionsServiceTier(apiMessage) {
            return ProviderError(
                .stopEverything,
                "this model does not take service tier \(asked.rawValue) (\(message)): set service-tier to standard, "
                    + "or choose a model that takes \(asked.rawValue)",
                httpStatus: status
            )
        }

        switch status {
        case 429:
            if quotaIDs.contains(where: { $0.contains("PerDay") }) {
                return ProviderError(
                    .dailyQuotaExhausted,
                    "\(message) (daily quota \(quotaIDs.joined(separator: ", ")); it resets at midnight Pacific time)",
                    httpStatus: status
                )
            }
            let delay =
                details.compactMap(\.retryDelay).first.flatMap(parseDuration)
                ?? apiMessage.flatMap(parseRetryHint)
            return ProviderError(.retry, message, httpStatus: status, retryDelay: delay)
        case 503, 504:
            // "The model is overloaded", a deadline the server gave up on: slow down, not only retry.
            return ProviderError(.retry, message, httpStatus: status, overloaded: true)
        case 408, 500, 502:
            return ProviderError(.retry, message, httpStatus: status)
        case 400 where details.contains(where: { $0.reason == "API_KEY_INVALID" }):
            return ProviderError(
                .stopEverything,
                "\(message) (the API key was refused: check GEMINI_API_KEY or the key file)",
                httpStatus: status
            )
        case 401, 403:
            return ProviderError(
                .stopEverything,
                "\(message) (check that the key is set and the Generative Language API is enabled for its project)",
                httpStatus: status
            )
        case 404:
            return ProviderError(
                .stopEverything,
                "\(message) (check the model name and the base URL)",
                httpStatus: status
            )
        default:
            return ProviderError(.fatal, message, httpStatus: status)
        }
    }

    /// Whether an API message is about the request's service tier (`serviceTier`, "service
    /// tier", `service_tier`).
    static func mentionsServiceTier(_ message: String) -> Bool {
        let folded = message.lowercased().replacingOccurrences(of: "_", with: " ")
        return folded.contains("service tier") || folded.contains("servicetier")
    }

    /// Parses a protobuf JSON duration such as "15s" or "11.769242877s".
    static func parseDuration(_ text: String) -> Duration? {
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds.isFinite, seconds >= 0
        else { return nil }
        return .milliseconds(Int64((min(seconds, 86_400) * 1000).rounded(.up)))
    }

    /// Reads "Please retry in 39.478s." from an error message, for a 429 without RetryInfo.
    static func parseRetryHint(_ message: String) -> Duration? {
        guard let range = message.range(of: "retry in ") else { return nil }
        let rest = message[range.upperBound...]
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard rest.dropFirst(number.count).hasPrefix("s") else { return nil }
        return parseDuration(number + "s")
    }
}
