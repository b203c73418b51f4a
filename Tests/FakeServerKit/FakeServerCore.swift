import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening socket, connections and bookkeeping an API fake runs on. Each public fake
/// (`FakeGeminiServer`, `FakeOpenAIServer`) owns one and exposes it through ``FakeServer``.
public final class FakeServerCore: Sendable {
    /// What the server enforces whatever the API: where it listens, its quota and storm, how it
    /// cuts stream events into writes, and whether it starts unresponsive.
    package struct Settings: Sendable {
        package var host: String
        package var port: Int
        package var quota: QuotaPolicy?
        package var storm: StormPolicy?
        package var unresponsive: Bool
        /// What the quota and a scheduled storm follow; nil: the real clock.
        package var clock: FakeServerClock?

        package init(
            host: String,
            port: Int,
            quota: QuotaPolicy?,
            storm: StormPolicy?,
            unresponsive: Bool,
            clock: FakeServerClock? = nil
        ) {
            self.host = host
            self.port = port
            self.quota = quota
            self.storm = storm
            self.unresponsive = unresponsive
            self.clock = clock
        }
    }

    package let host: String
    package let port: Int
    package let state: ServerState
    private let serverChannel: any Channel

    private init(host: String, port: Int, state: ServerState, serverChannel: any Channel) {
        self.host = host
        self.port = port
        self.state = state
        self.serverChannel = serverChannel
    }

    /// Starts listening and serving `api`.
    ///
    /// - Throws: ``FakeServerError`` `.bindFailed` when the address cannot be bound.
    package static func start<API: FakeAPI>(_ settings: Settings, api: API) async throws -> FakeServerCore {
        let state = ServerState(
            quota: settings.quota,
            storm: settings.storm,
            unresponsive: settings.unresponsive,
            clock: settings.clock
        )
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let unresponsive = state.isUnresponsive
                guard state.connectionOpened(channel, unresponsive: unresponsive) else {
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                guard !unresponsive else {
                    // Accepted, then never read: the request stays in the socket's buffer.
                    return channel.setOption(.autoRead, value: false)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(api: api, state: state))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch {
            throw FakeServerError.bindFailed(host: settings.host, port: settings.port, underlying: error)
        }
        let port = channel.localAddress?.port ?? settings.port
        return FakeServerCore(host: settings.host, port: port, state: state, serverChannel: channel)
    }

    /// "http://HOST:PORT", no trailing slash.
    package var origin: String {
        let host = host.contains(":") ? "[\(host)]" : host
        return "http://\(host):\(port)"
    }

    /// Stops listening, closes every open connection (pending replies are abandoned) and fails
    /// every pending wait with `.shutDown`. Returns once all connections are closed; calling it
    /// again does nothing.
    package func shutdown() async throws {
        let channels = state.beginShutdown()
        do {
            try await serverChannel.close()
        } catch ChannelError.alreadyClosed {
            // A second shutdown.
        }
        for channel in channels {
            channel.close(promise: nil)
            try await channel.closeFuture.get()
        }
    }
}

/// What every fake server offers, whatever API it speaks: its address, statistics, waiting on
/// them, switches for a storm and for unresponsiveness, and shutdown.
public protocol FakeServer: Sendable {
    /// The shared machinery; opaque outside the fake modules.
    var core: FakeServerCore { get }
}

extension FakeServer {
    /// The port the server listens on.
    public var port: Int { core.port }

    /// A snapshot of the requests seen so far and the counters derived from them.
    public var statistics: FakeServerStatistics {
        core.state.statistics
    }

    /// Suspends until `condition` holds for the statistics, checking after every change (event
    /// driven, no polling).
    ///
    /// `condition` runs while the server's state is locked: it must only read the statistics it
    /// is given. Because it is checked at every change, a condition that holds only for an
    /// instant, such as `inFlight == 4`, is still seen.
    ///
    /// - Parameter timeout: how long to wait at most; nil (the default): ten minutes, only so
    ///   that a condition that never holds fails the test instead of hanging the run (a starved
    ///   machine makes a test slower, not failed).
    /// - Throws: ``FakeServerError`` `.timedOut` after `timeout`, `.shutDown` if the server shuts
    ///   down first; `CancellationError` if the task is cancelled.
    public func waitUntil(
        timeout: Duration? = nil,
        _ condition: @escaping @Sendable (FakeServerStatistics) -> Bool
    ) async throws {
        let state = core.state
        let timeout = timeout ?? .seconds(600)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await state.wait(until: condition) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw FakeServerError.timedOut(after: timeout)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Suspends until at least `count` requests have arrived (``FakeServerStatistics/requestCount``).
    ///
    /// - Throws: As ``waitUntil(timeout:_:)``.
    public func waitForRequests(_ count: Int, timeout: Duration? = nil) async throws {
        try await waitUntil(timeout: timeout) { $0.requestCount >= count }
    }

    /// Switches an overload storm on: from now until ``endStorm()``, the share of requests that
    /// `policy` picks get 503 UNAVAILABLE. Deterministic: a test decides when, not the clock.
    public func beginStorm(_ policy: StormPolicy = StormPolicy()) {
        core.state.switchStorm(policy)
    }

    /// Switches the storm off (a scheduled one still runs on its schedule).
    public func endStorm() {
        core.state.switchStorm(nil)
    }

    /// Whether a storm is in force now.
    public var isStormActive: Bool {
        core.state.activeStorm() != nil
    }

    /// While true, new connections are accepted and then never read nor answered (the request
    /// stays in the socket's buffer): a server that is up but stuck. Open connections are not
    /// affected. Unresponsive connections count in ``FakeServerStatistics/unresponsiveConnections``,
    /// not as requests.
    public var isUnresponsive: Bool {
        get { core.state.isUnresponsive }
        nonmutating set { core.state.isUnresponsive = newValue }
    }

    /// The quota's limits as they stand now; nil without a quota.
    public var quotaSnapshot: QuotaSnapshot? {
        core.state.quotaSnapshot()
    }

    /// Stops listening, closes every open connection (pending replies are abandoned) and fails
    /// every pending wait with `.shutDown`. Returns once all connections are closed; calling it
    /// again does nothing.
    public func shutdown() async throws {
        try await core.shutdown()
    }
}
