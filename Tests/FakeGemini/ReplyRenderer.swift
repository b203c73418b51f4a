import FakeServerKit

/// Turns a reply decision into the bytes Google would send. Pure: the same request, reply and
/// response id give the same plan.
enum ReplyRenderer {
    static let jsonType = "application/json; charset=UTF-8"
    static let eventStreamType = "text/event-stream"
    static let htmlType = "text/html; charset=UTF-8"

    /// A Google error as pretty-printed JSON.
    static func plan(for error: GoogleError) -> WirePlan {
        .whole(status: error.code, contentType: jsonType, Array(error.json.serialized(pretty: true).utf8))
    }

    /// The reply for every kind that writes an HTTP response (all but `connectionReset` and `hang`).
    ///
    /// - Parameters:
    ///   - timing: How many text events a stream has and how they are spaced.
    ///   - lineEnding: How a stream's lines end.
    static func plan(
        for kind: FakeGeminiServer.Reply.Kind,
        to request: FakeGeminiServer.Request,
        responseId: String,
        serverSentEvents: Bool,
        timing: StreamTiming = StreamTiming(),
        lineEnding: LineEnding = .crlf
    ) -> WirePlan {
        let model = request.model
        switch kind {
        case .rateLimited(let retryDelay, let quotaId):
            return plan(for: .rateLimited(retryDelay: retryDelay, quotaId: quotaId, model: model))
        case .status(let code, let message):
            return statusPlan(code: code, message: message, request: request)
        case .errorMidStream(let code) where !request.isStreaming:
            return statusPlan(code: code, message: nil, request: request)
        case .htmlPage:
            return .whole(status: 200, contentType: htmlType, Array(HTMLPages.signIn.utf8))
        default:
            break
        }

        let chunks = responseChunks(for: kind, to: request, responseId: responseId, timing: timing)
        guard request.isStreaming else {
            var bytes = Array(chunks.responses[0].json.serialized(pretty: true).utf8)
            if chunks.truncated { bytes.removeLast(bytes.count / 2) }
            return .whole(status: 200, contentType: jsonType, bytes)
        }
        return streamPlan(chunks, serverSentEvents: serverSentEvents, timing: timing, lineEnding: lineEnding)
    }

    private static func statusPlan(code: Int, message: String?, request: FakeGeminiServer.Request) -> WirePlan {
        if code == 502, message == nil {
            return .whole(status: 502, contentType: htmlType, Array(GoogleError.badGatewayPage.utf8))
        }
        return plan(
            for: .forStatus(code: code, message: message, model: request.model, apiVersion: request.apiVersion)
        )
    }

    /// One response object of a 200, and whether it carries only a thought summary.
    private struct Response {
        var json: JSONValue
        var isThought = false
    }

    /// The response objects of a 200, in order: one for a plain call, several for a stream.
    private struct Chunks {
        var responses: [Response]
        /// The body (plain) or the event after the first (stream) is cut in half.
        var truncated = false
        /// An error object sent as the last event of a stream.
        var trailingError: GoogleError?
    }

    private static func responseChunks(
        for kind: FakeGeminiServer.Reply.Kind,
        to request: FakeGeminiServer.Request,
        responseId: String,
        timing: StreamTiming
    ) -> Chunks {
        let promptTokens = estimatedPromptTokens(request)
        func response(
            _ candidate: JSONValue?,
            usage: FakeGeminiServer.Usage?,
            feedback: JSONValue? = nil
        ) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = []
            if let candidate { members.append(("candidates", .array([candidate]))) }
            if let feedback { members.append(("promptFeedback", feedback)) }
            members.append(
                (
                    "usageMetadata",
                    usageJSON(
                        usage ?? .init(promptTokenCount: promptTokens, candidatesTokenCount: 0),
                        serviceTier: request.serviceTier
                    )
                )
            )
            members.append(("modelVersion", .string(request.model)))
            members.append(("responseId", .string(responseId)))
            return .object(members)
        }
        /// One response per piece of `text` (one in all unless streaming: then the thought
        /// summary in up to two events first, and the text in `timing.textEvents`), the last with
        /// `finishReason` and the full usage.
        func pieces(
            text: String,
            thought: String?,
            finishReason: String,
            usage: FakeGeminiServer.Usage
        ) -> [Response] {
            func thoughtPart(_ text: String) -> JSONValue { .object([("text", .string(text)), ("thought", true)]) }
            var partsPerResponse: [(parts: [JSONValue], isThought: Bool)] = []
            if request.isStreaming {
                for piece in split(thought ?? "", into: 2) { partsPerResponse.append(([thoughtPart(piece)], true)) }
            } else if let thought {
                partsPerResponse.append(([thoughtPart(thought)], true))
            }
            let textParts = (request.isStreaming ? split(text, into: max(1, timing.textEvents)) : [text])
                .filter { !$0.isEmpty }
                .map { JSONValue.object([("text", .string($0))]) }
            if request.isStreaming {
                partsPerResponse += textParts.map { ([$0], false) }
            } else {
                partsPerResponse = [(partsPerResponse.flatMap(\.parts) + textParts, false)]
            }
            if partsPerResponse.allSatisfy(\.isThought) { partsPerResponse.append(([], false)) }
            let last = partsPerResponse.count - 1
            let partial = FakeGeminiServer.Usage(promptTokenCount: promptTokens, candidatesTokenCount: 0)
            return partsPerResponse.enumerated().map { offset, entry in
                let candidate = candidateJSON(parts: entry.parts, finishReason: offset == last ? finishReason : nil)
                return Response(
                    json: response(candidate, usage: offset == last ? usage : partial),
                    isThought: entry.isThought
                )
            }
        }

