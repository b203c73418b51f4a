import FakeServerKit

/// Turns a reply decision into the bytes an OpenAI-compatible server sends. Pure: the same
/// request, reply and reply number give the same plan.
enum ReplyRenderer {
    static let jsonType = "application/json"
    static let eventStreamType = "text/event-stream; charset=utf-8"
    /// The `created` of the first reply; later ones count up from it, so replies are reproducible.
    static let createdBase = 1_767_225_600

    static func plan(for error: OpenAIError, extraHeaders: [(name: String, value: String)] = []) -> WirePlan {
        WirePlan(
            status: error.status,
            headers: [("content-type", jsonType)] + extraHeaders,
            body: .whole(Array(error.json.serialized(pretty: true).utf8))
        )
    }

    /// The plan for every kind that writes an HTTP response (all but `connectionReset` and `hang`).
    static func plan(
        for kind: FakeOpenAIServer.Reply.Kind,
        to request: FakeOpenAIServer.Request,
        replyNumber: UInt64,
        timing: StreamTiming,
        lineEnding: LineEnding,
        honoursMaxCompletionTokens: Bool
    ) -> WirePlan {
        let budget = (honoursMaxCompletionTokens ? request.maxCompletionTokens : nil) ?? request.maxTokens
        let content: Content
        switch kind {
        case .rateLimited(let seconds, let milliseconds, let limitType):
            var headers: [(name: String, value: String)] = []
            if let seconds { headers.append(("retry-after", String(seconds))) }
            if let milliseconds { headers.append(("retry-after-ms", String(milliseconds))) }
            let retryIn = milliseconds.map { "\(Double($0) / 1000)s" } ?? seconds.map { "\($0)s" } ?? "1s"
            let error = OpenAIError.rateLimited(
                model: request.model,
                limitType: limitType,
                per: "min",
                limit: 60,
                used: 60,
                requested: 1,
                retryIn: retryIn
            )
            return plan(for: error, extraHeaders: headers)
        case .insufficientQuota:
            return plan(for: .insufficientQuota)
        case .status(let code, let message):
            return plan(for: .forStatus(code, message: message))
        case .errorMidStream(let code) where !request.stream:
            return plan(for: .forStatus(code, message: nil))
        case .htmlPage:
            return .whole(status: 200, contentType: HTMLPages.contentType, Array(HTMLPages.signIn.utf8))
        case .success(let text, let reasoning, let usage):
            let text = text ?? FakeOpenAIServer.defaultText(for: request)
            content = Content(
                text: text,
                reasoning: reasoning,
                finishReason: "stop",
                usage: usage ?? estimatedUsage(request, text: text, reasoning: reasoning)
            )
        case .length(let text):
            let full = FakeOpenAIServer.defaultText(for: request)
            let text = text ?? String(full.prefix(full.count / 2))
            var usage = estimatedUsage(request, text: text, reasoning: nil)
            if let budget { usage.completionTokens = budget }
            content = Content(text: text, reasoning: nil, finishReason: "length", usage: usage)
        case .emptyContent:
            content = Content(
                text: "",
                reasoning: nil,
                finishReason: "stop",
                usage: estimatedUsage(request, text: "", reasoning: nil)
            )
        case .errorMidStream, .malformedJSON:
            let text = FakeOpenAIServer.defaultText(for: request)
            content = Content(
                text: text,
                reasoning: nil,
                finishReason: "stop",
                usage: estimatedUsage(request, text: text, reasoning: nil)
            )
        case .connectionReset, .hang:
            preconditionFailure("\(kind) writes no response")
        }

        let identity = Identity(
            id: "chatcmpl-fake-\(replyNumber)",
            created: createdBase + Int(replyNumber),
            model: request.model
        )
        guard request.stream else {
            var bytes = Array(completion(content, identity).serialized(pretty: true).utf8)
            if case .malformedJSON = kind { bytes.removeLast(bytes.count / 2) }
            return .whole(status: 200, contentType: jsonType, bytes)
        }
        return streamPlan(
            content,
            kind: kind,
            identity: identity,
            request: request,
            timing: timing,
            lineEnding: lineEnding
        )
    }

