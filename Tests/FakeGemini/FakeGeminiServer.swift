import NIOCore
import NIOHTTP1
import NIOPosix

/// A local stand-in for the Gemini API (`generativelanguage.googleapis.com`) that speaks its
/// wire format on 127.0.0.1 over HTTP/1.1 with keep-alive, so tests exercise a real HTTP client.
///
/// It serves `POST /{v1beta|v1}/models/{model}:generateContent` and
/// `:streamGenerateContent` (server-sent events with `?alt=sse`, else a JSON array), checks the
/// key and the body as the real API does, and answers each valid request as the configured
/// ``Configuration/reply`` decides: success, an error in Google's JSON shape, an empty answer,
/// a cut body, a reset connection or a hang, after a latency. It records every request and
/// serves its statistics at `GET /_fake/stats`.
///
/// Start with ``start(_:)``, point the client at ``baseURL``, and always ``shutdown()``. Any
/// number of servers may run in one process; they share NIO's singleton event loop group.
public final class FakeGeminiServer: Sendable {
    /// How a server listens, which key and models it accepts, and how it answers.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host: String
        /// The port to listen on; 0 lets the system pick a free one (see ``FakeGeminiServer/port``).
        public var port: Int
        /// The only key accepted; nil accepts any non-empty key. A missing key is 403
        /// PERMISSION_DENIED, another key 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
        public var apiKey: String?
        /// The models served; others get 404 NOT_FOUND. nil serves any model name.
        public var models: Set<String>?
        /// Decides the reply to each valid request. Runs on an event loop thread: it must return
        /// quickly and never block (use ``Reply/held(by:)`` or ``Reply/after(_:)`` to delay).
        public var reply: @Sendable (Request) -> Reply

        /// - Parameters:
        ///   - host: Defaults to "127.0.0.1".
        ///   - port: Defaults to 0, a free port.
        ///   - apiKey: Defaults to ``FakeGeminiServer/defaultAPIKey``.
        ///   - models: Defaults to ``FakeGeminiServer/knownModels``.
        ///   - reply: Defaults to success with ``FakeGeminiServer/defaultText(for:)``.
        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            apiKey: String? = FakeGeminiServer.defaultAPIKey,
            models: Set<String>? = FakeGeminiServer.knownModels,
            reply: @escaping @Sendable (Request) -> Reply = { _ in .success() }
        ) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.models = models
            self.reply = reply
        }
    }

    /// The key a server expects unless configured otherwise.
    public static let defaultAPIKey = "fake-gemini-test-key"

    /// The model names served by default.
    public static let knownModels: Set<String> = [
        "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash",
        "gemini-2.0-flash-lite", "gemini-flash-latest", "gemini-flash-lite-latest", "gemini-pro-latest",
    ]

    /// The configuration the server was started with.
    public let configuration: Configuration
    /// The port the server listens on.
    public let port: Int
    private let state: ServerState
    private let serverChannel: any Channel

    /// The base URL to give a client: "http://127.0.0.1:PORT", no trailing slash.
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)"
    }

    private init(configuration: Configuration, port: Int, state: ServerState, serverChannel: any Channel) {
        self.configuration = configuration
        self.port = port
        self.state = state
        self.serverChannel = serverChannel
    }

    /// Starts a server listening on `configuration.host` and `configuration.port`.
    ///
    /// - Throws: ``FakeGeminiError`` `.bindFailed` when the address cannot be bound.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> FakeGeminiServer {
        let state = ServerState()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                state.connectionOpened(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(configuration: configuration, state: state)
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw FakeGeminiError.bindFailed(host: configuration.host, port: configuration.port, underlying: error)
        }
        let port = channel.localAddress?.port ?? configuration.port
        return FakeGeminiServer(configuration: configuration, port: port, state: state, serverChannel: channel)
    }

    /// Starts a server on a free port of 127.0.0.1 that answers with `reply`.
    public static func start(
        apiKey: String? = defaultAPIKey,
        reply: @escaping @Sendable (Request) -> Reply
    ) async throws -> FakeGeminiServer {
        try await start(Configuration(apiKey: apiKey, reply: reply))
    }

    /// Stops listening, closes every open connection (pending replies are abandoned) and fails
    /// every pending wait with `.shutDown`. Returns once all connections are closed; calling it
    /// again does nothing.
    public func shutdown() async throws {
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

    // MARK: Observing

    /// A snapshot of the requests seen so far and the counters derived from them.
    public var statistics: Statistics {
        state.statistics
    }

    /// Suspends until `condition` holds for the statistics, checking after every change (event
    /// driven, no polling).
    ///
    /// `condition` runs while the server's state is locked: it must only read the statistics it
    /// is given. Because it is checked at every change, a condition that holds only for an
    /// instant, such as `inFlight == 4`, is still seen.
    ///
    /// - Parameter timeout: A safety net for broken tests, not a measurement.
    /// - Throws: ``FakeGeminiError`` `.timedOut` after `timeout`, `.shutDown` if the server shuts
    ///   down first; `CancellationError` if the task is cancelled.
    public func waitUntil(
        timeout: Duration = .seconds(60),
        _ condition: @escaping @Sendable (Statistics) -> Bool
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.state.wait(until: condition) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw FakeGeminiError.timedOut(after: timeout)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Suspends until at least `count` requests have arrived (``Statistics/requestCount``).
    ///
    /// - Throws: As ``waitUntil(timeout:_:)``.
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        try await waitUntil(timeout: timeout) { $0.requestCount >= count }
    }

    // MARK: Text

    /// The text a default success carries: deterministic for a model and prompt, and holding the
    /// prompt verbatim so a test can tell which request a chapter was written from.
    public static func defaultText(for request: Request) -> String {
        """
        This is a fake chapter written by fake-gemini (\(request.model)).

        It answers this prompt:

        \(request.prompt)

        End of the fake chapter.
        """
    }
}
