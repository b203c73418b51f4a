import Platform

/// How many requests may be in flight now, adapted to how the API copes: additive increase,
/// multiplicative decrease, as TCP does with its window.
///
/// A sign of overload (503 "the model is overloaded", 504, a timeout, a stalled stream) halves
/// the limit, never below one. Answers of requests sent before that decrease do not halve it
/// again: a burst of failures from one crowded moment counts once. Then every run of `limit`
/// successes in a row raises it by one, up to `maximum` (`--concurrency`). During an overload
/// storm this keeps most chapters waiting instead of burning their attempts at full
/// concurrency. When the API comes back after an outage (the scheduler's `CircuitBreaker`
/// closes), the limit returns to what it was when answers last came back (`restore`).
/// Pure: the scheduler feeds it outcomes and acts on the changes.
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
    /// A shed flex request lowered the limit since the last success: the stretch counted once.
    private var shedCounted = false
    /// The limit when the last answer came back (`maximum` before any).
    private(set) var served: Int

    /// The most a server that cut one of our answers to serve our next request can take: the
    /// limit never climbs past it again (until a reload sets `maximum`).
    private(set) var ceiling: Int?

    /// - Parameter start: the limit at first; nil: `maximum`. A local model server starts at 1
    ///   and the limit climbs while answers come back whole.
    init(maximum: Int, start: Int? = nil) {
        self.maximum = max(maximum, 1)
        self.current = min(max(start ?? self.maximum, 1), self.maximum)
        self.served = self.current
    }

    /// The least time per byte of answer a local server took (seconds), the pace of an answer
    /// that did not wait behind others.
    private(set) var fastestPace: Double?

    /// A local server answered, at `pace` seconds per byte of answer, a request sent in
    /// `generation`. TCP Vegas: with `current` in flight, `current × (1 − fastest / pace)` of them
    /// are waiting at the server. Under half a request, the server keeps up: the limit climbs as
    /// after any success; from one and a half, it queues ours: the limit goes down by one; in
    /// between it holds. A server with N slots that queues the rest settles at N or N + 1.
    mutating func answered(pace: Double, sentIn generation: Int) -> Change? {
        guard pace.isFinite, pace > 0 else { return succeeded() }
        let fastest = min(fastestPace ?? pace, pace)
        fastestPace = fastest
        let waiting = Double(current) * (1 - fastest / pace)
        if waiting < 0.5 { return succeeded() }
        successesInARow = 0
        defer { served = current }
        guard waiting >= 1.5, generation == self.generation, current > 1 else { return nil }
        let before = current
        current -= 1
        self.generation += 1
        return .decreased(from: before, to: current)
    }

    /// The server says it serves `served` requests at once (llama.cpp's `llama-server`): the
    /// limit starts there, within `maximum`, and does not climb past it.
    mutating func serverServes(_ served: Int) -> Change? {
        let target = min(max(served, 1), maximum)
        ceiling = target
        guard target != current else { return nil }
        let before = current
        current = target
        self.served = target
        successesInARow = 0
        generation += 1
        return target > before ? .increased(from: before, to: target) : .decreased(from: before, to: target)
    }

    /// An answer sent in `generation` was cut off while a request of ours sent after it was in
    /// flight: a server that serves fewer at once (llama.cpp's Python server serves one and, by
    /// default, drops the answer it is writing for the next request). The limit goes one below
    /// what was in flight and never climbs back past it.
    mutating func overrun(sentIn generation: Int) -> Change? {
        successesInARow = 0
        guard generation == self.generation, current > 1 else { return nil }
        let before = current
        current -= 1
        ceiling = current
        self.generation += 1
        return .decreased(from: before, to: current)
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

    /// A flex request sent in `generation` was shed: the flex queue is full. A stretch of sheds
    /// (no success between them) lowers the limit once, as one sign of overload would; the
    /// queue empties with time, not with fewer requests of ours.
    mutating func shed(sentIn generation: Int) -> Change? {
        guard !shedCounted else { return nil }
        let change = overloaded(sentIn: generation)
        if change != nil { shedCounted = true }
        return change
    }

    /// A request succeeded (or failed for a reason that says nothing about load).
    mutating func succeeded() -> Change? {
        shedCounted = false
        defer { served = current }
        guard current < min(maximum, ceiling ?? maximum) else { return nil }
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
        let servedMaximum = served == self.maximum
        self.maximum = max(maximum, 1)
        ceiling = nil
        current = wasAtMaximum ? self.maximum : min(current, self.maximum)
        served = servedMaximum ? self.maximum : min(served, self.maximum)
    }

    /// The API answers again after an outage: the limit returns to what it was when answers
    /// last came back. The halvings since then measured an outage (nearly every request failed,
    /// however few were in flight), not how many requests the API serves at once; should it
    /// still be crowded, the next sign of overload halves the limit again. Answers of requests
    /// sent before do not lower it.
    mutating func restore() -> Change? {
        guard current < served else { return nil }
        let before = current
        current = served
        successesInARow = 0
        generation += 1
        return .increased(from: before, to: current)
    }
}
