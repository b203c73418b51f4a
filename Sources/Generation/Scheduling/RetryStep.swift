import Providers

/// What the scheduler does once an attempt has its outcome: a pure function of the outcome, the
/// attempt, the request and the configuration, randomness passed in. The scheduler performs the
/// step (`Scheduler.generate`); `SchedulerLog` reports it.
enum RetryStep: Sendable, Hashable {
    /// The answer arrived.
    case succeed
    /// The request fails: only its author can fix it (`.fatal`), coursegen is stopping
    /// (`.interrupted`), or what might pass with time has no attempt left (`exhausted`).
    case fail(exhausted: Bool)
    /// Every submission stops (the key refused, the daily quota); the request fails.
    case stop(SubmissionStop.Reason)
    /// Sent again `after` this long; after a 429 every submission waits as long (`pauseAll`: the
    /// quota is the project's); an answer cut off while the model thought gets a larger budget.
    case retry(after: Duration, pauseAll: Bool, raiseBudget: Int?)
    /// The circuit breaker's probe failed: that try was the breaker's, not the chapter's, which
    /// waits for the breaker again, its attempt not counted (the next probe goes `after`).
    case probeAgain(after: Duration)
    /// A local server cut the answer off for a later request of ours: that try was the limit's,
    /// not the chapter's; sent again at once (at the lowered limit), its attempt not counted.
    case resend

    enum Outcome: Sendable, Hashable {
        case answered(ChapterResponse)
        case failed(ProviderError)
        /// Failed as the circuit breaker's probe; the next probe goes in `nextProbeIn`.
        case probeFailed(ProviderError, nextProbeIn: Duration)
        /// Cut off by a local server for a later request of ours (`Scheduler.Configuration.localServer`).
        case overrun(ProviderError)

        var error: ProviderError? {
            switch self {
            case .answered: nil
            case .failed(let error), .probeFailed(let error, _), .overrun(let error): error
            }
        }

        /// What its tokens are billed at: the answer's tier, else the one `request` asked for.
        func tier(asked request: ChapterRequest) -> BillingTier {
            if case .answered(let response) = self { response.tier } else { BillingTier(request.serviceTier) }
        }

        /// The tokens billed, when the API said.
        var usage: Usage? {
            if case .answered(let response) = self { response.usage } else { error?.usage }
        }
    }

    /// - Parameters:
    ///   - attempt: the attempt that ended, 1-based.
    ///   - unit: a random number in 0..<1 for the backoff's jitter, drawn only for a retry.
    static func decide(
        _ outcome: Outcome,
        attempt: Int,
        of request: ChapterRequest,
        under configuration: Scheduler.Configuration,
        unit: @autoclosure () -> Double
    ) -> RetryStep {
        guard let error = outcome.error else { return .succeed }
        switch error.disposition {
        case .fatal, .interrupted: return .fail(exhausted: false)
        case .stopEverything: return .stop(.refused)
        case .dailyQuotaExhausted: return .stop(.dailyQuota)
        case .retry, .retryWithLargerBudget: break
        }
        if case .probeFailed(_, let nextProbeIn) = outcome { return .probeAgain(after: nextProbeIn) }
        if case .overrun = outcome { return .resend }
        guard attempt < configuration.maximumAttempts else { return .fail(exhausted: true) }
        let backoff = configuration.backoff.delay(afterAttempt: attempt, unit: unit())
        let larger = min(request.maxOutputTokens * 2, GenerationSettings.outputTokenLimit)
        let raiseBudget = error.disposition == .retryWithLargerBudget ? larger : nil
        if error.isRateLimit {
            // Retry-After, or Gemini's RetryInfo (it sends no Retry-After); else the ceiling.
            let pause = error.retryDelay ?? configuration.backoff.ceiling(afterAttempt: attempt)
            return .retry(after: pause, pauseAll: true, raiseBudget: raiseBudget)
        }
        // A Retry-After on another answer (a 503): this request waits at least that.
        return .retry(after: max(backoff, error.retryDelay ?? .zero), pauseAll: false, raiseBudget: raiseBudget)
    }
}
