public import FakeServerKit

/// A local stand-in for the Gemini API (`generativelanguage.googleapis.com`) that speaks its
/// wire format on 127.0.0.1 over HTTP/1.1 with keep-alive, so tests exercise a real HTTP client.
///
/// It serves `POST /{v1beta|v1}/models/{model}:generateContent` and
/// `:streamGenerateContent` (server-sent events with `?alt=sse`, else a JSON array), checks the
/// key and the body as the real API does, and answers each valid request as the configured
/// ``Configuration/reply`` decides: success, an error in Google's JSON shape, an empty answer,
/// a cut body, a reset connection, a hang, an HTML page, after a latency and at a pace, with the
/// wire faults of ``Delivery`` (stalls, cuts, clean ends without a finish reason, trickles).
/// Before the decision, an optional ``Configuration/quota`` answers 429 with Google's
/// QuotaFailure and RetryInfo, and a storm answers 503. It records every request and serves its
/// statistics at `GET /_fake/stats`. It also answers models.get (`GET …/models/{model}`) and
/// models.list (`GET …/models?pageSize=&pageToken=`, in pages), and refuses a Gemini 3 request
/// that carries `thinkingBudget` (400) as the API does. Service tiers: a flex request waits
/// silently in a queue before its first byte (``Configuration/flexQueue``), may be shed
/// (``Configuration/flexShedAttempts``), and is refused by models that do not take it; its
/// `usageMetadata.serviceTier` says the tier it ran at. Batch API jobs
/// (`:batchGenerateContent`, `GET …/batches/{id}`) change state on a schedule (``FakeBatchJobs``).
///
/// Start with ``start(_:)``, point the client at ``baseURL``, and always `shutdown()`. Any
/// number of servers may run in one process; they share NIO's singleton event loop group.
public final class FakeGeminiServer: FakeServer {
    /// How a server listens, which key and models it accepts, and how it answers.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host: String
        /// The port to listen on; 0 lets the system pick a free one (see `port`).
        public var port: Int
        /// The only key accepted; nil accepts any non-empty key. A missing key is 403
        /// PERMISSION_DENIED, another key 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
        public var apiKey: String?
        /// The models served; others get 404 NOT_FOUND. nil serves any model name.
        public var models: Set<String>?
        /// Decides the reply to each valid request that gets past the quota and the storm. Runs
        /// on an event loop thread: it must return quickly and never block (delay with the
        /// reply's modifiers: ``Reply/after(_:)``, ``Reply/held(by:)``, ...).
        public var reply: @Sendable (Request) -> Reply
        /// When set, every reply's latency (plain) or pacing (streamed) is drawn from this model
        /// for its prompt and attempt, replacing what the decision set.
        public var latency: LatencyModel?
        /// Requests per window (sliding) and per day, enforced before the decision with the real
        /// 429; nil for none.
        public var quota: QuotaPolicy?
        /// An overload storm on a schedule from the server's start; tests switch one on with
        /// `beginStorm(_:)` instead.
        public var storm: StormPolicy?
        /// The line ending of stream events: CRLF like the live service, or LF.
        public var lineEnding: LineEnding
        /// Where stream events are cut into separate writes.
        public var split: SplitPolicy
        /// Start unresponsive (see `isUnresponsive`).
        public var unresponsive: Bool
        /// False: `GET …/models/{model}` gets a plain-text 404 as from a gateway in front of the
        /// API that forwards only generation requests.
        public var forwardsModelCheck = true
        /// The time the quota's window and a scheduled storm follow, moved by the test; nil (the
        /// default): the real clock.
        public var clock: FakeServerClock?
        /// The most models one page of `GET /v1beta/models` holds, whatever `pageSize` asks
        /// (the API's own cap is 1000; tests set a small one to exercise paging).
        public var modelPageSize = 50
        /// The models that take `serviceTier: flex` and `priority`; a request with either tier to
        /// another model gets 400 INVALID_ARGUMENT naming the tier. nil: every model takes them.
        public var tieredModels: Set<String>?
        /// How long a flex request waits in the flex queue before its status line: silence, then
        /// the reply as decided (Google's target is 1 to 15 minutes).
        public var flexQueue: Duration = .zero
        /// The first this-many attempts of each flex prompt are shed: 503 UNAVAILABLE, as when
        /// the flex queue is full.
        public var flexShedAttempts = 0
        /// How Batch API jobs change state over time (on `clock`); by default a job has succeeded
        /// by its first poll.
        public var batchSchedule = FakeBatchJobs.Schedule()

