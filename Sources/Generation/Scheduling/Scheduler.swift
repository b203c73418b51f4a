import Foundation
public import Logging

/// The one gate every request in the process goes through (the quota is per project, shared by
/// every outline): at most `concurrency` requests in flight, submissions paced to the RPM and TPM
/// quotas with jitter, a 429 pausing every submission for the delay the API asked for, retries with
/// capped exponential backoff and full jitter, and a stop on a daily quota.
public actor Scheduler {
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

        public init(
            concurrency: Int = 8,
            requestsPerMinute: Int = 1000,
            inputTokensPerMinute: Int = 1_000_000,
            maximumAttempts: Int = 6,
            requestTimeout: Duration = .seconds(300),
            backoff: Backoff = Backoff()
        ) {
            self.concurrency = concurrency
            self.requestsPerMinute = requestsPerMinute
            self.inputTokensPerMinute = inputTokensPerMinute
            self.maximumAttempts = maximumAttempts
            self.requestTimeout = requestTimeout
            self.backoff = backoff
        }
    }

    /// What happened to one attempt, for progress displays.
    public enum Event: Sendable, Hashable {
        case submitted(attempt: Int)
        case retrying(attempt: Int, after: Duration, error: ProviderError)
    }

    private let provider: any ChapterProvider
    private var configuration: Configuration
    private let time: TimeSource
    private var random: AnyRandomNumberGenerator
    /// Today's date, to find the next daily-quota reset; injectable for tests.
    var wallClock: @Sendable () -> Date = { Date() }
    private var pacer: Pacer
    private var inFlight = 0
    private var slotWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiterID: UInt64 = 0
    private var dailyStop: (until: Duration, error: ProviderError)?

    public init(
        provider: any ChapterProvider,
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock(),
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.provider = provider
        self.configuration = configuration
        self.time = TimeSource(clock)
        self.random = AnyRandomNumberGenerator(random)
        self.pacer = Pacer(
            requestsPerMinute: configuration.requestsPerMinute,
            inputTokensPerMinute: configuration.inputTokensPerMinute
        )
    }

    /// Applies new limits (a reload) without dropping work in flight. A lower concurrency takes
    /// effect as requests finish.
    public func update(_ configuration: Configuration) {
        self.configuration = configuration
        pacer.requestsPerMinute = max(configuration.requestsPerMinute, 1)
        pacer.inputTokensPerMinute = max(configuration.inputTokensPerMinute, 1)
        grantSlots()
    }

    /// Requests being sent or waiting for their submission time.
    public var requestsInFlight: Int { inFlight }

    /// Requests waiting for a slot because `concurrency` are in flight.
    var waitingForSlot: Int { slotWaiters.count }

    /// Sends `request` until it succeeds, fails for good, or runs out of attempts.
    ///
    /// Logs one line per attempt through `logger` (which carries the chapter's metadata): info
    /// for a success, warning for a retry, error for the final failure.
    /// - Throws: `GenerationFailure`, or `CancellationError` when the calling task is cancelled
    ///   (an answer that arrives after that is dropped).
    public func generate(
        _ request: ChapterRequest,
        logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws -> ChapterResponse {
        var request = request
        var attempt = 0
        var spent = Usage()
        while true {
            attempt += 1
            let outcome: Result<ChapterResponse, ProviderError>
            let started: Duration
            do {
                try await acquireSlot()
            }
            do {
                defer { releaseSlot() }
                try await waitForTurn(tokens: request.estimatedInputTokens)
                onEvent(.submitted(attempt: attempt))
                started = time.now()
                do {
                    outcome = .success(try await provider.generate(request, timeout: configuration.requestTimeout))
                } catch let error as ProviderError {
                    outcome = .failure(error)
                }
            }
            let elapsed = time.now() - started
            var metadata: Logger.Metadata = [
                "attempt": "\(attempt)",
                "duration_ms": "\(elapsed.milliseconds)",
            ]

            switch outcome {
            case .success(let response):
                spent += response.usage
                pacer.correct(
                    estimatedTokens: request.estimatedInputTokens,
                    actualTokens: response.usage.promptTokens,
                    now: time.now()
                )
                metadata["http_status"] = "200"
                metadata["tokens_in"] = "\(response.usage.promptTokens)"
                metadata["tokens_out"] = "\(response.usage.outputTokens)"
                metadata["tokens_thinking"] = "\(response.usage.thinkingTokens)"
                logger.info("chapter generated", metadata: metadata)
                var result = response
                result.usage = spent
                result.attempts = attempt
                return result

            case .failure(let error):
                if let usage = error.usage {
                    spent += usage
                    pacer.correct(
                        estimatedTokens: request.estimatedInputTokens,
                        actualTokens: usage.promptTokens,
                        now: time.now()
                    )
                }
                if let status = error.httpStatus { metadata["http_status"] = "\(status)" }
                metadata["error"] = "\(error.message)"

                switch error.disposition {
                case .fatal:
                    logger.error("chapter failed", metadata: metadata)
                    throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                case .dailyQuotaExhausted:
                    stopForTheDay(error)
                    logger.error("chapter failed: daily quota exhausted, submissions stopped", metadata: metadata)
                    throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                case .retry, .retryWithLargerBudget:
                    guard attempt < configuration.maximumAttempts else {
                        logger.error("chapter failed: no attempts left", metadata: metadata)
                        throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                    }
                    var delay = configuration.backoff.delay(
                        afterAttempt: attempt,
                        unit: Double.random(in: 0..<1, using: &random)
                    )
                    if error.isRateLimit {
                        // Gemini sends no Retry-After: RetryInfo in the body is the only hint, and
                        // it applies to the whole project, so every submission waits.
                        let pause = error.retryDelay ?? configuration.backoff.ceiling(afterAttempt: attempt)
                        pacer.pause(until: time.now() + pause)
                        delay = pause
                        metadata["paused_ms"] = "\(pause.milliseconds)"
                    }
                    if error.disposition == .retryWithLargerBudget {
                        request.maxOutputTokens = min(request.maxOutputTokens * 2, GenerationSettings.outputTokenLimit)
                        metadata["max_output_tokens"] = "\(request.maxOutputTokens)"
                    }
                    metadata["retry_in_ms"] = "\(delay.milliseconds)"
                    logger.warning("chapter attempt failed, retrying", metadata: metadata)
                    onEvent(.retrying(attempt: attempt, after: delay, error: error))
                    try await time.sleep(time.now() + delay)
                }
            }
        }
    }

    // MARK: - Submission slots

    private func acquireSlot() async throws {
        try Task.checkCancellation()
        if slotWaiters.isEmpty && inFlight < configuration.concurrency {
            inFlight += 1
            return
        }
        let id = nextWaiterID
        nextWaiterID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                slotWaiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.abandonWait(id) }
        }
    }

    private func releaseSlot() {
        inFlight -= 1
        grantSlots()
    }

    private func grantSlots() {
        while inFlight < configuration.concurrency, !slotWaiters.isEmpty {
            inFlight += 1
            slotWaiters.removeFirst().continuation.resume()
        }
    }

    private func abandonWait(_ id: UInt64) {
        guard let index = slotWaiters.firstIndex(where: { $0.id == id }) else { return }
        slotWaiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    // MARK: - Pacing

    /// Waits until a request of `tokens` input tokens may be submitted.
    private func waitForTurn(tokens: Int) async throws {
        while true {
            let now = time.now()
            if let stop = dailyStop {
                guard now >= stop.until else {
                    throw GenerationFailure(attempts: 0, error: stop.error, usage: Usage())
                }
                dailyStop = nil
            }
            let at = pacer.earliestSubmission(now: now)
            if at > now {
                // Whoever wakes first takes the turn; the others see the new schedule and wait on.
                try await time.sleep(at)
                continue
            }
            pacer.submit(at: now, tokens: tokens, unit: Double.random(in: 0..<1, using: &random))
            return
        }
    }

    private func stopForTheDay(_ error: ProviderError) {
        let until = time.now() + Self.untilPacificMidnight(from: wallClock())
        dailyStop = (until, error)
    }

    /// Gemini's daily quotas reset at midnight Pacific time.
    static func untilPacificMidnight(from date: Date) -> Duration {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/Los_Angeles") ?? TimeZone(secondsFromGMT: -8 * 3600)!
        let startOfDay = calendar.startOfDay(for: date)
        guard let midnight = calendar.date(byAdding: .day, value: 1, to: startOfDay) else { return .seconds(86_400) }
        return .seconds(max(midnight.timeIntervalSince(date), 1))
    }
}

/// A chapter that could not be generated, with the last error.
public struct GenerationFailure: Error, Sendable, CustomStringConvertible {
    /// Attempts made (0 when submissions were already stopped for the day).
    public var attempts: Int
    public var error: ProviderError
    /// Tokens billed for the failed attempts.
    public var usage: Usage

    public var description: String {
        switch error.disposition {
        case .fatal, .dailyQuotaExhausted:
            return attempts > 1 ? "\(error) (attempt \(attempts))" : "\(error)"
        case .retry, .retryWithLargerBudget:
            return "\(error) (gave up after \(attempts) attempts)"
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Lets the actor keep a caller-chosen generator (a seeded one in tests) as a stored property.
struct AnyRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var base: any RandomNumberGenerator & Sendable

    init(_ base: some RandomNumberGenerator & Sendable) { self.base = base }

    mutating func next() -> UInt64 { base.next() }
}
