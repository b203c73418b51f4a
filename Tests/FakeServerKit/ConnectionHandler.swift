import Foundation
package import NIOCore
import NIOHTTP1

/// Serves one TCP connection for an API fake: collects each request, records it, lets the API
/// check it, applies the server's quota and storm, asks the API for its answer, and writes it as
/// its delivery says (gate, latency, paced events, stalls, cuts, trickles).
///
/// NIO's `HTTPServerPipelineHandler` sits in front, so requests on one connection reach this
/// handler one at a time: there is at most one pending reply.
final class ConnectionHandler<API: FakeAPI>: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest body read: Gemini's documented request size limit.
    static var maximumBodyBytes: Int { 20 * 1024 * 1024 }

    private struct Pending {
        var sequence: UInt64
        var index: Int
        var head: HTTPRequestHead
        var plan: WirePlan?
        var delivery: Delivery
        var isReset: Bool
        var extraHeaders: [(name: String, value: String)]
        var schedule: WireSchedule?
        var nextStep = 0
        var delayServed = false
        var scheduled: Scheduled<Void>?
        var gateToken: UInt64?
    }

    private let api: API
    private let state: ServerState
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    private var pending: Pending?
    private var sequence: UInt64 = 0

    init(api: API, state: ServerState) {
        self.api = api
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
        let (rawPath, query) = ConnectionHandlerHelpers.splitURI(head.uri)
        let path = rawPath.removingPercentEncoding ?? rawPath
        let incoming = IncomingRequest(head: head, path: path, query: query, body: body, bodyTooLarge: bodyTooLarge)
        if path.hasPrefix("/_fake/") {
            writeImmediately(ControlEndpoints.answer(to: incoming, api: api, state: state), for: head, context: context)
            return
        }
        let index = state.requestArrived(
            RecordedRequest(
                arrival: .now,
                method: head.method.rawValue,
                path: path,
                query: query,
                headers: head.headers.map { ($0.name, $0.value) },
                body: body
            )
        )

        if let plan = api.otherMethod(incoming) {
            respond(index: index, head: head, plan: plan, delivery: Delivery(), context: context)
            return
        }
        if let plan = api.modelCheck(incoming) {
            state.modelChecked()
            respond(index: index, head: head, plan: plan, delivery: Delivery(), context: context)
            return
        }

        let request: API.Decided
        switch api.check(incoming) {
        case .failure(let error):
            respond(index: index, head: head, plan: error.plan, delivery: Delivery(), context: context)
            return
        case .success(let decided):
            request = decided
        }

        let identity = api.identity(of: request)
        let admission = state.requestValidated(
            at: index,
            model: identity.model,
            prompt: identity.prompt,
            tokens: identity.tokens
        )
        switch admission {
        case .overQuota(let rejection, let limits):
            let headers = limits.map(api.quotaHeaders) ?? []
            respond(
                index: index,
                head: head,
                plan: api.quotaExceeded(rejection, request: request),
                delivery: Delivery(),
                extraHeaders: headers,
                context: context
            )
        case .overloaded(_, let limits):
            let headers = limits.map(api.quotaHeaders) ?? []
            respond(
                index: index,
                head: head,
                plan: api.overloaded(request),
                delivery: Delivery(),
                extraHeaders: headers,
                context: context
            )
        case .admitted(let attempt, let limits):
            let headers = limits.map(api.quotaHeaders) ?? []
            switch api.answer(request, attempt: attempt, replyNumber: state.nextReplyNumber()) {
            case .hang:
                // Nothing, until the connection closes.
                sequence += 1
                pending = Pending(
                    sequence: sequence,
                    index: index,
                    head: head,
                    plan: nil,
                    delivery: Delivery(),
                    isReset: false,
                    extraHeaders: []
                )
            case .reset(let delivery):
                respond(index: index, head: head, plan: nil, delivery: delivery, context: context)
            case .respond(let plan, let delivery):
                respond(
                    index: index,
                    head: head,
                    plan: plan,
                    delivery: delivery,
                    extraHeaders: headers,
                    context: context
                )
            }
        }
    }

    // MARK: Replies

    /// Starts delivering `plan` (or a reset, when nil) for the request at `index`.
    private func respond(
        index: Int,
        head: HTTPRequestHead,
        plan: WirePlan?,
        delivery: Delivery,
        extraHeaders: [(name: String, value: String)] = [],
        context: ChannelHandlerContext
    ) {
        sequence += 1
        pending = Pending(
            sequence: sequence,
            index: index,
            head: head,
            plan: plan,
            delivery: delivery,
            isReset: plan == nil,
            extraHeaders: extraHeaders
        )
        waitForGate(context: context)
    }

    private func waitForGate(context: ChannelHandlerContext) {
        guard let pending, let gate = pending.delivery.gate else {
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
        guard pending.delivery.latency > .zero else {
            start(sequence: pending.sequence)
            return
        }
        let sequence = pending.sequence
        self.pending?.scheduled = context.eventLoop.assumeIsolated().scheduleTask(
            in: ConnectionHandlerHelpers.timeAmount(pending.delivery.latency)
        ) {
            guard self.pending?.sequence == sequence else { return }
            self.pending?.scheduled = nil
            self.start(sequence: sequence)
        }
    }

    /// Writes the status line and runs the body's schedule.
    private func start(sequence: UInt64) {
        guard let context, var pending, pending.sequence == sequence else { return }
        guard let plan = pending.plan, !pending.isReset else {
            self.pending = nil
            state.requestFinished(at: pending.index, .reset)
            context.close(promise: nil)
            return
        }
        let schedule = WireSchedule.make(
            plan.body,
            interruption: pending.delivery.interruption,
            byteInterval: pending.delivery.byteInterval,
            split: api.split
        )
        pending.schedule = schedule
        self.pending = pending
        state.replyStarted(at: pending.index, status: plan.status)

        var headers = HTTPHeaders()
        for header in plan.headers + api.commonHeaders + pending.extraHeaders {
            headers.add(name: header.name, value: header.value)
        }
        if let contentLength = schedule.contentLength {
            headers.add(name: "content-length", value: String(contentLength))
        } else {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        if !pending.head.isKeepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: plan.status)
        let responseHead = HTTPResponseHead(version: pending.head.version, status: status, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(responseHead)), promise: nil)
        runSteps(sequence: sequence)
    }

    /// Writes the steps that are due, schedules the next delayed one, and ends the body after the
    /// last. A step's delay is served once (`delayServed`), then the step is written.
    private func runSteps(sequence: UInt64) {
        guard let context else { return }
        while let pending, pending.sequence == sequence, let schedule = pending.schedule, pending.scheduled == nil {
            guard pending.nextStep < schedule.steps.count else {
                finish(context: context)
                return
            }
            if pending.delivery.preemption?.isRaised == true, let status = pending.plan?.status {
                // The slot went to another request: the body ends here, cleanly, unfinished.
                self.pending = nil
                state.requestFinished(at: pending.index, .interrupted(status: status))
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let step = schedule.steps[pending.nextStep]
            if step.delay > .zero, !pending.delayServed {
                self.pending?.scheduled = context.eventLoop.assumeIsolated().scheduleTask(
                    in: ConnectionHandlerHelpers.timeAmount(step.delay)
                ) {
                    guard self.pending?.sequence == sequence else { return }
                    self.pending?.scheduled = nil
                    self.pending?.delayServed = true
                    self.runSteps(sequence: sequence)
                }
                return
            }
            self.pending?.nextStep += 1
            self.pending?.delayServed = false
            state.replyProgressed(at: pending.index, eventsComplete: step.eventsComplete, bytes: step.bytes.count)
            let isLast = pending.nextStep + 1 == schedule.steps.count
            if isLast, schedule.ending == .complete || schedule.ending == .truncated, let status = pending.plan?.status
            {
                state.requestFinished(at: pending.index, .answered(status: status))
            }
            if !step.bytes.isEmpty {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: step.bytes)))), promise: nil)
            }
        }
    }

    /// Ends the body as the schedule says, once every step is written.
    private func finish(context: ChannelHandlerContext) {
        guard let pending, let schedule = pending.schedule, let status = pending.plan?.status else { return }
        switch schedule.ending {
        case .complete, .truncated:
            self.pending = nil
            state.requestFinished(at: pending.index, .answered(status: status))
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !pending.head.isKeepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        case .closed:
            self.pending = nil
            state.requestFinished(at: pending.index, .interrupted(status: status))
            context.flush()
            context.close(promise: nil)
        case .silent:
            // Leave the reply streaming, until the client (or a shutdown) closes the connection.
            self.pending?.schedule = nil
            context.flush()
        }
    }

    /// Forgets the pending reply when its connection goes away.
    private func abandonPending() {
        guard let pending else { return }
        self.pending = nil
        pending.scheduled?.cancel()
        if let token = pending.gateToken { pending.delivery.gate?.cancel(token) }
        state.requestFinished(at: pending.index, .abandoned)
    }

    /// Writes a whole reply at once, outside the request accounting (the `/_fake/` endpoints).
    private func writeImmediately(_ plan: WirePlan, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .whole(let bytes) = plan.body else { return }
        var headers = HTTPHeaders()
        for header in plan.headers + api.commonHeaders { headers.add(name: header.name, value: header.value) }
        headers.add(name: "content-length", value: String(bytes.count))
        if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: .init(statusCode: plan.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Pure helpers of the connection handler.
package enum ConnectionHandlerHelpers {
    /// "/a/b?c=d" -> ("/a/b", "c=d"); no "?" gives a nil query.
    package static func splitURI(_ uri: String) -> (path: String, query: String?) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }

    /// The query's parameters, percent-decoded; the first value wins.
    package static func queryParameters(_ query: String?) -> [String: String] {
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
    package static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let cappedSeconds = min(max(seconds, 0), 86_400)
        return .nanoseconds(cappedSeconds * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
    }
}
