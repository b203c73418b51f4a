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
    /// The Batch API's jobs (`GeminiBatchAPI.swift`).
    let batches: FakeBatchJobs

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
        if let tier = request.serviceTier, ["flex", "priority"].contains(tier),
            let tiered = configuration.tieredModels, !tiered.contains(route.model)
        {
            return failure(
                .invalidArgument("Service tier \(tier) is not supported for models/\(route.model).")
            )
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
        let flex = request.serviceTier == "flex"
        var reply =
            flex && attempt <= configuration.flexShedAttempts
            ? .status(code: 503, message: "The flex queue is full. Please try again later.")
            : configuration.reply(request)
        if let latency = configuration.latency {
            reply = reply.timed(by: latency, prompt: request.prompt, attempt: attempt, isStreaming: request.isStreaming)
        }
        if flex { reply.latency += configuration.flexQueue }
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
        if incoming.head.method == .GET, let apiVersion = ModelListRoute.apiVersion(path: incoming.path) {
            return modelList(incoming, apiVersion: apiVersion)
        }
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

extension GeminiAPI {
    /// The catalog in listing order.
    var catalog: [String] { (configuration.models ?? FakeGeminiServer.knownModels).sorted() }

    /// `GET /{v1beta|v1}/models?pageSize=&pageToken=` (models.list): the catalog in pages of at
    /// most `pageSize` (capped by `modelPageSize`), each but the last with a `nextPageToken`
    /// (the index of the next model, opaque to clients); a token it did not hand out is 400.
    func modelList(_ incoming: IncomingRequest, apiVersion: String) -> WirePlan {
        let key = incoming.head.headers.first(name: "x-goog-api-key") ?? incoming.queryParameters["key"]
        guard let key, !key.isEmpty else { return ReplyRenderer.plan(for: .missingKey) }
        if let expected = configuration.apiKey, key != expected { return ReplyRenderer.plan(for: .invalidKey) }
        let parameters = incoming.queryParameters
        var size = configuration.modelPageSize
        if let text = parameters["pageSize"] {
            guard let asked = Int(text), asked >= 0 else {
                return ReplyRenderer.plan(for: .invalidArgument("Invalid value for pageSize: \(text)"))
            }
            if asked > 0 { size = min(asked, configuration.modelPageSize) }
        }
        let models = catalog
        var start = 0
        if let token = parameters["pageToken"], !token.isEmpty {
            guard token.hasPrefix("page-"), let index = Int(token.dropFirst(5)), (0..<models.count).contains(index)
            else { return ReplyRenderer.plan(for: .invalidArgument("Invalid page token.")) }
            start = index
        }
        let end = min(start + max(size, 1), models.count)
        let page: [JSONValue] = models[start..<end].map { name in
            .object([
                ("name", .string("models/\(name)")),
                ("version", .string("001")),
                ("displayName", .string(Self.displayName(name))),
                ("inputTokenLimit", .number(1_048_576)),
                ("outputTokenLimit", .number(65_536)),
                ("supportedGenerationMethods", .array([.string("generateContent"), .string("countTokens")])),
                ("thinking", true),
            ])
        }
        // An embedding model, as the real list holds: it must not be offered for chapters.
        var members: [(key: String, value: JSONValue)] = []
        var listed = page
        if start == 0 {
            listed.append(
                .object([
                    ("name", .string("models/gemini-embedding-001")),
                    ("displayName", .string("Gemini Embedding 001")),
                    ("supportedGenerationMethods", .array([.string("embedContent"), .string("countTextTokens")])),
                ])
            )
        }
        members.append(("models", .array(listed)))
        if end < models.count { members.append(("nextPageToken", .string("page-\(end)"))) }
        return .whole(
            status: 200,
            contentType: ReplyRenderer.jsonType,
            Array(JSONValue.object(members).serialized(pretty: true).utf8)
        )
    }

    /// "gemini-3.8-flash" as "Gemini 3.8 Flash".
    static func displayName(_ name: String) -> String {
        name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }
}

/// The model list path: `/{v1beta|v1}/models`.
enum ModelListRoute {
    static func apiVersion(path: String) -> String? {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 3, components[0].isEmpty, ["v1beta", "v1"].contains(components[1]),
            components[2] == "models"
        else { return nil }
        return String(components[1])
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
