import Metrics
import Platform

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
    /// - Parameter why: the reason for a decrease in a few words, for `systemctl status`; nil:
    ///   the API is overloaded.
    mutating func adapt(
        _ decide: (inout AdaptiveLimit) -> AdaptiveLimit.Change?,
        reason: String?,
        why: String? = nil,
        log: SchedulerLog
    ) {
        guard let change = decide(&limit) else { return }
        if let reason { log.limitChanged(change, maximum: limit.maximum, reason: reason) }
        if case .decreased = change { self.why = why ?? "API overloaded" }
        limitChanged()
    }

    /// Why the limit is where it is, in a few words ("API overloaded", "the server queues").
    private(set) var why: String?

    /// The server says how many it serves at once (`AdaptiveLimit.serverServes`).
    mutating func serverServes(_ served: Int, log: SchedulerLog) {
        adapt(
            { $0.serverServes(served) },
            reason: "the server says it serves \(served) at once (GET /props: total_slots)",
            log: log
        )
        why = "the server's slots"
    }

    /// Adapts the limit to `outcome`, an attempt sent in `generation` (nil: the breaker's probe)
    /// that took `elapsed`: an answer lets it climb (for a local server, while answers keep their
    /// pace); a sign of overload, a shed flex request or an answer a local server cut off for
    /// another of ours lowers it (`AdaptiveLimit`).
    mutating func adapt(
        after outcome: RetryStep.Outcome,
        took elapsed: Duration,
        sentIn generation: Int?,
        under configuration: Scheduler.Configuration,
        log: SchedulerLog
    ) {
        switch (outcome, generation) {
        case (.answered(let response), let generation?) where configuration.localServer:
            // Time per byte of answer: comparable across chapters of any length.
            let pace = elapsed.inSeconds / Double(max(response.text.utf8.count, 1))
            let climbing = limit.current
            adapt({ $0.answered(pace: pace, sentIn: generation) }, reason: nil, why: "the server queues more", log: log)
            guard limit.current != climbing else { return }
            let change: AdaptiveLimit.Change =
                limit.current > climbing
                ? .increased(from: climbing, to: limit.current) : .decreased(from: climbing, to: limit.current)
            log.limitChanged(
                change,
                maximum: limit.maximum,
                reason: limit.current > climbing
                    ? "answers keep their pace" : "answers take longer with more in flight: the server queues them"
            )
        case (.answered, _):
            adapt({ $0.succeeded() }, reason: "answers come back whole", log: log)
        case (.overrun, let generation?):
            adapt(
                { $0.overrun(sentIn: generation) },
                reason: "an answer was cut off for a later request: the server serves fewer at once",
                why: "the server serves fewer at once",
                log: log
            )
        case (.failed(let error), let generation?) where configuration.adaptsToOverload && error.overloaded:
            adapt({ $0.overloaded(sentIn: generation) }, reason: error.description, log: log)
        case (.failed(let error), let generation?) where configuration.adaptsToOverload && error.shed:
            adapt({ $0.shed(sentIn: generation) }, reason: error.description, log: log)
        default:
            break
        }
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
