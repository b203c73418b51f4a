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
        public var backoff: Backoff
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
            backoff: Backoff = Backoff(),
            adaptsToOverload: Bool = true,
            batchPolling: BatchPolling = .standard
        ) {
            self.concurrency = concurrency
            self.requestsPerMinute = requestsPerMinute
            self.inputTokensPerMinute = inputTokensPerMinute
            self.maximumAttempts = maximumAttempts
            self.requestTimeout = requestTimeout
            self.backoff = backoff
            self.adaptsToOverload = adaptsToOverload
            self.batchPolling = batchPolling
        }
    }
}
