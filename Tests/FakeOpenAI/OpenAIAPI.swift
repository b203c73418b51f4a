import FakeServerKit
import NIOHTTP1

/// The OpenAI chat completions wire format plugged into the shared server.
struct OpenAIAPI: FakeAPI {
    typealias Decided = FakeOpenAIServer.Request

    let configuration: FakeOpenAIServer.Configuration
    /// The answer in progress of a one-slot interrupting server, for the next request to end.
    let slot = TakenOverSlot()

    var name: String { "openai" }

    var commonHeaders: [(name: String, value: String)] {
        [("server", "fake-openai"), ("openai-version", "2020-10-01")]
    }

    var split: SplitPolicy { configuration.split }

    private var honoursMaxCompletionTokens: Bool {
        configuration.maxTokens != .ignoresMaxCompletionTokens
    }

    // MARK: Checking

    func check(_ incoming: IncomingRequest) -> Result<Decided, WirePlanError> {
        guard incoming.path == "/v1/chat/completions" else { return .failure(WirePlanError(notFound(incoming))) }
        guard incoming.head.method == .POST else {
            return failure(
                OpenAIError(
                    status: 405,
                    message: "Not allowed to \(incoming.head.method.rawValue) on /v1/chat/completions."
                        + " (HINT: Perhaps you meant to use a different HTTP method?)",
                    type: "invalid_request_error"
                )
            )
        }
        switch configuration.key {
        case .notRequired:
            break
        case .anyNonEmpty, .exactly:
            guard let key = Self.bearerKey(incoming.head.headers), !key.isEmpty else { return failure(.missingKey) }
            if case .exactly(let expected) = configuration.key, key != expected { return failure(.incorrectKey(key)) }
        }
        let request: FakeOpenAIServer.Request
        switch RequestValidator.validate(body: incoming.body, maxTokens: configuration.maxTokens) {
        case .failure(let error): return failure(error)
        case .success(let validated): request = validated
        }
        if let models = configuration.models, !models.contains(request.model) {
            return failure(.modelNotFound(request.model))
        }
        return .success(request)
    }

