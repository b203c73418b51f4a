public import Platform
public import Providers

/// A chapter that could not be generated, with the last error.
public struct GenerationFailure: CodedError {
    /// Attempts made (0 when submissions were already stopped).
    public var attempts: Int
    public var error: ProviderError
    /// Tokens billed for the failed attempts.
    public var usage: Usage
    /// Not sent (or not sent again) because the run's budget would not cover it: the chapter is
    /// skipped for the budget, not failed, and only a save or a higher budget tries it again.
    public var skippedForBudget = false

    /// Whether trying again later may succeed: true for server errors, timeouts, stalls,
    /// overload and quotas; false when only the author (`.fatal`) or the configuration
    /// (`.stopEverything`) can fix it.
    public var mayPassWithTime: Bool { !skippedForBudget && error.mayPassWithTime }

    /// The last error's classification.
    public var code: ProviderError.Disposition { error.disposition }
    /// Where the last error was made.
    public var origin: SourceOrigin { error.origin }

    public var message: String {
        if skippedForBudget { return error.message }
        switch error.disposition {
        case .interrupted:
            return error.message
        case .fatal, .dailyQuotaExhausted, .stopEverything:
            return attempts > 1 ? "\(error) (attempt \(attempts))" : "\(error)"
        case .retry, .retryWithLargerBudget:
            return attempts == 0 ? "\(error)" : "\(error) (gave up after \(attempts) attempts)"
        }
    }
}