        /// - Parameters:
        ///   - host: Defaults to "127.0.0.1".
        ///   - port: Defaults to 0, a free port.
        ///   - apiKey: Defaults to ``FakeGeminiServer/defaultAPIKey``.
        ///   - models: Defaults to ``FakeGeminiServer/knownModels``.
        ///   - reply: Defaults to success with ``FakeGeminiServer/defaultText(for:)``.
        ///   - latency: Defaults to none: replies wait what the decision says.
        ///   - quota: Defaults to none.
        ///   - storm: Defaults to none.
        ///   - lineEnding: Defaults to CRLF, as the live service.
        ///   - split: Defaults to two writes per event.
        ///   - unresponsive: Defaults to false.
        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            apiKey: String? = FakeGeminiServer.defaultAPIKey,
            models: Set<String>? = FakeGeminiServer.knownModels,
            latency: LatencyModel? = nil,
            quota: QuotaPolicy? = nil,
            storm: StormPolicy? = nil,
            lineEnding: LineEnding = .crlf,
            split: SplitPolicy = .halves,
            unresponsive: Bool = false,
            reply: @escaping @Sendable (Request) -> Reply = { _ in .success() }
        ) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.models = models
            self.reply = reply
            self.latency = latency
            self.quota = quota
            self.storm = storm
            self.lineEnding = lineEnding
            self.split = split
            self.unresponsive = unresponsive
        }
    }

    // The shared machinery's types, under this server's name, so `import FakeGemini` is enough.
    public typealias Gate = FakeServerKit.Gate
    public typealias Statistics = FakeServerStatistics
    public typealias RecordedRequest = FakeServerKit.RecordedRequest
    public typealias Disposition = FakeServerKit.Disposition
    public typealias Rejection = FakeServerKit.Rejection
    public typealias FaultMix = FakeServerKit.FaultMix<Reply>
    public typealias Delivery = FakeServerKit.Delivery
    public typealias StreamTiming = FakeServerKit.StreamTiming
    public typealias Interruption = FakeServerKit.Interruption
    public typealias LatencyModel = FakeServerKit.LatencyModel
    public typealias QuotaPolicy = FakeServerKit.QuotaPolicy
    public typealias StormPolicy = FakeServerKit.StormPolicy
    public typealias LineEnding = FakeServerKit.LineEnding
    public typealias SplitPolicy = FakeServerKit.SplitPolicy

    /// The key a server expects unless configured otherwise.
    public static let defaultAPIKey = "fake-gemini-test-key"

    /// The model names served by default: Google's catalog as of December 2026. Listed by
    /// `GET /v1beta/models` in sorted order.
    public static let knownModels: Set<String> = [
        "gemini-3.8-flash", "gemini-3.7-flash", "gemini-3.6-flash", "gemini-3.5-flash-lite", "gemini-3.1-flash-lite",
        "gemini-3.1-pro-preview", "gemini-2.5-flash-lite", "gemini-flash-latest", "gemini-flash-lite-latest",
        "gemini-pro-latest",
    ]

    /// Models Google has shut down: not in ``knownModels``, so they answer 404 NOT_FOUND
    /// ("models/X is not found for API version v1beta … Call ListModels …") on models.get and
    /// generateContent, as any unknown name does. Named here for tests that want a retired one.
    public static let retiredModels: Set<String> = [
        "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-3-pro-preview",
        "gemini-3-flash-preview",
    ]

    /// The configuration the server was started with.
    public let configuration: Configuration
    public let core: FakeServerCore
    /// The Batch API jobs created on this server: how many, their names; `release()` ends held
    /// ones.
    public let batches: FakeBatchJobs

    /// The base URL to give a client: "http://127.0.0.1:PORT", no trailing slash.
    public var baseURL: String {
        core.origin
    }

    private init(configuration: Configuration, core: FakeServerCore, batches: FakeBatchJobs) {
        self.configuration = configuration
        self.core = core
        self.batches = batches
    }

    /// Starts a server listening on `configuration.host` and `configuration.port`.
    ///
    /// - Throws: ``FakeGeminiError`` `.bindFailed` when the address cannot be bound.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> FakeGeminiServer {
        let settings = FakeServerCore.Settings(
            host: configuration.host,
            port: configuration.port,
            quota: configuration.quota,
            storm: configuration.storm,
            unresponsive: configuration.unresponsive,
            clock: configuration.clock
        )
        let batches = FakeBatchJobs(schedule: configuration.batchSchedule, clock: configuration.clock)
        let core = try await FakeServerCore.start(
            settings,
            api: GeminiAPI(configuration: configuration, batches: batches)
        )
        return FakeGeminiServer(configuration: configuration, core: core, batches: batches)
    }

    /// Starts a server on a free port of 127.0.0.1 that answers with `reply`.
    public static func start(
        apiKey: String? = defaultAPIKey,
        reply: @escaping @Sendable (Request) -> Reply
    ) async throws -> FakeGeminiServer {
        try await start(Configuration(apiKey: apiKey, reply: reply))
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

/// Why a call on ``FakeGeminiServer`` failed.
public typealias FakeGeminiError = FakeServerError

extension FakeServerKit.FaultMix where Reply == FakeGeminiServer.Reply {
    /// A mix of `faults` whose other attempts succeed with the default text.
    public init(
        faults: [Fault],
        seed: UInt64,
        maxFailuresPerPrompt: Int = 2,
        latency: Duration = .zero,
        latencyModel: LatencyModel? = nil
    ) {
        self.init(
            faults: faults,
            success: .success(),
            seed: seed,
            maxFailuresPerPrompt: maxFailuresPerPrompt,
            latency: latency,
            latencyModel: latencyModel
        )
    }

    /// Roughly what a busy day of Gemini looks like: 10% 503, 5% 500, 5% 429 with
    /// retryDelay "1s", 3% STOP without parts, 2% cut JSON, 1% connection reset.
    public static func realistic(
        seed: UInt64 = 1,
        maxFailuresPerPrompt: Int = 2,
        latency: Duration = .zero,
        latencyModel: LatencyModel? = nil
    ) -> Self {
        Self(
            faults: [
                Fault(.status(code: 503), probability: 0.10),
                Fault(.status(code: 500), probability: 0.05),
                Fault(.rateLimited(retryDelay: "1s"), probability: 0.05),
                Fault(.emptyParts, probability: 0.03),
                Fault(.malformedJSON, probability: 0.02),
                Fault(.connectionReset, probability: 0.01),
            ],
            seed: seed,
            maxFailuresPerPrompt: maxFailuresPerPrompt,
            latency: latency,
            latencyModel: latencyModel
        )
    }

    /// The reply for `request`, a pure function of the seed, the prompt and the attempt.
    public func reply(for request: FakeGeminiServer.Request) -> FakeGeminiServer.Reply {
        reply(prompt: request.prompt, attempt: request.attempt, isStreaming: request.isStreaming)
    }
}
