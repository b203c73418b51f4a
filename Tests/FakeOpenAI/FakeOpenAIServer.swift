public import FakeServerKit

/// A local stand-in for an OpenAI-compatible chat completions server (OpenAI itself, or Ollama,
/// llama.cpp's server, vLLM, LM Studio) on 127.0.0.1 over HTTP/1.1, so tests exercise a real
/// HTTP client.
///
/// It serves `POST /v1/chat/completions` and `GET /v1/models/{model}`, checks `Authorization: Bearer KEY`, the model and the
/// body as OpenAI does (errors in its `{"error": {"message", "type", "param", "code"}}` shape),
/// and answers each valid request as ``Configuration/reply`` decides: a completion (or a stream
/// of `chat.completion.chunk` events ending with `data: [DONE]`), `finish_reason: "length"`, an
/// empty content, 429/500/503 and the wire faults of ``Delivery``. With
/// ``Configuration/rateLimits`` it enforces requests and tokens per window, reports them in
/// `x-ratelimit-*` headers on every answer, and answers 429 with `Retry-After` and
/// `retry-after-ms` when they run out. Switches make it behave like the local servers: no key
/// needed, any model, `max_completion_tokens` rejected or ignored. It records every request and
/// serves its statistics at `GET /_fake/stats`.
///
/// Start with ``start(_:)``, point the client at ``baseURL`` (which ends in `/v1`), and always
/// `shutdown()`.
public final class FakeOpenAIServer: FakeServer {
    /// Which `Authorization` the server accepts.
    public enum KeyPolicy: Sendable, Hashable {
        /// Only `Bearer KEY`; no key or another key is 401.
        case exactly(String)
        /// Any non-empty bearer key; none is 401.
        case anyNonEmpty
        /// The header is not looked at, as Ollama, llama.cpp and vLLM do unless started with a key.
        case notRequired
    }

    /// How the server treats the two names of the output budget.
    public enum MaxTokensSupport: Sendable, Hashable {
        /// Both accepted (OpenAI's older chat models, vLLM).
        case both
        /// `max_completion_tokens` is a 400 naming it, the server wants `max_tokens` (some local
        /// servers and older OpenAI-compatible deployments).
        case rejectsMaxCompletionTokens
        /// `max_tokens` is a 400 naming it, the server wants `max_completion_tokens` (OpenAI's
        /// reasoning models: o-series, GPT-5).
        case rejectsMaxTokens
        /// `max_completion_tokens` is silently ignored, only `max_tokens` limits the output
        /// (Ollama).
        case ignoresMaxCompletionTokens
    }

    /// Which headers a 429 from the rate limits carries.
    public enum RetryAfterHeaders: Sendable, Hashable {
        /// `Retry-After` in whole seconds (rounded up) and `retry-after-ms`.
        case both
        /// `Retry-After` only.
        case seconds
        /// `retry-after-ms` only.
        case milliseconds
        /// Neither: the client has only the `x-ratelimit-reset-*` headers and the message.
        case none
    }

