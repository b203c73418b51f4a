public import Logging
public import Providers

/// The scheduler's doors for Batch API jobs: a job is created through the same key check and the
/// same stops as a streamed chapter, and a job's polls end when the process stops.
extension Scheduler {
    /// The provider, when it takes batch jobs (Gemini).
    public var batchProvider: (any BatchProvider)? { provider as? any BatchProvider }

    /// Creates one job for `requests` (one model): checks the key and model first, as before the
    /// first streamed request, and sends nothing while a stop is in force. Never retried: a
    /// create whose answer is lost may have made a job, and a second create would pay twice.
    /// - Throws: `GenerationFailure` (a refused key or model, or a daily quota, begins the stop
    ///   as a chapter's answer would); `CancellationError`.
    func submitBatch(_ requests: [ChapterRequest], displayName: String, logger: Logger) async throws -> BatchJob {
        let log = SchedulerLog(logger: logger, price: nil)
        guard let provider = batchProvider, let model = requests.first?.model else {
            throw GenerationFailure(
                attempts: 0,
                error: ProviderError(.fatal, "this provider takes no batch jobs: --batch needs --provider gemini"),
                usage: Usage()
            )
        }
        do {
            try await verifyOnce(model: model, log: log)
            try stops.check()
            return try await provider.submitBatch(
                requests,
                displayName: displayName,
                timeout: configuration.requestTimeout
            )
        } catch let failure as NotSent {
            throw GenerationFailure(attempts: 0, error: failure.error, usage: Usage())
        } catch let error as ProviderError {
            let reason: SubmissionStop.Reason? =
                switch error.disposition {
                case .stopEverything: .refused
                case .dailyQuotaExhausted: .dailyQuota
                default: nil
                }
            if let reason, let stop = stops.begin(reason, error: error) { log.stopped(stop) }
            throw GenerationFailure(attempts: 1, error: error, usage: Usage())
        }
    }

    /// The job `name` now (a poll costs no tokens and is not paced).
    /// - Throws: `ProviderError`; `CancellationError`.
    func pollBatch(_ name: String, keys: [ChapterKey]) async throws -> BatchJob {
        guard let provider = batchProvider else {
            throw ProviderError(.fatal, "this provider takes no batch jobs: --batch needs --provider gemini")
        }
        return try await provider.batchJob(named: name, keys: keys, timeout: configuration.requestTimeout)
    }

    /// The job a create whose answer was lost may have made, found by its display name.
    /// - Throws: `ProviderError`; `CancellationError`.
    func findBatch(displayName: String) async throws -> String? {
        guard let provider = batchProvider else { return nil }
        return try await provider.findBatch(displayName: displayName, timeout: configuration.requestTimeout)
    }

    /// Waits before poll `poll` (0-based) of a job, as `Configuration.batchPolling` says, on the
    /// scheduler's clock. A stop of submissions does not end the wait (polling is free); the
    /// process stopping does.
    /// - Throws: `NotSent` when the process is stopping (the job goes on, and the next start
    ///   polls it); `CancellationError`.
    func waitToPoll(_ poll: Int) async throws {
        let delay = configuration.batchPolling.delay(beforePoll: poll)
        try await stops.sleepUnlessShuttingDown(until: time.now() + delay)
    }
}