    // MARK: Pieces

    private struct Content {
        var text: String
        var reasoning: String?
        var finishReason: String
        var usage: FakeOpenAIServer.Usage
    }

    private struct Identity {
        var id: String
        var created: Int
        var model: String
    }

    private static func completion(_ content: Content, _ identity: Identity) -> JSONValue {
        var message: [(key: String, value: JSONValue)] = [
            ("role", "assistant"), ("content", .string(content.text)), ("refusal", .null),
        ]
        if let reasoning = content.reasoning { message.append(("reasoning_content", .string(reasoning))) }
        return .object([
            ("id", .string(identity.id)),
            ("object", "chat.completion"),
            ("created", .integer(identity.created)),
            ("model", .string(identity.model)),
            (
                "choices",
                .array([
                    .object([
                        ("index", 0),
                        ("message", .object(message)),
                        ("logprobs", .null),
                        ("finish_reason", .string(content.finishReason)),
                    ])
                ])
            ),
            ("usage", usageJSON(content.usage)),
            ("service_tier", "default"),
            ("system_fingerprint", "fp_fake"),
        ])
    }

    private static func usageJSON(_ usage: FakeOpenAIServer.Usage) -> JSONValue {
        .object([
            ("prompt_tokens", .integer(usage.promptTokens)),
            ("completion_tokens", .integer(usage.completionTokens)),
            ("total_tokens", .integer(usage.totalTokens)),
            ("prompt_tokens_details", .object([("cached_tokens", 0), ("audio_tokens", 0)])),
            (
                "completion_tokens_details",
                .object([
                    ("reasoning_tokens", .integer(usage.reasoningTokens)), ("audio_tokens", 0),
                    ("accepted_prediction_tokens", 0), ("rejected_prediction_tokens", 0),
                ])
            ),
        ])
    }

