import Logging
import Metrics
import Platform
import Providers

/// What the scheduler says about a request through `logger` (which carries the chapter's
/// metadata), and the metrics it counts: constant messages, their data in metadata.
struct SchedulerLog {
    let logger: Logger
    /// The price of the run's model, for the estimated cost; nil when unknown.
    let price: Price?

    /// One line per attempt, by what comes next: info for an answer, warning for a retry, error
    /// for the final failure, with its tokens and their estimated cost where the API reported
    /// usage (a failed probe and a stop are said once for everyone, by the breaker and
    /// `stopped`); and the attempt's metrics.
    /// - Parameter tier: what its tokens are billed at (in the metadata when not standard).
    func attempt(_ n: Int, _ outcome: RetryStep.Outcome, _ step: RetryStep, took: Duration, tier: BillingTier) {
        var metadata: Logger.Metadata = ["attempt": "\(n)", "duration_ms": "\(took.milliseconds)"]
        if tier != .standard { metadata["service_tier"] = "\(tier.rawValue)" }
        // An answer is a 200.
        let status = outcome.error.map(\.httpStatus) ?? 200
        if let status { metadata["http_status"] = "\(status)" }
        if let error = outcome.error { metadata["error"] = "\(error.message)" }
        if let usage = outcome.usage {
            Counter(label: MetricName.tokens, dimensions: [("kind", "input")]).increment(by: usage.promptTokens)
            Counter(label: MetricName.tokens, dimensions: [("kind", "output")]).increment(by: usage.outputTokens)
            Counter(label: MetricName.tokens, dimensions: [("kind", "thinking")]).increment(by: usage.thinkingTokens)
            if let price {
                FloatingPointCounter(label: MetricName.estimatedCost, dimensions: [("tier", tier.rawValue)])
                    .increment(by: price.dollars(for: usage, tier: tier))
            }
            metadata["tokens_in"] = "\(usage.promptTokens)"
            metadata["tokens_out"] = "\(usage.outputTokens)"
            metadata["tokens_thinking"] = "\(usage.thinkingTokens)"
            metadata["cost_usd"] = "\(CostEstimate(usage, at: price, tier: tier).field)"
        }
        let counted: String
        switch step {
        case .succeed:
            logger.info("chapter generated", metadata: metadata)
            Metrics.Timer(label: MetricName.chapterDuration).record(duration: took)
            counted = "success"
        case .fail(let exhausted):
            logger.error(exhausted ? "chapter failed: no attempts left" : "chapter failed", metadata: metadata)
            counted = "failure"
        case .stop: counted = "stop"
        case .probeAgain: counted = "retry"
        case .resend:
            logger.notice("chapter answer cut off by the server for our next request; sent again", metadata: metadata)
            counted = "retry"
        case .retry(let after, let pauseAll, let raiseBudget):
            Counter(label: MetricName.retries).increment()
            if pauseAll {
                metadata["paused_ms"] = "\(after.milliseconds)"
                Counter(label: MetricName.rateLimited).increment()
                FloatingPointCounter(label: MetricName.rateLimitPauseSeconds).increment(by: after.inSeconds)
            }
            if let raiseBudget { metadata["max_output_tokens"] = "\(raiseBudget)" }
            metadata["retry_in_ms"] = "\(after.milliseconds)"
            logger.warning("chapter attempt failed, retrying", metadata: metadata)
            counted = "retry"
        }
        let dimensions = [
            ("outcome", counted), ("status", status.map { String($0) } ?? "none"), ("tier", tier.rawValue),
        ]
        Counter(label: MetricName.requests, dimensions: dimensions).increment()
    }

    /// A change of the in-flight limit, which `reason` caused.
    func limitChanged(_ change: AdaptiveLimit.Change, maximum: Int, reason: String) {
        switch change {
        case .decreased(let from, let to):
            let metadata: Logger.Metadata = ["from": "\(from)", "to": "\(to)", "reason": "\(reason)"]
            logger.warning("fewer requests in flight", metadata: metadata)
        case .increased(let from, let to):
            let metadata: Logger.Metadata = [
                "from": "\(from)", "to": "\(to)", "maximum": "\(maximum)", "reason": "\(reason)",
            ]
            logger.notice("more requests in flight", metadata: metadata)
        }
    }

    /// Every submission stopped.
    func stopped(_ stop: SubmissionStop) {
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
    }

    /// An answer's headers said the rate limit has nothing left: every submission waits `pause`.
    func rateLimitUsedUp(pause: Duration) {
        let metadata: Logger.Metadata = ["paused_ms": "\(pause.milliseconds)"]
        logger.info("the API's rate limit has nothing left: submissions wait until it refills", metadata: metadata)
    }

    /// A request not sent, when nobody else says why: the state folder's refusal (the other stops
    /// and the breaker say it once for every request).
    func notSent(_ failure: NotSent, attempt: Int) {
        guard failure.reason == .stateFolder else { return }
        logger.warning("chapter not sent", metadata: ["attempt": "\(attempt)", "error": "\(failure.error.message)"])
    }
}
