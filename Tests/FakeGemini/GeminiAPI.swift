import FakeServerKit
import NIOHTTP1

/// The Gemini wire format plugged into the shared server: checks as the API does, in its order,
/// and renders replies, quota rejections and overload answers as Google sends them.
struct GeminiAPI: FakeAPI {
    /// A valid request and whether it asked for server-sent events (`?alt=sse`).
    struct Decided: Sendable {
        var request: FakeGeminiServer.Request
        var serverSentEvents: Bool
    }

    let configuration: FakeGeminiServer.Configuration

    var name: String { "gemini" }

    var commonHeaders: [(name: String, value: String)] {
        [
            ("vary", "Origin, X-Origin, Referer"),
            ("server", "scaffolding on HTTPServer2"),
            ("x-content-type-options", "nosniff"),
        ]
    }

    var split: SplitPolicy { configuration.split }

    // MARK: Checking

    func check(_ incoming: IncomingRequest) -> Result<Decided, WirePlanError> {
        let head = incoming.head
        guard head.method == .POST, let route = Route(path: incoming.path) else { return failure(.methodNotFound) }
        let parameters = incoming.queryParameters

        let key = head.headers.first(name: "x-goog-api-key") ?? parameters["key"]
        guard let key, !key.isEmpty else { return failure(.missingKey) }
        if let expected = configuration.apiKey, key != expected { return failure(.invalidKey) }

        if let timeout = head.headers.first(name: "x-server-timeout"), let seconds = Double(timeout), seconds < 10 {
            return failure(.invalidArgument("The X-Server-Timeout header must be at least 10 seconds; got \(timeout)."))
        }
        if incoming.bodyTooLarge {
            return failure(
                .invalidArgument("Request payload size exceeds the limit: \(20 * 1024 * 1024) bytes.")
            )
        }
        let request: FakeGeminiServer.Request
        switch RequestValidator.validate(
            body: incoming.body,
            apiVersion: route.apiVersion,
            model: route.model,
            isStreaming: route.isStreaming
        ) {
        case .failure(let error): return failure(error)
        case .success(let validated): request = validated
        }
        if let models = configuration.models, !models.contains(route.model) {
            return failure(.modelNotFound(route.model, apiVersion: route.apiVersion))
        }
        return .success(Decided(request: request, serverSentEvents: parameters["alt"] == "sse"))
    }

    private func failure(_ error: GoogleError) -> Result<Decided, WirePlanError> {
        .failure(WirePlanError(ReplyRenderer.plan(for: error)))
    }

    func identity(of decided: Decided) -> RequestIdentity {
        let request = decided.request
        // A request's input tokens, the only ones Gemini's TPM counts.
        return RequestIdentity(
            model: request.model,
            prompt: request.prompt,
            tokens: ReplyRenderer.estimatedPromptTokens(request)
        )
    }

    // MARK: Answers

    func quotaExceeded(_ rejection: QuotaRejection, request decided: Decided) -> WirePlan {
        let quotaId: String =
            switch rejection.rule {
            case .dailyQuota: "GenerateRequestsPerDayPerProjectPerModel"
            case .tokenQuota: "GenerateContentInputTokensPerModelPerMinute"
            case .requestQuota, .storm: "GenerateRequestsPerMinutePerProjectPerModel"
            }
        return ReplyRenderer.plan(
            for: .rateLimited(
                retryDelay: DurationFormat.protobuf(rejection.retryAfter),
                messageDelay: DurationFormat.milliseconds3(rejection.retryAfter),
                quotaId: quotaId,
                model: decided.request.model,
                limit: rejection.limit
            )
        )
    }

    func overloaded(_ decided: Decided) -> WirePlan {
        ReplyRenderer.plan(
            for: .forStatus(
                code: 503,
                message: nil,
                model: decided.request.model,
                apiVersion: decided.request.apiVersion
            )
        )
    }

    func answer(_ decided: Decided, attempt: Int, replyNumber: UInt64) -> APIAnswer {
        var request = decided.request
        request.attempt = attempt
        var reply = configuration.reply(request)
        if let latency = configuration.latency {
            reply = reply.timed(by: latency, prompt: request.prompt, attempt: attempt, isStreaming: request.isStreaming)
        }
        switch reply.kind {
        case .hang:
            return .hang
        case .connectionReset:
            return .reset(reply.delivery)
        default:
            let plan = ReplyRenderer.plan(
                for: reply.kind,
                to: request,
                responseId: "fake-\(replyNumber)",
                serverSentEvents: decided.serverSentEvents,
                timing: reply.delivery.stream,
                lineEnding: configuration.lineEnding
            )
            return .respond(plan, reply.delivery)
        }
    }

    func quotaHeaders(_ limits: QuotaSnapshot) -> [(name: String, value: String)] {
        []  // Gemini reports its quota only in 429 bodies.
    }

    func notFound(_ request: IncomingRequest) -> WirePlan {
        ReplyRenderer.plan(for: .methodNotFound)
    }

    /// `GET /{v1beta|v1}/models/{model}` (models.get): the key and the model checked as for
    /// `generateContent`, and the model's description.
    func modelCheck(_ incoming: IncomingRequest) -> WirePlan? {
        guard incoming.head.method == .GET, let route = ModelRoute(path: incoming.path) else { return nil }
        guard configuration.forwardsModelCheck else {
            return .whole(status: 404, contentType: "text/plain; charset=utf-8", Array("404 page not found\n".utf8))
        }
        let key = incoming.head.headers.first(name: "x-goog-api-key") ?? incoming.queryParameters["key"]
        guard let key, !key.isEmpty else { return ReplyRenderer.plan(for: .missingKey) }
        if let expected = configuration.apiKey, key != expected { return ReplyRenderer.plan(for: .invalidKey) }
        if let models = configuration.models, !models.contains(route.model) {
            return ReplyRenderer.plan(for: .modelNotFound(route.model, apiVersion: route.apiVersion))
        }
        let model: JSONValue = .object([
            ("name", .string("models/\(route.model)")),
            ("displayName", .string(route.model)),
            ("inputTokenLimit", .number(1_048_576)),
            ("outputTokenLimit", .number(65_536)),
            ("supportedGenerationMethods", .array([.string("generateContent"), .string("countTokens")])),
            ("thinking", true),
        ])
        return .whole(status: 200, contentType: ReplyRenderer.jsonType, Array(model.serialized(pretty: true).utf8))
    }
}

/// A model path: `/{v1beta|v1}/models/{model}`.
struct ModelRoute: Sendable, Hashable {
    var apiVersion: String
    var model: String

    init?(path: String) {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 4, components[0].isEmpty, ["v1beta", "v1"].contains(components[1]),
            components[2] == "models", !components[3].isEmpty, !components[3].contains(":")
        else { return nil }
        apiVersion = String(components[1])
        model = String(components[3])
    }
}

/// A `generateContent` path: `/{v1beta|v1}/models/{model}:{generateContent|streamGenerateContent}`.
struct Route: Sendable, Hashable {
    var apiVersion: String
    var model: String
    var isStreaming: Bool

    init?(path: String) {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 4, components[0].isEmpty, ["v1beta", "v1"].contains(components[1]),
            components[2] == "models", let colon = components[3].lastIndex(of: ":")
        else { return nil }
        let model = components[3][..<colon]
        let method = components[3][components[3].index(after: colon)...]
        guard !model.isEmpty, method == "generateContent" || method == "streamGenerateContent" else { return nil }
        self.apiVersion = String(components[1])
        self.model = String(model)
        self.isStreaming = method == "streamGenerateContent"
    }
}
