import Generation
import Platform
import SystemPackage
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// `--metrics-listen HOST:PORT`: serves `GET /metrics` in Prometheus text format, a tiny HTTP/1.1
/// server on swift-nio that the daemon runs as a service of its group. Every other path is 404,
/// every other method on `/metrics` 405; request bodies are ignored.
///
/// The socket is bound by `start`, before the daemon's group runs, so an address that cannot be
/// used (taken, not local) stops the daemon at start with a clear message rather than later.
/// `run` serves until graceful shutdown; first in the group, the endpoint stays up while runs
/// drain.
struct MetricsServer: Service {
    private let channel: any Channel
    private let logger: Logger

    /// Where it listens (the port a `:0` request got).
    var address: SocketAddress? { channel.localAddress }

    /// Binds `address` (`HOST:PORT`, an IPv6 host in brackets) and starts answering scrapes from
    /// `registry`.
    /// - Throws: `MetricsServerError` when the address cannot be bound.
    static func start(address: String, registry: PrometheusCollectorRegistry, logger: Logger) async throws
        -> MetricsServer
    {
        let (host, port) = split(address)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            // NIO's own description names its internals (`bind(descriptor:ptr:bytes:)`): say
            // what the system said, in its words.
            let reason =
                switch error {
                case let error as IOError: Errno(rawValue: error.errnoCode).words
                case is SocketAddressError: "not an address of this machine"
                default: "the system refused it"
                }
            throw MetricsServerError(address: address, underlying: reason)
        }
        let server = MetricsServer(channel: channel, logger: logger)
        // The port bound, which differs from the one asked for with `:0`.
        let bound = "\(host.contains(":") ? "[\(host)]" : host):\(server.address?.port ?? port)"
        logger.info("serving metrics", metadata: ["address": "\(bound)", "path": "/metrics"])
        return server
    }

    /// `127.0.0.1:9464` -> ("127.0.0.1", 9464); `[::1]:9464` -> ("::1", 9464). The setting's
    /// type has checked the form.
    static func split(_ address: String) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":") else { return (address, 0) }
        var host = address[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return (String(host), Int(address[address.index(after: colon)...]) ?? 0)
    }

    /// Serves until graceful shutdown (or cancellation), then closes the socket.
    func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
        logger.debug("metrics no longer served")
    }

    /// The registry the daemon's metrics go to, bootstrapped as swift-metrics' backend. Once per
    /// process: swift-metrics allows one bootstrap.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.chapterDuration] = MetricName.chapterDurationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }
}

/// The metrics address could not be bound.
struct MetricsServerError: CodedError {
    enum Code: String, ErrorCode {
        /// The address is taken, not this machine's, or refused.
        case cannotBind
    }

    let code = Code.cannotBind
    let address: String
    /// Why, in the system's words.
    let underlying: String
    let origin: SourceOrigin

    init(address: String, underlying: String, fileID: String = #fileID, line: Int = #line) {
        self.address = address
        self.underlying = underlying
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    var message: String {
        "cannot serve metrics on \(address): \(underlying); choose a free port on a local address "
            + "(--metrics-listen, metrics-listen: in the config file)"
    }
}

/// Answers one connection's requests: `GET /metrics` with the registry's text, the rest with
/// an error status. Keeps the connection open when the client asks to.
private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var request: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        var body: [UInt8]
        var headers = HTTPHeaders()
        switch (path, head.method) {
        case ("/metrics", .GET), ("/metrics", .HEAD):
            status = .ok
            body = registry.emitToBuffer()
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        case ("/metrics", _):
            status = .methodNotAllowed
            body = Array("only GET /metrics\n".utf8)
            headers.add(name: "Allow", value: "GET, HEAD")
        default:
            status = .notFound
            body = Array("not found: metrics are at /metrics\n".utf8)
        }
        if status != .ok { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        headers.add(name: "Content-Length", value: "\(body.count)")
        if head.method == .HEAD { body = [] }
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if !body.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                promise: nil
            )
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
