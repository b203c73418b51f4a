public import Foundation
public import Logging
import Metrics
public import Platform
public import Providers

/// The one gate every request in the process goes through (the quota is per project, shared by
/// every outline): at most `concurrency` requests in flight (fewer while the API is overloaded:
/// `AdaptiveLimit`), submissions paced to the RPM and TPM
/// quotas with jitter, a 429 pausing every submission for the delay the API asked for, retries with
/// capped exponential backoff and full jitter, a circuit breaker that holds every submission but
/// one probe while the API is down (`CircuitBreaker`, see `waitForTurn`), and two stops:
/// - an answer no other request can escape (the key refused, no permission, no such model) stops
///   every submission at once, until `resume()` (a reload with a fixed key);
/// - a daily quota stops every submission until it resets (midnight Pacific time) or `resume()`.
///
/// Before its first submission the scheduler asks the provider to check the key and the model
/// (`ChapterProvider.verify`), a request that costs no tokens: a wrong key then costs one such
/// request, not one per chapter.
public actor Scheduler {
    /// What happened to one attempt, for progress displays.
    public enum Event: Sendable, Hashable {
        case submitted(attempt: Int)
        /// The model is thinking about it (a thought summary arrived).
        case thinking
        /// Chapter text is arriving; this many words so far.
        case writing(words: Int)
        case retrying(attempt: Int, after: Duration, error: ProviderError)
    }

    private var provider: any ChapterProvider
    private var configuration: Configuration
    private let time: TimeSource
    private var random: AnyRandomNumberGenerator
    /// The wall clock, for the daily quota's reset; injectable for tests.
    private let wallClock: @Sendable () -> Date
    private var pacer: Pacer
    /// Rate limits the providers saw used up, applied to `pacer` before each submission.
    private let rateLimitReports = RateLimitReports()
    private var limit: AdaptiveLimit
    private var limitObservers: [@Sendable (_ current: Int, _ maximum: Int) -> Void] = []
    private var inFlight = 0
    private var slotWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var stopWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    private var nextWaiterID: UInt64 = 0
    private var verification = Verification.needed
    /// Woken when a check of the key and model ends.
    private let verified = Wakeups()
    private var stopObservers: [@Sendable (SubmissionStop?) -> Void] = []
    private var outageGate = OutageGate()

    private enum Verification {
        case needed, running, done
    }

    /// Why submissions are stopped, if they are.
    public private(set) var stop: SubmissionStop?

    /// - Parameters:
    ///   - stop: a stop carried over from an earlier process (a daily quota kept in the state
    ///     folder); ignored when its reset time has passed.
    ///   - wallClock: the time of day, for the daily quota's reset.
    public init(
        provider: any ChapterProvider,
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock(),
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        stop: SubmissionStop? = nil,
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.provider = provider
        self.configuration = configuration
        self.time = TimeSource(clock)
        self.random = AnyRandomNumberGenerator(random)
        self.wallClock = wallClock
        self.pacer = Pacer(
            requestsPerMinute: configuration.requestsPerMinute,
            inputTokensPerMinute: configuration.inputTokensPerMinute
        )
        self.limit = AdaptiveLimit(maximum: configuration.concurrency)
        if let stop, let until = stop.until, until > wallClock() { self.stop = stop }
        Gauge(label: MetricName.inFlightLimit).record(limit.current)
        Gauge(label: MetricName.requestsInFlight).record(0)
    }

    /// Applies new limits (a reload) without dropping work in flight. A lower concurrency takes
    /// effect as requests finish.
    public func update(_ configuration: Configuration) {
        self.configuration = configuration
        pacer.requestsPerMinute = max(configuration.requestsPerMinute, 1)
        pacer.inputTokensPerMinute = max(configuration.inputTokensPerMinute, 1)
        limit.setMaximum(configuration.concurrency)
        notifyLimitObservers()
        grantSlots()
    }

    /// Requests allowed in flight now (lowered under overload) and `--concurrency`.
    public var inFlightLimit: (current: Int, maximum: Int) { (limit.current, limit.maximum) }

    /// Calls `observer` whenever the in-flight limit changes (for `systemctl status`).
    public func observeLimit(_ observer: @escaping @Sendable (_ current: Int, _ maximum: Int) -> Void) {
        limitObservers.append(observer)
    }

    private func notifyLimitObservers() {
        Gauge(label: MetricName.inFlightLimit).record(limit.current)
        for observer in limitObservers { observer(limit.current, limit.maximum) }
    }

    private func record(_ change: AdaptiveLimit.Change?, reason: String, logger: Logger) {
        guard let change else { return }
        switch change {
        case .decreased(let from, let to):
            logger.warning(
                "the API looks overloaded: fewer requests in flight",
                metadata: ["from": "\(from)", "to": "\(to)", "reason": "\(reason)"]
            )
        case .increased(let from, let to):
            logger.notice(
                "answers come back: more requests in flight",
                metadata: ["from": "\(from)", "to": "\(to)", "maximum": "\(limit.maximum)"]
            )
        }
        notifyLimitObservers()
        grantSlots()
    }

    /// Whether the API is found unavailable (the circuit breaker is open): since when, and how
    /// often it is probed. Nil while it answers.
    public var outage: APIOutage? { outageGate.outage }

    /// Calls `observer` whenever the API is found unavailable, probed in vain, or answers again
    /// (for `systemctl status`).
    public func observeOutage(_ observer: @escaping @Sendable (APIOutage?) -> Void) {
        outageGate.observe(observer)
    }

    /// Sends requests through `provider` from now on (a reload that read the key again); the key
    /// and model are checked again before the next submission.
    public func replaceProvider(_ provider: any ChapterProvider) {
        self.provider = provider
        if case .done = verification { verification = .needed }
    }

    /// Lifts a stop (a reload: the key or the quota may have been fixed). The next submission
    /// checks the key and model again.
    public func resume() {
        guard stop != nil else { return }
        stop = nil
        if case .done = verification { verification = .needed }
        notifyStopObservers()
    }

    /// Calls `observer` whenever submissions stop or resume (to keep a daily stop in the state
    /// folder, to tell systemd).
    public func observeStops(_ observer: @escaping @Sendable (SubmissionStop?) -> Void) {
        stopObservers.append(observer)
    }

    /// Requests being sent or waiting for their submission time.
    public var requestsInFlight: Int { inFlight }

    /// Attempts sent and not yet answered.
    public private(set) var sending = 0

    /// Whether the process is stopping (`stopSending()`): nothing more is sent.
    public private(set) var isStopping = false

    /// The process is stopping (SIGTERM, Ctrl-C): no request is sent from now on, whatever
    /// happens next (nothing lifts it). Attempts waiting for a slot, their turn or a retry fail at
    /// once as `.interrupted`, which the next run asks for again; attempts already sent go on,
    /// and their answers (paid for) are returned, to be stored.
    /// - Returns: how many attempts are being answered now.
    @discardableResult
    public func stopSending() -> Int {
        guard !isStopping else { return sending }
        isStopping = true
        let failure = GenerationFailure(attempts: 0, error: .interrupted, usage: Usage())
        for waiter in slotWaiters { waiter.continuation.resume(throwing: failure) }
        slotWaiters = []
        for waiter in stopWaiters.values { waiter.resume(throwing: failure) }
        stopWaiters = [:]
        return sending
    }

    /// Requests waiting for a slot because `concurrency` are in flight.
    var waitingForSlot: Int { slotWaiters.count }

    /// Whether every request waiting for the circuit breaker is still asleep: none was woken and
    /// is about to ask again (for tests that advance a manual clock once everything waits).
    var outageWaitsAsleep: Bool { outageGate.waiting == outageGate.changes.parked }

    /// Sends `request` until it succeeds, fails for good, or runs out of attempts.
    ///
    /// While the API is down (the circuit breaker is open) the request waits, and may be the one
    /// probe; neither the wait nor a failed probe counts as an attempt. It waits at most
    /// `CircuitBreaker.longestWait`, then fails with a retryable error.
    ///
    /// Logs one line per attempt through `logger` (which carries the chapter's metadata): info
    /// for a success, warning for a retry, error for the final failure; each with its tokens and
    /// their estimated cost (`cost_usd`) where the API reported usage.
    /// - Parameter spending: the run's spending: every attempt reserves what it may cost there
    ///   before it is submitted (see `Spending`), and its price estimates the cost in the logs and
    ///   metrics. Nil: no budget, cost unknown.
    /// - Parameter refusal: asked before every attempt is sent (and again once its turn has
    ///   come): an error means no attempt may be sent now (its answer could not be kept), and
    ///   the request fails with it.
    /// - Parameter keep: given the answer (its usage over every attempt) before the request's
    ///   slot is freed, to store it: no other request goes in its place until it is stored, or
    ///   until `refusal` says no answer can be.
    /// - Throws: `GenerationFailure` (with `skippedForBudget` when the run's budget would not
    ///   cover an attempt), or `CancellationError` when the calling task is cancelled (an answer
    ///   that arrives after that is dropped).
    public func generate(
        _ request: ChapterRequest,
        logger: Logger,
        spending: Spending? = nil,
        refusal: @escaping @Sendable () -> ProviderError? = { nil },
        keep: @escaping @Sendable (ChapterResponse) async -> Void = { _ in },
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws -> ChapterResponse {
        var request = request
        var attempt = 0
        var spent = Usage()
        let checkRefusal = { (attempt: Int, spent: Usage) throws(GenerationFailure) in
            guard let error = refusal() else { return }
            logger.warning("chapter not sent", metadata: ["attempt": "\(attempt)", "error": "\(error.message)"])
            throw GenerationFailure(attempts: attempt - 1, error: error, usage: spent)
        }
        try await verifyOnce(model: request.model, logger: logger)
        let arrived = time.now()
        while true {
            attempt += 1
            try checkRefusal(attempt, spent)
            let outcome: Result<ChapterResponse, ProviderError>
            let started: Duration
            let generation: Int?
            let reservation: Spending.Reservation?
            let outageChange: OutageGate.Breaker.Change?
            do {
                reservation = try await spending?.reserve(for: request)
            } catch let refusal as BudgetRefusal {
                logger.warning(
                    "chapter skipped: the run's budget would not cover it",
                    metadata: ["attempt": "\(attempt)", "error": "\(refusal.message)"]
                )
                throw GenerationFailure(
                    attempts: attempt - 1,
                    error: ProviderError(.fatal, refusal.message),
                    usage: spent,
                    skippedForBudget: true
                )
            }
            // An attempt that ends before its answer (a stop, a cancellation) frees its
            // reservation; one that got an answer settles it below with the answer's usage first.
            defer { spending?.settle(reservation, usage: Usage()) }
            do {
                try await acquireSlot()
            } catch let stopped as GenerationFailure {
                throw GenerationFailure(attempts: attempt - 1, error: stopped.error, usage: spent)
            }
            do {
                defer { releaseSlot() }
                let pass: OutageGate.Breaker.Pass
                do {
                    pass = try await waitForTurn(tokens: request.estimatedInputTokens, arrived: arrived, logger: logger)
                } catch let stopped as GenerationFailure {
                    throw GenerationFailure(attempts: attempt - 1, error: stopped.error, usage: spent)
                }
                // A probe that ends without an answer lets another request probe.
                defer { outageGate.abandon(pass, now: self.time.now()) }
                try checkRefusal(attempt, spent)
                onEvent(.submitted(attempt: attempt))
                started = time.now()
                // A probe's failure is the outage's, already counted: it does not halve the limit.
                generation = pass.isProbe ? nil : limit.generation
                let time = self.time
                let rateLimitReports = self.rateLimitReports
                sending += 1
                defer { sending -= 1 }
                do {
                    outcome = .success(
                        try await provider.generate(request, timeout: configuration.requestTimeout) { progress in
                            switch progress {
                            case .thinking: onEvent(.thinking)
                            case .writing(let words): onEvent(.writing(words: words))
                            case .rateLimitReached(let resetsIn):
                                rateLimitReports.report(until: time.now() + resetsIn)
                            }
                        }
                    )
                } catch let error as ProviderError {
                    outcome = .failure(error)
                }
                outageChange = outageGate.record(
                    outcome,
                    of: request.key,
                    sentWith: pass,
                    now: time.now(),
                    unit: Double.random(in: 0..<1, using: &random),
                    wallClock: wallClock(),
                    logger: logger
                )
                if case .closed = outageChange, limit.restore() != nil {
                    // Back at full pace (the breaker's own line says so).
                    notifyLimitObservers()
                    grantSlots()
                }
                if case .success(var answer) = outcome {
                    answer.usage = spent + answer.usage
                    answer.attempts = attempt
                    await keep(answer)
                }
            }
            let elapsed = time.now() - started
            var metadata: Logger.Metadata = [
                "attempt": "\(attempt)",
                "duration_ms": "\(elapsed.milliseconds)",
            ]
            let price = spending?.price
            let usage: Usage? =
                switch outcome {
                case .success(let response): response.usage
                case .failure(let error): error.usage
                }
            spending?.settle(reservation, usage: usage ?? Usage())
            if let usage {
                Self.countTokens(usage, price: price)
                metadata["tokens_in"] = "\(usage.promptTokens)"
                metadata["tokens_out"] = "\(usage.outputTokens)"
                metadata["tokens_thinking"] = "\(usage.thinkingTokens)"
                metadata["cost_usd"] = "\(CostEstimate(usage, at: price).field)"
            }

            switch outcome {
            case .success(let response):
                spent += response.usage
                pacer.answered()
                pacer.correct(
                    estimatedTokens: request.estimatedInputTokens,
                    actualTokens: response.usage.promptTokens,
                    now: time.now()
                )
                metadata["http_status"] = "200"
                logger.info("chapter generated", metadata: metadata)
                Self.countAttempt("success", status: 200)
                Metrics.Timer(label: MetricName.chapterDuration).record(duration: elapsed)
                record(limit.succeeded(), reason: "answers", logger: logger)
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
                if error.overloaded, configuration.adaptsToOverload, let generation {
                    record(limit.overloaded(sentIn: generation), reason: error.description, logger: logger)
                }

                switch error.disposition {
                case .fatal, .interrupted:
                    logger.error("chapter failed", metadata: metadata)
                    Self.countAttempt("failure", status: error.httpStatus)
                    throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                case .stopEverything:
                    Self.countAttempt("stop", status: error.httpStatus)
                    stopSubmissions(SubmissionStop(reason: .refused, error: error, until: nil), logger: logger)
                    throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                case .dailyQuotaExhausted:
                    Self.countAttempt("stop", status: error.httpStatus)
                    let until = wallClock().addingTimeInterval(Self.untilPacificMidnight(from: wallClock()))
                    stopSubmissions(SubmissionStop(reason: .dailyQuota, error: error, until: until), logger: logger)
                    throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                case .retry, .retryWithLargerBudget:
                    if case .probeFailed(let wait) = outageChange {
                        // The API is still down: that try was the circuit breaker's, not the chapter's.
                        Self.countAttempt("retry", status: error.httpStatus)
                        onEvent(.retrying(attempt: attempt, after: wait, error: error))
                        attempt -= 1
                        continue
                    }
                    guard attempt < configuration.maximumAttempts else {
                        logger.error("chapter failed: no attempts left", metadata: metadata)
                        Self.countAttempt("failure", status: error.httpStatus)
                        throw GenerationFailure(attempts: attempt, error: error, usage: spent)
                    }
                    Self.countAttempt("retry", status: error.httpStatus)
                    Counter(label: MetricName.retries).increment()
                    var delay = configuration.backoff.delay(
                        afterAttempt: attempt,
                        unit: Double.random(in: 0..<1, using: &random)
                    )
                    if error.isRateLimit {
                        // The quota is the whole project's (or account's), so every submission
                        // waits: for Retry-After, or Gemini's RetryInfo (it sends no Retry-After).
                        let pause = error.retryDelay ?? configuration.backoff.ceiling(afterAttempt: attempt)
                        pacer.rateLimited(now: time.now())
                        pacer.pause(until: time.now() + pause)
                        delay = pause
                        metadata["paused_ms"] = "\(pause.milliseconds)"
                        Counter(label: MetricName.rateLimited).increment()
                        FloatingPointCounter(label: MetricName.rateLimitPauseSeconds).increment(by: pause.inSeconds)
                    } else if let asked = error.retryDelay {
                        // A Retry-After on another answer (a 503): this request waits at least that.
                        delay = max(delay, asked)
                    }
                    if error.disposition == .retryWithLargerBudget {
                        request.maxOutputTokens = min(request.maxOutputTokens * 2, GenerationSettings.outputTokenLimit)
                        metadata["max_output_tokens"] = "\(request.maxOutputTokens)"
                    }
                    metadata["retry_in_ms"] = "\(delay.milliseconds)"
                    logger.warning("chapter attempt failed, retrying", metadata: metadata)
                    onEvent(.retrying(attempt: attempt, after: delay, error: error))
                    do {
                        try await sleep(until: time.now() + delay)
                    } catch let stopped as GenerationFailure {
                        throw GenerationFailure(attempts: attempt, error: stopped.error, usage: spent)
                    }
                }
            }
        }
    }

    /// Counts one attempt in the metrics, by outcome and HTTP status.
    private static func countAttempt(_ outcome: String, status: Int?) {
        Counter(
            label: MetricName.requests,
            dimensions: [("outcome", outcome), ("status", status.map { String($0) } ?? "none")]
        ).increment()
    }

    /// Counts the tokens an attempt was billed, and their estimated cost when `price` is known.
    private static func countTokens(_ usage: Usage, price: Price?) {
        Counter(label: MetricName.tokens, dimensions: [("kind", "input")]).increment(by: usage.promptTokens)
        Counter(label: MetricName.tokens, dimensions: [("kind", "output")]).increment(by: usage.outputTokens)
        Counter(label: MetricName.tokens, dimensions: [("kind", "thinking")]).increment(by: usage.thinkingTokens)
        if let price {
            FloatingPointCounter(label: MetricName.estimatedCost).increment(by: price.dollars(for: usage))
        }
    }

    // MARK: - Checking the key and model once

    private func verifyOnce(model: String, logger: Logger) async throws {
        try checkStop()
        switch verification {
        case .done:
            return
        case .running:
            // Cancellable: a request cancelled meanwhile stops waiting at once.
            try await verified.wait(after: verified.generation)
            if let stop { throw GenerationFailure(attempts: 0, error: stop.error, usage: Usage()) }
            return
        case .needed:
            verification = .running
        }
        let provider = self.provider
        let timeout = configuration.requestTimeout
        let result: Result<Void, ProviderError>
        do {
            try await provider.verify(model: model, timeout: timeout)
            result = .success(())
        } catch let error as ProviderError {
            result = .failure(error)
        } catch {
            // Cancelled: let the next submission check instead.
            resumeVerificationWaiters(next: .needed)
            throw error
        }
        switch result {
        case .failure(let error) where error.disposition == .stopEverything:
            stopSubmissions(SubmissionStop(reason: .refused, error: error, until: nil), logger: logger)
            resumeVerificationWaiters(next: .needed)
            throw GenerationFailure(attempts: 1, error: error, usage: Usage())
        case .failure(let error):
            // Not a verdict on the key (a timeout, an overloaded server): the chapters' own
            // requests will tell.
            logger.debug("could not check the key and model first", metadata: ["error": "\(error)"])
            resumeVerificationWaiters(next: .done)
        case .success:
            resumeVerificationWaiters(next: .done)
        }
    }

    private func resumeVerificationWaiters(next: Verification) {
        guard case .running = verification else { return }
        verification = next
        verified.wakeAll()
    }

    // MARK: - Stops

    /// Throws the stop's failure if submissions are stopped; lifts a daily stop whose time is up.
    private func checkStop() throws {
        if isStopping { throw GenerationFailure(attempts: 0, error: .interrupted, usage: Usage()) }
        guard let stop else { return }
        if let until = stop.until, wallClock() >= until {
            self.stop = nil
            notifyStopObservers()
            return
        }
        throw GenerationFailure(attempts: 0, error: stop.error, usage: Usage())
    }

    private func stopSubmissions(_ stop: SubmissionStop, logger: Logger) {
        guard self.stop == nil else { return }
        self.stop = stop
        switch stop.reason {
        case .refused:
            logger.error(
                "the API refused the key or the model: every submission is stopped until the configuration is fixed and reloaded",
                metadata: ["error": "\(stop.error)"]
            )
        case .dailyQuota:
            logger.error(
                "daily quota exhausted: every submission is stopped until it resets",
                metadata: ["error": "\(stop.error)", "until": "\(stop.until.map(logTime) ?? "?")"]
            )
        }
        // Everyone waiting fails now with the stop's message, not one request at a time.
        let failure = GenerationFailure(attempts: 0, error: stop.error, usage: Usage())
        for waiter in slotWaiters { waiter.continuation.resume(throwing: failure) }
        slotWaiters = []
        for waiter in stopWaiters.values { waiter.resume(throwing: failure) }
        stopWaiters = [:]
        notifyStopObservers()
    }

    private func notifyStopObservers() {
        for observer in stopObservers { observer(stop) }
    }

    /// Sleeps until `deadline`, or throws the stop's failure as soon as submissions stop.
    /// - Parameter wakeups: ends the sleep early when woken after `generation`.
    private func sleep(until deadline: Duration, orUntil wakeups: (Wakeups, generation: UInt64)? = nil) async throws {
        try checkStop()
        let id = makeWaiterID()
        let time = self.time
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await time.sleep(deadline) }
            group.addTask { try await self.waitForStop(id) }
            if let wakeups { group.addTask { try await wakeups.0.wait(after: wakeups.generation) } }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func waitForStop(_ id: UInt64) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    stopWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.abandonStopWait(id) }
        }
    }

    private func abandonStopWait(_ id: UInt64) {
        stopWaiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    // MARK: - Submission slots

    private func acquireSlot() async throws {
        try Task.checkCancellation()
        try checkStop()
        if slotWaiters.isEmpty && inFlight < limit.current {
            inFlight += 1
            Gauge(label: MetricName.requestsInFlight).record(inFlight)
            return
        }
        let id = makeWaiterID()
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
        Gauge(label: MetricName.requestsInFlight).record(inFlight)
        grantSlots()
    }

    private func grantSlots() {
        while inFlight < limit.current, !slotWaiters.isEmpty {
            inFlight += 1
            Gauge(label: MetricName.requestsInFlight).record(inFlight)
            slotWaiters.removeFirst().continuation.resume()
        }
    }

    private func abandonWait(_ id: UInt64) {
        guard let index = slotWaiters.firstIndex(where: { $0.id == id }) else { return }
        slotWaiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    private func makeWaiterID() -> UInt64 {
        nextWaiterID += 1
        return nextWaiterID
    }

    // MARK: - Pacing

    /// Waits until a request of `tokens` input tokens may be submitted, and while the API is down
    /// until this request may probe it or has waited too long (`CircuitBreaker`).
    /// - Parameter arrived: when the request came to the scheduler.
    /// - Returns: the circuit breaker's leave, to record the answer with.
    /// - Throws: `GenerationFailure` for a stop, or when the API stayed down too long.
    private func waitForTurn(tokens: Int, arrived: Duration, logger: Logger) async throws -> OutageGate.Breaker.Pass {
        var probe: OutageGate.Breaker.Pass?
        // A probe that waits for the pacer and is stopped or cancelled lets another request probe.
        defer { if let probe { outageGate.abandon(probe, now: time.now()) } }
        while true {
            try checkStop()
            // A pass is asked for again after every wait: the breaker may have opened meanwhile.
            var pass = probe
            if pass == nil {
                switch outageGate.admit(now: time.now(), arrivedAt: arrived) {
                case .send(let granted):
                    pass = granted
                    if granted.isProbe { probe = granted }
                case .wait(let until):
                    outageGate.waiting += 1
                    defer { outageGate.waiting -= 1 }
                    try await sleep(until: until, orUntil: (outageGate.changes, outageGate.changes.generation))
                    continue
                case .giveUp:
                    throw GenerationFailure(attempts: 0, error: outageGate.givenUp, usage: Usage())
                }
            }
            if let until = rateLimitReports.take(), until > max(pacer.pausedUntil, time.now()) {
                // Reported by an answer's headers before a 429 happened: whoever wakes next applies it.
                pacer.pause(until: until)
                logger.info(
                    "the API's rate limit has nothing left: submissions wait until it refills",
                    metadata: ["paused_ms": "\((until - time.now()).milliseconds)"]
                )
            }
            let now = time.now()
            let at = pacer.earliestSubmission(now: now)
            if at > now {
                // Whoever wakes first takes the turn; the others see the new schedule and wait on.
                try await sleep(until: at)
                continue
            }
            pacer.submit(at: now, tokens: tokens, unit: Double.random(in: 0..<1, using: &random))
            probe = nil
            return pass!
        }
    }

    /// Gemini's daily quotas reset at midnight Pacific time: seconds from `date` to the next one.
    static func untilPacificMidnight(from date: Date) -> TimeInterval {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/Los_Angeles") ?? TimeZone(secondsFromGMT: -8 * 3600)!
        let startOfDay = calendar.startOfDay(for: date)
        guard let midnight = calendar.date(byAdding: .day, value: 1, to: startOfDay) else { return 86_400 }
        return max(midnight.timeIntervalSince(date), 1)
    }
}

/// Why every submission is stopped, kept in the state folder for a daily quota.
public struct SubmissionStop: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The API refused the key, the permission or the model: only a fix and a reload help.
        case refused
        /// The project's daily quota is used up; it resets at `until`.
        case dailyQuota = "daily-quota"
    }

    public var reason: Reason
    /// The answer that stopped submissions.
    public var error: ProviderError
    /// When submissions may resume on their own; nil until a reload.
    public var until: Date?

    public init(reason: Reason, error: ProviderError, until: Date?) {
        self.reason = reason
        self.error = error
        self.until = until
    }
}

/// Lets the actor keep a caller-chosen generator (a seeded one in tests) as a stored property.
struct AnyRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var base: any RandomNumberGenerator & Sendable

    init(_ base: some RandomNumberGenerator & Sendable) { self.base = base }

    mutating func next() -> UInt64 { base.next() }
}
