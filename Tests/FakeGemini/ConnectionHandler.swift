import Foundation
import NIOCore
import NIOHTTP1

/// Serves one TCP connection: collects each request, records it, checks path, key and body,
/// asks the configured decision for a reply, and writes it after the gate and latency.
///
/// NIO's `HTTPServerPipelineHandler` sits in front, so requests on one connection reach this
/// handler one at a time: there is at most one pending reply.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The API's documented request size limit.
    static let maximumBodyBytes = 20 * 1024 * 1024

    private struct Pending {
        var sequence: UInt64
        var index: Int
        var head: HTTPRequestHead
        var request: FakeGeminiServer.Request
        var reply: FakeGeminiServer.Reply
        var serverSentEvents: Bool
        var scheduled: Scheduled<Void>?
        var gateToken: UInt64?
    }

    private let configuration: FakeGeminiServer.Configuration
    private let state: ServerState
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    private var pending: Pending?
    private var sequence: UInt64 = 0

    init(configuration: FakeGeminiServer.Configuration, state: ServerState) {
        self.configuration = configuration
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandonPending()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonPending()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            bodyTooLarge = false
        case .body(var chunk):
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maximumBodyBytes {
                bodyTooLarge = true
                body?.clear()
            } else if !bodyTooLarge {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            let body = self.body.map { Array(buffer: $0) } ?? []
            self.head = nil
            self.body = nil
            handle(head: head, body: body, context: context)
        }
    }

    // MARK: Requests

    private func handle(head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let (rawPath, query) = Self.splitURI(head.uri)
        let path = rawPath.removingPercentEncoding ?? rawPath
        if path.hasPrefix("/_fake/") {
            serveFakeEndpoint(path: path, head: head, context: context)
            return
        }
        let record = FakeGeminiServer.RecordedRequest(
            arrival: .now,
            method: head.method.rawValue,
            path: path,
            query: query,
            headers: head.headers.map { ($0.name, $0.value) },
            body: body,
            disposition: .pending
        )
        let index = state.requestArrived(record)

        if head.method == .GET, let model = ModelRoute(path: path) {
            let answer = checkModel(model, head: head)
            state.modelChecked()
            state.requestCompleted(at: index, .answered(status: answer.status))
            write(answer, for: head, context: context)
            return
        }

        let request: FakeGeminiServer.Request
        let serverSentEvents: Bool
        switch check(head: head, path: path, query: query, body: body) {
        case .failure(let error):
            state.requestCompleted(at: index, .answered(status: error.code))
            write(ReplyRenderer.answer(for: error), for: head, context: context)
            return
        case .success(let checked):
            (request, serverSentEvents) = checked
        }

        var decided = request
        decided.attempt = state.requestDecided(at: index, model: request.model, prompt: request.prompt)
        let reply = configuration.reply(decided)
        sequence += 1
        pending = Pending(
            sequence: sequence,
            index: index,
            head: head,
            request: decided,
            reply: reply,
            serverSentEvents: serverSentEvents
        )
        if case .hang = reply.kind { return }  // Nothing, until the connection closes.
        waitForGate(context: context)
    }

    /// The route, key, headers and body checks, in the order the API applies them.
    private func check(
        head: HTTPRequestHead,
        path: String,
        query: String?,
        body: [UInt8]
    ) -> Result<(FakeGeminiServer.Request, serverSentEvents: Bool), GoogleError> {
        guard head.method == .POST, let route = Route(path: path) else { return .failure(.methodNotFound) }
        let parameters = Self.queryParameters(query)

        let key = head.headers.first(name: "x-goog-api-key") ?? parameters["key"]
        guard let key, !key.isEmpty else { return .failure(.missingKey) }
        if let expected = configuration.apiKey, key != expected { return .failure(.invalidKey) }

        if let timeout = head.headers.first(name: "x-server-timeout"), let seconds = Double(timeout), seconds < 10 {
            return .failure(
                .invalidArgument("The X-Server-Timeout header must be at least 10 seconds; got \(timeout).")
            )
        }
        if bodyTooLarge {
            return .failure(
                .invalidArgument("Request payload size exceeds the limit: \(Self.maximumBodyBytes) bytes.")
            )
        }
        let request: FakeGeminiServer.Request
        switch RequestValidator.validate(
            body: body,
            apiVersion: route.apiVersion,
            model: route.model,
            isStreaming: route.isStreaming
        ) {
        case .failure(let error): return .failure(error)
        case .success(let validated): request = validated
        }
        if let models = configuration.models, !models.contains(route.model) {
            return .failure(.modelNotFound(route.model, apiVersion: route.apiVersion))
        }
        return .success((request, parameters["alt"] == "sse"))
    }

    /// `GET /{v1beta|v1}/models/{model}` (models.get): the key and the model checked as for
    /// `generateContent`, and the model's description, costing no tokens.
    private func checkModel(_ route: ModelRoute, head: HTTPRequestHead) -> HTTPAnswer {
        let key = head.headers.first(name: "x-goog-api-key")
        guard let key, !key.isEmpty else { return ReplyRenderer.answer(for: .missingKey) }
        if let expected = configuration.apiKey, key != expected { return ReplyRenderer.answer(for: .invalidKey) }
        if let models = configuration.models, !models.contains(route.model) {
            return ReplyRenderer.answer(for: .modelNotFound(route.model, apiVersion: route.apiVersion))
        }
        let model: JSONValue = .object([
            ("name", .string("models/\(route.model)")),
            ("displayName", .string(route.model)),
            ("inputTokenLimit", .number(1_048_576)),
            ("outputTokenLimit", .number(65_536)),
            ("supportedGenerationMethods", .array([.string("generateContent"), .string("countTokens")])),
            ("thinking", true),
        ])
        return HTTPAnswer(
            status: 200,
            contentType: ReplyRenderer.jsonType,
            body: .whole(Array(model.serialized(pretty: true).utf8))
        )
    }

    // MARK: Replies

    private func waitForGate(context: ChannelHandlerContext) {
        guard let pending, let gate = pending.reply.gate else {
            waitForLatency(context: context)
            return
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let sequence = pending.sequence
        guard
            let token = gate.whenOpen({
                eventLoop.execute { handler.value.gateOpened(sequence: sequence) }
            })
        else {
            waitForLatency(context: context)
            return
        }
        self.pending?.gateToken = token
    }

    private func gateOpened(sequence: UInt64) {
        guard let context, pending?.sequence == sequence else { return }
        pending?.gateToken = nil
        waitForLatency(context: context)
    }

    private func waitForLatency(context: ChannelHandlerContext) {
        guard let pending else { return }
        guard pending.reply.latency > .zero else {
            deliver(sequence: pending.sequence)
            return
        }
        let sequence = pending.sequence
        self.pending?.scheduled = context.eventLoop.assumeIsolated().scheduleTask(
            in: Self.timeAmount(pending.reply.latency)
        ) {
            self.deliver(sequence: sequence)
        }
    }

    private func deliver(sequence: UInt64) {
        guard let context, let pending, pending.sequence == sequence else { return }
        self.pending = nil
        switch pending.reply.kind {
        case .hang:
            self.pending = pending  // Never delivered: `handle` keeps hung requests pending.
        case .connectionReset:
            state.requestCompleted(at: pending.index, .reset)
            context.close(promise: nil)
        default:
            let number = state.nextReplyNumber()
            let answer = ReplyRenderer.answer(
                for: pending.reply.kind,
                to: pending.request,
                responseId: "fake-\(number)",
                serverSentEvents: pending.serverSentEvents
            )
            state.requestCompleted(at: pending.index, .answered(status: answer.status))
            write(answer, for: pending.head, context: context)
        }
    }

    /// Forgets the pending reply when its connection goes away.
    private func abandonPending() {
        guard let pending else { return }
        self.pending = nil
        pending.scheduled?.cancel()
        if let token = pending.gateToken { pending.reply.gate?.cancel(token) }
        state.requestCompleted(at: pending.index, .abandoned)
    }

    private func write(_ answer: HTTPAnswer, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "vary", value: "Origin, X-Origin, Referer")
        headers.add(name: "server", value: "scaffolding on HTTPServer2")
        headers.add(name: "x-content-type-options", value: "nosniff")
        switch answer.body {
        case .whole(let bytes): headers.add(name: "content-length", value: String(bytes.count))
        case .chunks: headers.add(name: "transfer-encoding", value: "chunked")
        }
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil
        )
        switch answer.body {
        case .whole(let bytes):
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        case .chunks(let chunks):
            for chunk in chunks {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: nil)
            }
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: Fake endpoints

    /// `GET /_fake/stats`: the counters as JSON, for shell scripts.
    private func serveFakeEndpoint(path: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard path == "/_fake/stats", head.method == .GET else {
            write(ReplyRenderer.answer(for: GoogleError.methodNotFound), for: head, context: context)
            return
        }
        let statistics = state.statistics
        func counts(_ dictionary: [String: Int]) -> JSONValue {
            .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })
        }
        let json: JSONValue = .object([
            ("requests", .integer(statistics.requestCount)),
            ("byPrompt", counts(statistics.requestsByPrompt)),
            ("byModel", counts(statistics.requestsByModel)),
            ("inFlight", .integer(statistics.inFlight)),
            ("maxInFlight", .integer(statistics.maxInFlight)),
            ("rateLimited", .integer(statistics.rateLimitedCount)),
            ("keyInURL", .integer(statistics.keyInURLCount)),
            ("openConnections", .integer(statistics.openConnections)),
        ])
        let answer = HTTPAnswer(
            status: 200,
            contentType: ReplyRenderer.jsonType,
            body: .whole(Array(json.serialized(pretty: true).utf8))
        )
        write(answer, for: head, context: context)
    }

    // MARK: Helpers

    /// "/a/b?c=d" -> ("/a/b", "c=d"); no "?" gives a nil query.
    static func splitURI(_ uri: String) -> (path: String, query: String?) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }

    /// The query's parameters, percent-decoded; the first value wins.
    static func queryParameters(_ query: String?) -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            let name = decode(parts[0])
            if parameters[name] == nil { parameters[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return parameters
    }

    /// `duration` as NIO's `TimeAmount`, capped at a day so the conversion cannot overflow.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let cappedSeconds = min(seconds, 86_400)
        return .nanoseconds(cappedSeconds * 1_000_000_000 + attoseconds / 1_000_000_000)
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
