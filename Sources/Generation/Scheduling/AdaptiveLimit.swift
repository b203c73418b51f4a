/// How many requests may be in flight now, adapted to how the API copes: additive increase,
/// multiplicative decrease, as TCP does with its window.
///
/// A sign of overload (503 "the model is overloaded", 504, a timeout, a stalled stream) halves
/// the limit, never below one. Answers of requests sent before that decrease do not halve it
/// again: a burst of failures from one crowded moment counts once. Then every run of `limit`
/// successes in a row raises it by one, up to `maximum` (`--concurrency`). During an overload
/// storm this keeps most chapters waiting instead of burning their attempts at full
/// concurrency. Pure: the scheduler feeds it outcomes and acts on the changes.
struct AdaptiveLimit: Sendable, Hashable {
    /// What an outcome changed.
    enum Change: Sendable, Hashable {
        case decreased(from: Int, to: Int)
        case increased(from: Int, to: Int)
    }

    /// `--concurrency`: the limit never goes above it.
    private(set) var maximum: Int
    /// Requests allowed in flight now.
    private(set) var current: Int
    /// Counts decreases; a request remembers the generation it was sent in.
    private(set) var generation = 0
    private var successesInARow = 0

    init(maximum: Int) {
        self.maximum = max(maximum, 1)
        self.current = self.maximum
    }

    /// A request sent in `generation` met a sign of overload.
    mutating func overloaded(sentIn generation: Int) -> Change? {
        successesInARow = 0
        guard generation == self.generation, current > 1 else { return nil }
        let before = current
        current = max(current / 2, 1)
        self.generation += 1
        return .decreased(from: before, to: current)
    }

    /// A request succeeded (or failed for a reason that says nothing about load).
    mutating func succeeded() -> Change? {
        guard current < maximum else { return nil }
        successesInARow += 1
        guard successesInARow >= current else { return nil }
        successesInARow = 0
        let before = current
        current += 1
        return .increased(from: before, to: current)
    }

    /// A reload changed `--concurrency`: a limit that was not lowered follows it at once; a lowered
    /// one stays lowered (below the new maximum) and climbs as before.
    mutating func setMaximum(_ maximum: Int) {
        let wasAtMaximum = current == self.maximum
        self.maximum = max(maximum, 1)
        current = wasAtMaximum ? self.maximum : min(current, self.maximum)
    }
}