    /// One `chat.completion.chunk`: `choices` holds `delta` and `finishReason` unless `usage` is
    /// given (the final usage chunk, whose `choices` is empty). With `include_usage`, every other
    /// chunk carries `"usage": null`, as OpenAI sends them.
    private static func chunk(
        _ identity: Identity,
        delta: [(key: String, value: JSONValue)]?,
        finishReason: String? = nil,
        usage: FakeOpenAIServer.Usage? = nil,
        includeUsage: Bool
    ) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(identity.id)),
            ("object", "chat.completion.chunk"),
            ("created", .integer(identity.created)),
            ("model", .string(identity.model)),
            ("service_tier", "default"),
            ("system_fingerprint", "fp_fake"),
        ]
        if let delta {
            members.append(
                (
                    "choices",
                    .array([
                        .object([
                            ("index", 0),
                            ("delta", .object(delta)),
                            ("logprobs", .null),
                            ("finish_reason", finishReason.map { .string($0) } ?? .null),
                        ])
                    ])
                )
            )
        } else {
            members.append(("choices", .array([])))
        }
        if includeUsage { members.append(("usage", usage.map(usageJSON) ?? .null)) }
        return .object(members)
    }

    /// The events of a stream: the role chunk, reasoning chunks spread over the thinking time
    /// (silent without them), the text in `timing.textEvents` chunks `timing.interval` apart, the
    /// chunk with `finish_reason`, the usage chunk when asked for, and `data: [DONE]`.
    private static func streamPlan(
        _ content: Content,
        kind: FakeOpenAIServer.Reply.Kind,
        identity: Identity,
        request: FakeOpenAIServer.Request,
        timing: StreamTiming,
        lineEnding: LineEnding
    ) -> WirePlan {
        let includeUsage = request.includeUsage
        func event(_ json: JSONValue, delay: Duration = .zero) -> WirePlan.Event {
            WirePlan.Event(
                delay: delay,
                bytes: Array("data: \(json.serialized())\(lineEnding.bytes)\(lineEnding.bytes)".utf8)
            )
        }
        let reasoningPieces = split(content.reasoning ?? "", into: 2)
        var events: [WirePlan.Event] = []
        let role: [(key: String, value: JSONValue)] = [("role", "assistant"), ("content", ""), ("refusal", .null)]
        events.append(
            event(
                chunk(identity, delta: role, includeUsage: includeUsage),
                delay: reasoningPieces.isEmpty ? timing.thinking : .zero
            )
        )
        for (offset, piece) in reasoningPieces.enumerated() {
            let delay = offset == 0 ? Duration.zero : timing.thinking / reasoningPieces.count
            events.append(
                event(
                    chunk(identity, delta: [("reasoning_content", .string(piece))], includeUsage: includeUsage),
                    delay: delay
                )
            )
        }
        let textPieces = split(content.text, into: max(1, timing.textEvents))
        for (offset, piece) in textPieces.enumerated() {
            let delay: Duration =
                offset > 0 ? timing.interval : reasoningPieces.isEmpty ? .zero : timing.thinking / reasoningPieces.count
            events.append(
                event(chunk(identity, delta: [("content", .string(piece))], includeUsage: includeUsage), delay: delay)
            )
        }
        switch kind {
        case .errorMidStream(let code):
            let kept = Array(events.prefix(2))
            let error = OpenAIError.forStatus(code, message: nil)
            return streamed(
                kept + [event(error.json, delay: timing.interval)],
                endsWithDone: false,
                lineEnding: lineEnding
            )
        case .malformedJSON:
            var kept = Array(events.prefix(2))
            if kept.count == 2 { kept[1].bytes = Array(kept[1].bytes.prefix(kept[1].bytes.count / 2)) }
            return streamed(kept, endsWithDone: false, lineEnding: lineEnding)
        default:
            break
        }
        events.append(event(chunk(identity, delta: [], finishReason: content.finishReason, includeUsage: includeUsage)))
        if includeUsage {
            events.append(event(chunk(identity, delta: nil, usage: content.usage, includeUsage: true)))
        }
        return streamed(events, endsWithDone: true, lineEnding: lineEnding)
    }

    private static func streamed(_ events: [WirePlan.Event], endsWithDone: Bool, lineEnding: LineEnding) -> WirePlan {
        var events = events
        if endsWithDone {
            events.append(WirePlan.Event(bytes: Array("data: [DONE]\(lineEnding.bytes)\(lineEnding.bytes)".utf8)))
        }
        return WirePlan(
            status: 200,
            headers: [("content-type", eventStreamType), ("cache-control", "no-cache")],
            body: .events(events)
        )
    }

    // MARK: Estimates

    /// Tokens as characters / 4, never below 1 for a non-empty text.
    static func estimatedTokens(_ text: String) -> Int {
        text.isEmpty ? 0 : max(1, text.count / 4)
    }

    /// Every message's text, plus a few tokens of framing per message.
    static func estimatedPromptTokens(_ request: FakeOpenAIServer.Request) -> Int {
        request.messages.reduce(3) { $0 + 4 + estimatedTokens($1.content) }
    }

    static func estimatedUsage(
        _ request: FakeOpenAIServer.Request,
        text: String,
        reasoning: String?
    ) -> FakeOpenAIServer.Usage {
        let reasoningTokens = estimatedTokens(reasoning ?? "")
        return .init(
            promptTokens: estimatedPromptTokens(request),
            completionTokens: estimatedTokens(text) + reasoningTokens,
            reasoningTokens: reasoningTokens
        )
    }

    /// `text` cut into at most `count` non-empty pieces of nearly equal length, on character
    /// boundaries.
    static func split(_ text: String, into count: Int) -> [String] {
        let characters = Array(text)
        guard !characters.isEmpty else { return [] }
        let size = (characters.count + count - 1) / count
        return stride(from: 0, to: characters.count, by: size).map {
            String(characters[$0..<min($0 + size, characters.count)])
        }
    }
}
