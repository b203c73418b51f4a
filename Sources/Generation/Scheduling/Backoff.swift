/// Exponential backoff with full jitter: attempt n waits a uniformly random time between zero and
/// `min(maximum, initial · 2^(n-1))`. Full jitter spreads the retries of requests that failed
/// together (a 503 storm) instead of bringing them back in a burst.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first retry's delay.
    public var initial: Duration
    /// No retry waits longer than this.
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling for the retry after failed attempt `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        // Cap the exponent before shifting so a large attempt number cannot overflow.
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = initial * (1 << exponent)
        return min(ceiling, maximum)
    }

    /// The delay before retrying after failed attempt `attempt` (1-based).
    /// - Parameter unit: a random number in 0..<1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        ceiling(afterAttempt: attempt) * min(max(unit, 0), 1)
    }
}