        switch kind {
        case .success(let text, let thought, let usage):
            let text = text ?? FakeGeminiServer.defaultText(for: request)
            let thought = thought ?? (request.generationConfig.includeThoughts == true ? defaultThought : nil)
            let usage = usage ?? estimatedUsage(request, text: text)
            return Chunks(responses: pieces(text: text, thought: thought, finishReason: "STOP", usage: usage))
        case .finish(let reason, let text):
            let full = FakeGeminiServer.defaultText(for: request)
            let text = text ?? String(full.prefix(full.count / 2))
            let usage = estimatedUsage(request, text: text)
            return Chunks(responses: pieces(text: text, thought: nil, finishReason: reason, usage: usage))
        case .emptyParts:
            let candidate = candidateJSON(parts: [], finishReason: "STOP")
            return Chunks(responses: [Response(json: response(candidate, usage: nil))])
        case .maxTokensWithoutParts:
            let budget = request.generationConfig.maxOutputTokens ?? 65536
            let usage = FakeGeminiServer.Usage(
                promptTokenCount: promptTokens,
                candidatesTokenCount: 0,
                thoughtsTokenCount: budget
            )
            let candidate = candidateJSON(parts: [], finishReason: "MAX_TOKENS")
            return Chunks(responses: [Response(json: response(candidate, usage: usage))])
        case .blockedPrompt(let reason):
            var feedback: [(key: String, value: JSONValue)] = [("blockReason", .string(reason))]
            if reason == "SAFETY" { feedback.append(("safetyRatings", safetyRatings)) }
            return Chunks(responses: [Response(json: response(nil, usage: nil, feedback: .object(feedback)))])
        case .malformedJSON:
            let text = FakeGeminiServer.defaultText(for: request)
            let responses = pieces(
                text: text,
                thought: nil,
                finishReason: "STOP",
                usage: estimatedUsage(request, text: text)
            )
            return Chunks(responses: request.isStreaming ? Array(responses.prefix(2)) : responses, truncated: true)
        case .errorMidStream(let code):
            let text = FakeGeminiServer.defaultText(for: request)
            let first = pieces(
                text: text,
                thought: nil,
                finishReason: "STOP",
                usage: estimatedUsage(request, text: text)
            )[0]
            let error = GoogleError.forStatus(
                code: code,
                message: nil,
                model: request.model,
                apiVersion: request.apiVersion
            )
            return Chunks(responses: [first], trailingError: error)
        case .rateLimited, .status, .connectionReset, .hang, .htmlPage:
            preconditionFailure("\(kind) writes no 200 response with events")
        }
    }

    /// The events of a stream, each with its delay: thought summaries spread over the thinking
    /// time (which is silent without them), the first text event at its end, the others
    /// `timing.interval` apart.
    private static func streamPlan(
        _ chunks: Chunks,
        serverSentEvents: Bool,
        timing: StreamTiming,
        lineEnding: LineEnding
    ) -> WirePlan {
        var objects = chunks.responses
        if let error = chunks.trailingError { objects.append(Response(json: error.json)) }
        let thoughts = objects.prefix { $0.isThought }.count
        func delay(_ offset: Int) -> Duration {
            if offset == 0 { return thoughts > 0 ? .zero : timing.thinking }
            if offset <= thoughts { return timing.thinking / thoughts }
            return timing.interval
        }
        guard serverSentEvents else {
            // Without alt=sse the API streams one JSON array, element by element.
            var events: [WirePlan.Event] = []
            for (offset, object) in objects.enumerated() {
                let prefix = offset == 0 ? "[" : "," + lineEnding.bytes
                var bytes = Array((prefix + object.json.serialized(pretty: true)).utf8)
                if chunks.truncated, offset == objects.count - 1 {
                    bytes.removeLast(bytes.count / 2)
                }
                events.append(WirePlan.Event(delay: delay(offset), bytes: bytes))
            }
            if !chunks.truncated { events.append(WirePlan.Event(bytes: Array("]".utf8))) }
            return WirePlan(status: 200, headers: [("content-type", jsonType)], body: .events(events))
        }
        var events: [WirePlan.Event] = []
        for (offset, object) in objects.enumerated() {
            var event = Array("data: \(object.json.serialized())\(lineEnding.bytes)\(lineEnding.bytes)".utf8)
            if chunks.truncated, offset == objects.count - 1 {
                event = Array(event.prefix(event.count / 2))
            }
            events.append(WirePlan.Event(delay: delay(offset), bytes: event))
        }
        return WirePlan(status: 200, headers: [("content-type", eventStreamType)], body: .events(events))
    }

    // MARK: Pieces of a response

    private static func candidateJSON(parts: [JSONValue], finishReason: String?) -> JSONValue {
        var content: [(key: String, value: JSONValue)] = []
        if !parts.isEmpty { content.append(("parts", .array(parts))) }
        content.append(("role", "model"))
        var candidate: [(key: String, value: JSONValue)] = [("content", .object(content))]
        if let finishReason {
            candidate.append(("finishReason", .string(finishReason)))
            if finishReason == "SAFETY" { candidate.append(("safetyRatings", safetyRatings)) }
        }
        candidate.append(("index", 0))
        return .object(candidate)
    }

    /// `usageMetadata`, with the tier the request ran at when it asked for one (python-genai's
    /// `UsageMetadata.service_tier`).
    private static func usageJSON(_ usage: FakeGeminiServer.Usage, serviceTier: String?) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("promptTokenCount", .integer(usage.promptTokenCount))]
        if usage.candidatesTokenCount > 0 {
            members.append(("candidatesTokenCount", .integer(usage.candidatesTokenCount)))
        }
        members.append(("totalTokenCount", .integer(usage.totalTokenCount)))
        members.append(
            (
                "promptTokensDetails",
                .array([.object([("modality", "TEXT"), ("tokenCount", .integer(usage.promptTokenCount))])])
            )
        )
        if let thoughts = usage.thoughtsTokenCount { members.append(("thoughtsTokenCount", .integer(thoughts))) }
        if let serviceTier, serviceTier != "unspecified" { members.append(("serviceTier", .string(serviceTier))) }
        return .object(members)
    }

    private static let safetyRatings: JSONValue = .array(
        [
            ("HARM_CATEGORY_SEXUALLY_EXPLICIT", "NEGLIGIBLE"), ("HARM_CATEGORY_HATE_SPEECH", "NEGLIGIBLE"),
            ("HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE"), ("HARM_CATEGORY_DANGEROUS_CONTENT", "HIGH"),
        ].map { category, probability in
            var rating: [(key: String, value: JSONValue)] = [
                ("category", .string(category)), ("probability", .string(probability)),
            ]
            if probability == "HIGH" { rating.append(("blocked", true)) }
            return .object(rating)
        }
    )

    static let defaultThought = "**Planning the chapter**\n\nI read the prompt and decide what the chapter must cover."

    // MARK: Estimates

    /// Tokens as characters / 4, the API's own rule of thumb, never below 1 for a non-empty text.
    static func estimatedTokens(_ text: String) -> Int {
        text.isEmpty ? 0 : max(1, text.count / 4)
    }

    static func estimatedPromptTokens(_ request: FakeGeminiServer.Request) -> Int {
        max(1, estimatedTokens((request.systemInstruction ?? "") + request.prompt))
    }

    /// Thinking tokens are reported unless the request turned thinking off (budget 0).
    static func estimatedUsage(_ request: FakeGeminiServer.Request, text: String) -> FakeGeminiServer.Usage {
        let thoughts: Int? =
            switch request.generationConfig.thinkingBudget {
            case 0: nil
            case let budget? where budget > 0: min(budget, 256)
            default: 256
            }
        return .init(
            promptTokenCount: estimatedPromptTokens(request),
            candidatesTokenCount: estimatedTokens(text),
            thoughtsTokenCount: thoughts
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
