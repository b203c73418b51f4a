public import Foundation
public import Logging
import Platform
public import Providers

/// The one gate every request in the process goes through (the quota is per project, shared by
/// every outline), performing what its parts decide: at most `concurrency` requests in flight,
/// fewer under overload (`SubmissionSlots`); submissions paced to the RPM and TPM quotas, a 429
/// pausing them all (`Pacer`); retries with capped exponential backoff and full jitter
/// (`RetryStep`); one probe at a time while the API is down (`OutageGate`); the stops
/// (`SubmissionStops`). `SchedulerLog` says what it did. Before its first submission it has the
/// key and model checked (`ChapterProvider.verify`, free): a wrong key costs one such request.
public actor Scheduler {
    /// What happened to one attempt, for progress displays.
    public enum Event: Sendable, Hashable {
        case submitted(attempt: Int)
        /// The model is thinking about it (a thought summary arrived).
        case thinking
        /// Chapter text is arriving; this many words so far.
        case writing(words: Int)
        case retrying(attempt: Int, after: Duration, error: ProviderError)
        /// The chapter is in a Batch API job submitted at `submitted` (made now, or by an
        /// earlier run and found again).
        case batched(submitted: Date)
    }

    var provider: any ChapterProvider
    var configuration: Configuration
    let time: TimeSource
    private var random: any RandomNumberGenerator & Sendable
    /// The time of day, for the outage's start and the daily quota's reset.
    private let wallClock: @Sendable () -> Date
    private var pacer: Pacer
    /// Rate limits the providers saw used up, applied to `pacer` before each submission.
    private let rateLimitReports = RateLimitReports()
    var slots: SubmissionSlots
    /// Every reason not to send; the engine sets and lifts the state folder's.
    nonisolated let stops: SubmissionStops
    /// Whether the key and model need a check before the next submission (`verifyOnce`).
    var keyCheck = KeyCheck.needed
    /// Woken when a check of the key and model ends.
    let keyChecked = Wakeups()
    private var outageGate = OutageGate()

    enum KeyCheck { case needed, running, done }

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
        let slots = SubmissionSlots(concurrency: configuration.concurrency, start: configuration.localServer ? 1 : nil)
        let time = TimeSource(clock)
        self.provider = provider
        self.configuration = configuration
        self.time = time
        self.random = random
        self.wallClock = wallClock
        self.pacer = Pacer(
            requestsPerMinute: configuration.requestsPerMinute,
            inputTokensPerMinute: configuration.inputTokensPerMinute
        )
        self.slots = slots
        self.stops = SubmissionStops(carriedOver: stop, time: time, wallClock: wallClock, line: slots.line)
    }

    /// Applies new limits (a reload) without dropping work in flight. A lower concurrency takes
    /// effect as requests finish.
    public func update(_ configuration: Configuration) {
        self.configuration = configuration
        pacer.requestsPerMinute = max(configuration.requestsPerMinute, 1)
        pacer.inputTokensPerMinute = max(configuration.inputTokensPerMinute, 1)
        slots.setMaximum(configuration.concurrency)
    }

    /// Requests allowed in flight now (lowered under overload) and `--concurrency`.
    public var inFlightLimit: (current: Int, maximum: Int) { (slots.limit.current, slots.limit.maximum) }

    /// The in-flight limit, `--concurrency`, and why the limit is below it in a few words (nil
    /// when it is not).
    public var limitInForce: (current: Int, maximum: Int, reason: String?) {
        let (current, maximum) = (slots.limit.current, slots.limit.maximum)
        let starting = configuration.localServer ? "finding the server's pace" : nil
        return (current, maximum, current < maximum ? slots.why ?? starting : nil)
    }

    /// Calls `observer` whenever the in-flight limit changes (for `systemctl status`).
    public func observeLimit(_ observer: @escaping @Sendable (_ current: Int, _ maximum: Int) -> Void) {
        slots.observe(observer)
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
        if case .done = keyCheck { keyCheck = .needed }
    }

    /// Why every submission is stopped (the key refused, the daily quota), if it is.
    public var stop: SubmissionStop? { stops.reported }

    /// Lifts a stop (a reload: the key or the quota may have been fixed). The next submission
    /// checks the key and model again.
    public func resume() {
        if stops.lift(), case .done = keyCheck { keyCheck = .needed }
    }

    /// Requests being sent or waiting for their submission time.
    public var requestsInFlight: Int { slots.held }

    /// Attempts sent and not yet answered.
    public private(set) var sending = 0
    /// Requests sent so far: a request that ends cut off while another was in flight was
    /// overrun (see `Configuration.localServer`).
    private var sent = 0
    /// Most tries per chapter that an overrun does not count as attempts.
    static let overrunsPerChapter = 3

    /// The process is stopping (SIGTERM, Ctrl-C): nothing is sent from now on. Attempts waiting
    /// fail at once as `.interrupted`, which the next run asks for again; attempts already sent go
    /// on, and their answers (paid for) are returned, to be stored.
    /// - Returns: how many attempts are being answered now.
    @discardableResult
    public func stopSending() -> Int {
        stops.shutDown()
        return sending
    }

    /// Requests waiting for a slot because `concurrency` are in flight.
    var waitingForSlot: Int { slots.line.parked }

    /// Whether every request waiting for the circuit breaker is still asleep: none was woken and
    /// is about to ask again (for tests that advance a manual clock once everything waits).
    var outageWaitsAsleep: Bool { outageGate.waiting == outageGate.changes.parked }

    /// Sends `request` until it succeeds, fails for good, or runs out of attempts.
    ///
    /// While the API is down (the circuit breaker is open) the request waits, and may be the one
    /// probe; neither the wait nor a failed probe counts as an attempt. It waits at most
    /// `CircuitBreaker.longestWait`, then fails with a retryable error.
    ///
    /// Logs one line per attempt through `logger`, which carries the chapter's metadata.
    /// - Parameter spending: the run's spending: every attempt reserves what it may cost there
    ///   before it is submitted (see `Spending`), and its price estimates the cost in the logs and
    ///   metrics. Nil: no budget, cost unknown.
    /// - Parameter keep: given the answer (its usage over every attempt) before the request's
    ///   slot is freed, to store it: no other request goes in its place until it is stored, or
    ///   until the state folder's stop says no answer can be.
    /// - Throws: `GenerationFailure` (with `skippedForBudget` when the run's budget would not
    ///   cover an attempt, with a stop's error when one keeps it from being sent), or
    ///   `CancellationError` when the calling task is cancelled (a later answer is dropped).
    public func generate(
        _ request: ChapterRequest,
        logger: Logger,
        spending: Spending? = nil,
        keep: @escaping @Sendable (ChapterResponse) async -> Void = { _ in },
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws -> ChapterResponse {
        var request = request
        var attempts = 0
        /// Tries a local server cut off for a later request of ours (not attempts).
        var overruns = 0
        var spent = Usage()
        var wait: Duration?
        let log = SchedulerLog(logger: logger, price: spending?.price)
        do {
            try await verifyOnce(model: request.model, log: log)
            // The breaker's longest wait counts from here: the key check is not the outage's.
            let arrived = time.now()
            while true {
                if let wait { try await stops.sleep(until: time.now() + wait) }
                try stops.check()
                let reservation: Spending.Reservation?
                do {
                    reservation = try await spending?.reserve(for: request)
                } catch let refusal as BudgetRefusal {
                    logger.warning(
                        "chapter skipped: the run's budget would not cover it",
                        metadata: ["attempt": "\(attempts + 1)", "error": "\(refusal.message)"]
                    )
                    let error = ProviderError(.fatal, refusal.message)
                    throw GenerationFailure(attempts: attempts, error: error, usage: spent, skippedForBudget: true)
                }
                // An attempt that ends before its answer (a stop, a cancellation) frees its
                // reservation; one that got an answer settles it below with the answer's usage first.
                defer { spending?.settle(reservation, usage: Usage()) }
                let (outcome, elapsed, generation) = try await send(
                    request,
                    attempt: attempts + 1,
                    mayOverrun: overruns < Self.overrunsPerChapter,
                    arrived: arrived,
                    spent: spent,
                    keep: keep,
                    log: log,
                    onEvent: onEvent
                )
                attempts += 1
                spending?.settle(reservation, usage: outcome.usage ?? Usage(), tier: outcome.tier(asked: request))
                if let usage = outcome.usage {
                    spent += usage
                    let estimated = request.estimatedInputTokens
                    pacer.correct(estimatedTokens: estimated, actualTokens: usage.promptTokens, now: time.now())
                }
                let step = RetryStep.decide(outcome, attempt: attempts, of: request, under: configuration, unit: unit())
                log.attempt(attempts, outcome, step, took: elapsed, tier: outcome.tier(asked: request))
                let error: ProviderError
                switch outcome {
                case .answered(var response):
                    pacer.answered()
                    response.usage = spent
                    response.attempts = attempts
                    return response
                case .failed(let failure), .probeFailed(let failure, _), .overrun(let failure):
                    error = failure
                }
                wait = nil
                switch step {
                case .succeed, .fail:
                    throw GenerationFailure(attempts: attempts, error: error, usage: spent)
                case .stop(let reason):
                    if let stop = stops.begin(reason, error: error) { log.stopped(stop) }
                    throw GenerationFailure(attempts: attempts, error: error, usage: spent)
                case .probeAgain(let after):
                    onEvent(.retrying(attempt: attempts, after: after, error: error))
                    attempts -= 1
                case .resend:
                    onEvent(.retrying(attempt: attempts, after: .zero, error: error))
                    attempts -= 1
                    overruns += 1
                case .retry(let after, let pauseAll, let raiseBudget):
                    if pauseAll {
                        pacer.rateLimited(now: time.now())
                        pacer.pause(until: time.now() + after)
                    }
                    request.maxOutputTokens = raiseBudget ?? request.maxOutputTokens
                    onEvent(.retrying(attempt: attempts, after: after, error: error))
                    wait = after
                }
            }
        } catch let failure as NotSent {
            log.notSent(failure, attempt: attempts + 1)
            throw GenerationFailure(attempts: attempts, error: failure.error, usage: spent)
        }
    }

    /// Sends `request` once it holds a slot and its turn has come; hands an answer to `keep`
    /// (with `spent` before it) before the slot is freed.
    /// - Returns: the outcome, its duration, and the in-flight limit's generation it was sent in:
    ///   nil for the breaker's probe, whose failure is the outage's (it does not halve the limit).
    private func send(
        _ request: ChapterRequest,
        attempt: Int,
        mayOverrun: Bool,
        arrived: Duration,
        spent: Usage,
        keep: @Sendable (ChapterResponse) async -> Void,
        log: SchedulerLog,
        onEvent: @escaping @Sendable (Event) -> Void
    ) async throws -> (RetryStep.Outcome, elapsed: Duration, generation: Int?) {
        try Task.checkCancellation()
        try stops.check()
        if !slots.take() { try await slots.line.wait() }
        defer { slots.release() }
        let pass = try await waitForTurn(tokens: request.estimatedInputTokens, arrived: arrived, log: log)
        // A probe that ends without an answer lets another request probe.
        defer { outageGate.abandon(pass, now: time.now()) }
        try stops.check()
        onEvent(.submitted(attempt: attempt))
        let started = time.now()
        let generation = pass.isProbe ? nil : slots.limit.generation
        let (provider, time, rateLimitReports) = (self.provider, self.time, self.rateLimitReports)
        sending += 1
        defer { sending -= 1 }
        let number = sent
        sent += 1
        let othersAtStart = sending > 1
        let result: Result<ChapterResponse, ProviderError>
        do {
            result = .success(
                try await provider.generate(request, timeout: configuration.timeout(for: request)) { progress in
                    switch progress {
                    case .thinking: onEvent(.thinking)
                    case .writing(let words): onEvent(.writing(words: words))
                    case .rateLimitReached(let resetsIn): rateLimitReports.report(until: time.now() + resetsIn)
                    }
                }
            )
        } catch let error as ProviderError {
            result = .failure(error)
        }
        let change = outageGate.record(
            result,
            of: request.key,
            sentWith: pass,
            now: time.now(),
            unit: unit(),
            wallClock: wallClock(),
            logger: log.logger
        )
        // Back at full pace: the breaker's own line says so.
        if case .closed = change { slots.adapt({ $0.restore() }, reason: nil, log: log) }
        let elapsed = time.now() - started
        let outcome: RetryStep.Outcome
        switch (result, change) {
        case (.success(let answer), _):
            var kept = answer
            (kept.usage, kept.attempts) = (spent + answer.usage, attempt)
            await keep(kept)
            outcome = .answered(answer)
        case (.failure(let error), .probeFailed(let nextProbeIn)?):
            outcome = .probeFailed(error, nextProbeIn: nextProbeIn)
        case (.failure(let error), _)
        where configuration.localServer && error.cutOff && mayOverrun && (othersAtStart || sent > number + 1):
            // Another request of ours was in flight while this one was answered: the server
            // dropped this answer for it (llama.cpp's Python server does so by default).
            outcome = .overrun(error)
        case (.failure(let error), _):
            outcome = .failed(error)
        }
        // Before the slot is freed: a lowered limit keeps the next request in line waiting.
        slots.adapt(after: outcome, took: elapsed, sentIn: generation, under: configuration, log: log)
        return (outcome, elapsed, generation)
    }

    /// A random number in 0..<1, for a jitter, drawn as `Double.random(in: 0..<1)` draws it (the
    /// generator's low 53 bits), which cannot take `random` as an existential: a seeded generator
    /// gives the waits it gave before the split.
    private func unit() -> Double {
        Double(random.next() & (1 << 53 - 1)) * 0x1p-53
    }

    /// Waits until a request of `tokens` input tokens, which came at `arrived`, may be submitted:
    /// while the API is down, until it may probe or has waited too long (`CircuitBreaker`).
    /// - Returns: the breaker's leave, to record the answer with.
    /// - Throws: `NotSent` for a stop, or when the API stayed down too long.
    private func waitForTurn(tokens: Int, arrived: Duration, log: SchedulerLog) async throws -> OutageGate.Breaker.Pass
    {
        var probe: OutageGate.Breaker.Pass?
        // A probe that waits for the pacer and is stopped or cancelled lets another request probe.
        defer { if let probe { outageGate.abandon(probe, now: time.now()) } }
        while true {
            try stops.check()
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
                    try await stops.sleep(until: until, orUntil: (outageGate.changes, outageGate.changes.generation))
                    continue
                case .giveUp:
                    throw NotSent(reason: .outage, error: outageGate.givenUp)
                }
            }
            if let until = rateLimitReports.take(), until > max(pacer.pausedUntil, time.now()) {
                // Reported by an answer's headers before a 429 happened: whoever wakes next applies it.
                pacer.pause(until: until)
                log.rateLimitUsedUp(pause: until - time.now())
            }
            let now = time.now()
            let at = pacer.earliestSubmission(now: now)
            if at > now {
                // Whoever wakes first takes the turn; the others see the new schedule and wait on.
                try await stops.sleep(until: at)
                continue
            }
            pacer.submit(at: now, tokens: tokens, unit: unit())
            probe = nil
            return pass!
        }
    }
}
