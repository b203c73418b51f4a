import Metrics

/// The scheduler's submission slots, as many as the in-flight limit allows (`AdaptiveLimit`:
/// `--concurrency`, fewer while the API is overloaded). A request holds one from its wait for its
/// turn until its answer is kept; the others wait in `line`, first come first served, and a slot
/// freed goes straight to the first of them. Owned by the scheduler's actor.
struct SubmissionSlots {
    private(set) var limit: AdaptiveLimit
    private(set) var held = 0
    /// Where requests wait for a slot: one woken holds it. A stop fails them all.
    let line = Wakeups()
    private var observers: [@Sendable (_ current: Int, _ maximum: Int) -> Void] = []

    /// - Parameter start: the limit at first (see `AdaptiveLimit`); nil: `concurrency`.
    init(concurrency: Int, start: Int? = nil) {
        limit = AdaptiveLimit(maximum: concurrency, start: start)
        Gauge(label: MetricName.inFlightLimit).record(limit.current)
        Gauge(label: MetricName.requestsInFlight).record(0)
    }

    /// Calls `observer` whenever the limit changes.
    mutating func observe(_ observer: @escaping @Sendable (_ current: Int, _ maximum: Int) -> Void) {
        observers.append(observer)
    }

    /// Takes a slot if one is free and nobody waits for one; else the caller waits in `line`.
    mutating func take() -> Bool {
        guard line.parked == 0, held < limit.current else { return false }
        held += 1
        Gauge(label: MetricName.requestsInFlight).record(held)
        return true
    }

    /// Frees a slot, for the first in line to take.
    mutating func release() {
        held -= 1
        handOver()
    }

    /// A reload's `--concurrency` (see `AdaptiveLimit.setMaximum`).
    mutating func setMaximum(_ maximum: Int) {
        limit.setMaximum(maximum)
        limitChanged()
    }

    /// Applies the change `decide` makes to the limit, logged with the `reason` for it (nil: said
    /// elsewhere). A lower limit takes effect as slots are freed.
    mutating func adapt(_ decide: (inout AdaptiveLimit) -> AdaptiveLimit.Change?, reason: String?, log: SchedulerLog) {
        guard let change = decide(&limit) else { return }
        if let reason { log.limitChanged(change, maximum: limit.maximum, reason: reason) }
        limitChanged()
    }

    private mutating func limitChanged() {
        Gauge(label: MetricName.inFlightLimit).record(limit.current)
        for observer in observers { observer(limit.current, limit.maximum) }
        handOver()
    }

    private mutating func handOver() {
        while held < limit.current, line.wakeFirst() { held += 1 }
        Gauge(label: MetricName.requestsInFlight).record(held)
    }
}
