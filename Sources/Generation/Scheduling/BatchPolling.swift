/// How often a Batch API job is polled: 10 s after it is created (or found again), then twice as
/// long after each poll that finds it unfinished, at most every 5 minutes. A job takes minutes to
/// a day; polling faster costs requests and tells nothing sooner.
public struct BatchPolling: Sendable, Hashable {
    public var first: Duration
    public var maximum: Duration

    public init(first: Duration = .seconds(10), maximum: Duration = .seconds(300)) {
        self.first = first
        self.maximum = maximum
    }

    /// The wait before poll `poll` (0-based: 0 is the first poll of this process).
    public func delay(beforePoll poll: Int) -> Duration {
        let exponent = min(max(poll, 0), 30)
        return min(first * (1 << exponent), maximum)
    }

    /// The schedule every poll follows, `TestHooks.batchPollScale` times as long (the end-to-end
    /// tests shrink it; 1 elsewhere).
    public static var standard: BatchPolling {
        let scale = TestHooks.batchPollScale
        return BatchPolling(first: .seconds(10) * scale, maximum: .seconds(300) * scale)
    }
}