    /// How a server listens, what it accepts, and how it answers.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 lets the system pick a free port (see `port`).
        public var port: Int
        public var key: KeyPolicy
        /// The models served; others get 404 `model_not_found`. nil serves any model name, as
        /// llama.cpp's server does.
        public var models: Set<String>?
        public var maxTokens: MaxTokensSupport
        /// Requests and tokens per window (and per day), enforced before the decision; their state
        /// is reported in `x-ratelimit-*` headers on every answer to a valid request. nil: no
        /// limits and no headers, like the local servers.
        public var rateLimits: QuotaPolicy?
        public var retryAfter: RetryAfterHeaders
        /// Decides the reply to each valid request that gets past the limits and the storm. Runs
        /// on an event loop thread: it must return quickly and never block.
        public var reply: @Sendable (Request) -> Reply
        /// When set, every reply's latency (plain) or pacing (streamed) is drawn from this model.
        public var latency: LatencyModel?
        /// An overload storm on a schedule; tests switch one on with `beginStorm(_:)` instead.
        public var storm: StormPolicy?
        /// LF, as OpenAI and the local servers send; CRLF to test tolerant parsers.
        public var lineEnding: LineEnding
        public var split: SplitPolicy
        public var unresponsive: Bool
        /// The time the quota's window and a scheduled storm follow, moved by the test; nil (the
        /// default): the real clock.
        public var clock: FakeServerClock?
        /// Whether `GET /v1/models/{model}` is served (OpenAI, Ollama); false answers it 404
        /// "Invalid URL", as a server without the route does (llama.cpp's).
        public var servesModelRoute: Bool
        /// One slot that a new request takes over, as llama.cpp's Python server does by default
        /// (`interrupt_requests`): the answer being written ends at once, cleanly, without its
        /// finish reason or `[DONE]`.
        public var interruptsForNextRequest = false
        /// False: a stream carries no usage even when asked (`stream_options.include_usage`), as
        /// llama.cpp's Python server does.
        public var reportsStreamUsage = true
        /// When set, `GET /props` answers `{"total_slots": N, ...}` as llama.cpp's `llama-server
        /// --parallel N` does; nil: 404, as other servers.
        public var totalSlots: Int?

        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            key: KeyPolicy = .exactly(FakeOpenAIServer.defaultAPIKey),
            models: Set<String>? = FakeOpenAIServer.knownModels,
            maxTokens: MaxTokensSupport = .both,
            rateLimits: QuotaPolicy? = nil,
            retryAfter: RetryAfterHeaders = .both,
            latency: LatencyModel? = nil,
            storm: StormPolicy? = nil,
            lineEnding: LineEnding = .lf,
            split: SplitPolicy = .halves,
            unresponsive: Bool = false,
            servesModelRoute: Bool = true,
            reply: @escaping @Sendable (Request) -> Reply = { _ in .success() }
        ) {
            self.host = host
            self.port = port
            self.key = key
            self.models = models
            self.maxTokens = maxTokens
            self.rateLimits = rateLimits
            self.retryAfter = retryAfter
            self.reply = reply
            self.latency = latency
            self.storm = storm
            self.lineEnding = lineEnding
            self.split = split
            self.unresponsive = unresponsive
            self.servesModelRoute = servesModelRoute
        }
    }

    // The shared machinery's types, under this server's name, so `import FakeOpenAI` is enough.
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
    public static let defaultAPIKey = "sk-fake-openai-test-key"

    /// The model names served by default: OpenAI's and a few local ones.
    public static let knownModels: Set<String> = [
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o4-mini",
        "llama3.2", "llama3.1:8b", "qwen2.5:7b", "mistral",
    ]

    public let configuration: Configuration
    public let core: FakeServerCore

    /// The base URL to give a client: "http://127.0.0.1:PORT/v1", no trailing slash.
    public var baseURL: String {
        core.origin + "/v1"
    }

    private init(configuration: Configuration, core: FakeServerCore) {
        self.configuration = configuration
        self.core = core
    }

    /// Starts a server listening on `configuration.host` and `configuration.port`.
    ///
    /// - Throws: ``FakeServerError`` `.bindFailed` when the address cannot be bound.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> FakeOpenAIServer {
        let settings = FakeServerCore.Settings(
            host: configuration.host,
            port: configuration.port,
            quota: configuration.rateLimits,
            storm: configuration.storm,
            unresponsive: configuration.unresponsive,
            clock: configuration.clock
        )
        let core = try await FakeServerCore.start(settings, api: OpenAIAPI(configuration: configuration))
        return FakeOpenAIServer(configuration: configuration, core: core)
    }

    /// Starts a server on a free port of 127.0.0.1 that answers with `reply`.
    public static func start(reply: @escaping @Sendable (Request) -> Reply) async throws -> FakeOpenAIServer {
        try await start(Configuration(reply: reply))
    }

    /// The chat requests received, parsed, in arrival order; nil where a body was not valid JSON.
    public var chatRequests: [Request?] {
        statistics.requests.map { Request(recorded: $0) }
    }

    /// The text a default success carries: deterministic for a model and prompt, and holding the
    /// prompt verbatim so a test can tell which request a chapter was written from.
    public static func defaultText(for request: Request) -> String {
        """
        This is a fake chapter written by fake-openai (\(request.model)).

        It answers this prompt:

        \(request.prompt)

        End of the fake chapter.
        """
    }
}

extension FakeServerKit.FaultMix where Reply == FakeOpenAIServer.Reply {
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

    /// A busy day of an OpenAI-compatible server: 10% 503, 5% 500, 5% 429 with Retry-After 1 s,
    /// 3% empty content, 2% cut JSON, 1% connection reset.
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
                Fault(.rateLimited(retryAfterSeconds: 1, retryAfterMilliseconds: 1000), probability: 0.05),
                Fault(.emptyContent, probability: 0.03),
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
    public func reply(for request: FakeOpenAIServer.Request) -> FakeOpenAIServer.Reply {
        reply(prompt: request.prompt, attempt: request.attempt, isStreaming: request.stream)
    }
}
