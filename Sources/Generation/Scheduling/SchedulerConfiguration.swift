public import Providers

extension Scheduler {
    public struct Configuration: Sendable, Hashable {
        /// Most requests in flight at once (waiting for a submission slot counts as in flight).
        public var concurrency: Int
        /// Requests per minute the project may send.
        public var requestsPerMinute: Int
        /// Input tokens per minute the project may send.
        public var inputTokensPerMinute: Int
        /// Attempts per chapter, the first included.
        public var maximumAttempts: Int
        /// How long one attempt may take, answer included.
        public var requestTimeout: Duration
        /// The least a flex-tier attempt may take (`requestTimeout` when longer): it may wait
        /// minutes in Google's queue before its first byte (1 to 15 minutes is Google's target).
        public var flexRequestTimeout: Duration
        public var backoff: Backoff
        /// A model server on this machine or its network (`--provider openai` with a loopback or
        /// private base URL): one request in flight at first, more while answers come back whole
        /// (`AdaptiveLimit`), and an answer cut off by a later request of ours (a server that
        /// serves fewer at once) sent again at a lower limit without counting as an attempt.
        public var localServer = false
        /// Whether signs of overload lower the in-flight limit below `concurrency`
        /// (`AdaptiveLimit`). Off only to measure what the adaptation is worth (coursegen-bench).
        public var adaptsToOverload: Bool
        /// How often a Batch API job is polled.
        public var batchPolling: BatchPolling

        public init(
            concurrency: Int = 8,
            requestsPerMinute: Int = 1000,
            inputTokensPerMinute: Int = 1_000_000,
            maximumAttempts: Int = 6,
            requestTimeout: Duration = .seconds(300),
            flexRequestTimeout: Duration = .seconds(1200),
            backoff: Backoff = Backoff(),
            adaptsToOverload: Bool = true,
            batchPolling: BatchPolling = .standard
        ) {
            self.concurrency = concurrency
            self.requestsPerMinute = requestsPerMinute
            self.inputTokensPerMinute = inputTokensPerMinute
            self.maximumAttempts = maximumAttempts
            self.requestTimeout = requestTimeout
            self.flexRequestTimeout = flexRequestTimeout
            self.backoff = backoff
            self.adaptsToOverload = adaptsToOverload
            self.batchPolling = batchPolling
        }

        /// How long an attempt of `request` may take.
        public func timeout(for request: ChapterRequest) -> Duration {
            request.serviceTier == .flex ? max(requestTimeout, flexRequestTimeout) : requestTimeout
        }
    }
}