    /// The key of `Authorization: Bearer KEY`, nil when the header is missing or another scheme.
    static func bearerKey(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1].drop { $0 == " " })
    }

    private func failure(_ error: OpenAIError) -> Result<Decided, WirePlanError> {
        .failure(WirePlanError(ReplyRenderer.plan(for: error)))
    }

    func identity(of request: Decided) -> RequestIdentity {
        let budget = (honoursMaxCompletionTokens ? request.maxCompletionTokens : nil) ?? request.maxTokens ?? 0
        return RequestIdentity(
            model: request.model,
            prompt: request.prompt,
            tokens: ReplyRenderer.estimatedPromptTokens(request) + budget
        )
    }

    // MARK: Answers

    func quotaExceeded(_ rejection: QuotaRejection, request: Decided) -> WirePlan {
        let retryIn = DurationFormat.go(rejection.retryAfter)
        let tokens = identity(of: request).tokens
        let error: OpenAIError =
            switch rejection.rule {
            case .tokenQuota:
                .rateLimited(
                    model: request.model,
                    limitType: "tokens",
                    per: "min",
                    limit: rejection.limit,
                    used: max(0, rejection.limit - tokens + 1),
                    requested: tokens,
                    retryIn: retryIn
                )
            case .dailyQuota:
                .rateLimited(
                    model: request.model,
                    limitType: "requests",
                    per: "day",
                    limit: rejection.limit,
                    used: rejection.limit,
                    requested: 1,
                    retryIn: retryIn
                )
            case .requestQuota, .storm:
                .rateLimited(
                    model: request.model,
                    limitType: "requests",
                    per: "min",
                    limit: rejection.limit,
                    used: rejection.limit,
                    requested: 1,
                    retryIn: retryIn
                )
            }
        var headers: [(name: String, value: String)] = []
        switch configuration.retryAfter {
        case .both:
            headers.append(("retry-after", String(DurationFormat.retryAfterSeconds(rejection.retryAfter))))
            headers.append(("retry-after-ms", String(DurationFormat.retryAfterMilliseconds(rejection.retryAfter))))
        case .seconds:
            headers.append(("retry-after", String(DurationFormat.retryAfterSeconds(rejection.retryAfter))))
        case .milliseconds:
            headers.append(("retry-after-ms", String(DurationFormat.retryAfterMilliseconds(rejection.retryAfter))))
        case .none:
            break
        }
        return ReplyRenderer.plan(for: error, extraHeaders: headers)
    }

    func overloaded(_ request: Decided) -> WirePlan {
        ReplyRenderer.plan(for: .forStatus(503, message: nil))
    }

    func answer(_ request: Decided, attempt: Int, replyNumber: UInt64) -> APIAnswer {
        var request = request
        request.attempt = attempt
        var reply = configuration.reply(request)
        if let latency = configuration.latency {
            reply = reply.timed(by: latency, prompt: request.prompt, attempt: attempt, isStreaming: request.stream)
        }
        if configuration.interruptsForNextRequest { reply.delivery.preemption = slot.takeOver() }
        if !configuration.reportsStreamUsage { request.includeUsage = false }
        switch reply.kind {
        case .hang:
            return .hang
        case .connectionReset:
            return .reset(reply.delivery)
        default:
            let plan = ReplyRenderer.plan(
                for: reply.kind,
                to: request,
                replyNumber: replyNumber,
                timing: reply.delivery.stream,
                lineEnding: configuration.lineEnding,
                honoursMaxCompletionTokens: honoursMaxCompletionTokens
            )
            return .respond(plan, reply.delivery)
        }
    }

    /// OpenAI's `x-ratelimit-*` headers: limits, what remains, and the time until each is back to
    /// full, in Go's duration format ("1s", "6m0s", "20ms").
    func quotaHeaders(_ limits: QuotaSnapshot) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let requests = limits.requests {
            headers.append(("x-ratelimit-limit-requests", String(requests.limit)))
            headers.append(("x-ratelimit-remaining-requests", String(requests.remaining)))
            headers.append(("x-ratelimit-reset-requests", DurationFormat.go(requests.reset)))
        }
        if let tokens = limits.tokens {
            headers.append(("x-ratelimit-limit-tokens", String(tokens.limit)))
            headers.append(("x-ratelimit-remaining-tokens", String(tokens.remaining)))
            headers.append(("x-ratelimit-reset-tokens", DurationFormat.go(tokens.reset)))
        }
        return headers
    }

    /// `GET /v1/models/{model}` (models.retrieve): the key checked as for chat completions, then
    /// the model's description, or 404 `model_not_found`. Nil (a 404 "Invalid URL" from `check`)
    /// when the configuration does not serve the route.
    func modelCheck(_ incoming: IncomingRequest) -> WirePlan? {
        if incoming.head.method == .GET, incoming.path == "/props" {
            // A lookup, counted with the model checks: llama-server's, or the 404 of any other.
            guard let slots = configuration.totalSlots else { return notFound(incoming) }
            let properties: JSONValue = .object([
                ("total_slots", .integer(slots)), ("model_path", "fake.gguf"), ("build_info", "fake-openai"),
            ])
            return .whole(status: 200, contentType: ReplyRenderer.jsonType, Array(properties.serialized().utf8))
        }
        let prefix = "/v1/models/"
        guard configuration.servesModelRoute, incoming.head.method == .GET, incoming.path.hasPrefix(prefix),
            incoming.path.count > prefix.count
        else { return nil }
        let model = String(incoming.path.dropFirst(prefix.count))
        switch configuration.key {
        case .notRequired:
            break
        case .anyNonEmpty, .exactly:
            guard let key = Self.bearerKey(incoming.head.headers), !key.isEmpty else {
                return ReplyRenderer.plan(for: .missingKey)
            }
            if case .exactly(let expected) = configuration.key, key != expected {
                return ReplyRenderer.plan(for: .incorrectKey(key))
            }
        }
        if let models = configuration.models, !models.contains(model) {
            return ReplyRenderer.plan(for: .modelNotFound(model))
        }
        let description: JSONValue = .object([
            ("id", .string(model)),
            ("object", "model"),
            ("created", .integer(ReplyRenderer.createdBase)),
            ("owned_by", "fake-openai"),
        ])
        return .whole(
            status: 200,
            contentType: ReplyRenderer.jsonType,
            Array(description.serialized(pretty: true).utf8)
        )
    }

    func notFound(_ request: IncomingRequest) -> WirePlan {
        ReplyRenderer.plan(
            for: OpenAIError(
                status: 404,
                message: "Invalid URL (\(request.head.method.rawValue) \(request.path))",
                type: "invalid_request_error"
            )
        )
    }
}
