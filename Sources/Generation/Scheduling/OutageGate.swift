public import Foundation
import Logging
import Metrics
import Platform
import Providers

/// The API found unavailable by the scheduler's circuit breaker, for status displays: "API
/// unavailable since 10:42: probing every 8 s".
public struct APIOutage: Sendable, Hashable {
    /// When the breaker opened, on the wall clock.
    public var since: Date
    /// The wait between probes now (3 s at first, at most 30 s).
    public var probeInterval: Duration

    public init(since: Date, probeInterval: Duration) {
        self.since = since
        self.probeInterval = probeInterval
    }
}

/// The scheduler's circuit breaker (`CircuitBreaker`) and what goes around it: one log line when
/// it opens and one when it closes (never one per waiting request), the observers and the gauge,
/// and the wake-up of the requests waiting for it. Owned by the scheduler's actor.
struct OutageGate {
    typealias Breaker = CircuitBreaker<ChapterKey>

    private(set) var breaker = Breaker()
    /// Woken whenever the breaker changes, so that waiting requests ask again.
    let changes = Wakeups()
    /// Requests in a wait for the breaker now.
    var waiting = 0
    private var observers: [@Sendable (APIOutage?) -> Void] = []
    /// The latest failure of the service while the breaker is open, for the message of a
    /// request that gives up waiting.
    private var lastFailure: ProviderError?
    private var openedAt: Date?

    init() {
        Gauge(label: MetricName.apiUnavailable).record(0)
    }

    /// The outage in course, if the breaker is open.
    var outage: APIOutage? {
        guard let openedAt, let outage = breaker.outage else { return nil }
        return APIOutage(since: openedAt, probeInterval: outage.probeInterval)
    }

    mutating func observe(_ observer: @escaping @Sendable (APIOutage?) -> Void) {
        observers.append(observer)
    }

    /// See `CircuitBreaker.admit`.
    mutating func admit(now: Duration, arrivedAt: Duration) -> Breaker.Admission {
        breaker.admit(now: now, arrivedAt: arrivedAt)
    }

    /// Records what the request sent with `pass` got, logs an opening or a closing through
    /// `logger`, and tells the observers and the waiting requests of any change.
    /// - Parameter wallClock: the time of day, for `APIOutage.since`.
    mutating func record(
        _ outcome: Result<ChapterResponse, ProviderError>,
        of chapter: ChapterKey,
        sentWith pass: Breaker.Pass,
        now: Duration,
        unit: Double,
        wallClock: Date,
        logger: Logger
    ) -> Breaker.Change? {
        let kind: Breaker.Outcome
        switch outcome {
        case .success: kind = .answered
        case .failure(let error):
            kind = Breaker.Outcome(error)
            if kind == .unavailable || kind == .unreachable { lastFailure = error }
        }
        guard let change = breaker.record(kind, of: chapter, sentWith: pass, now: now, unit: unit) else {
            return nil
        }
        switch change {
        case .opened(let failures, let outcomes, let nextProbeIn):
            openedAt = wallClock
            let ratio = Double(failures) / Double(max(outcomes, 1))
            logger.warning(
                "the API is unavailable: submissions wait, and one request at a time probes it",
                metadata: [
                    "failure_ratio": "\((ratio * 100).rounded() / 100)",
                    "failures": "\(failures)",
                    "outcomes": "\(outcomes)",
                    "next_probe_in_ms": "\(nextProbeIn.milliseconds)",
                    "error": "\(lastFailure.map { "\($0)" } ?? "")",
                ]
            )
            Gauge(label: MetricName.apiUnavailable).record(1)
        case .probeFailed(let nextProbeIn), .probeShed(let nextProbeIn):
            logger.debug(
                "the API is still unavailable",
                metadata: ["next_probe_in_ms": "\(nextProbeIn.milliseconds)"]
            )
        case .closed(let after):
            logger.notice(
                "the API answers again: submissions resume at full pace",
                metadata: ["unavailable_ms": "\(after.milliseconds)"]
            )
            openedAt = nil
            lastFailure = nil
            Gauge(label: MetricName.apiUnavailable).record(0)
        }
        notify()
        return change
    }

    /// The request sent with `pass` ends without an outcome; if it was the probe, another goes.
    mutating func abandon(_ pass: Breaker.Pass, now: Duration) {
        if breaker.abandon(pass, now: now) { changes.wakeAll() }
    }

    /// Why a request that waited `CircuitBreaker.longestWait` for the API fails: retryable, so
    /// that a daemon tries its chapter again later.
    var givenUp: ProviderError {
        let seconds = Int(breaker.patience.inSeconds.rounded())
        let wait = seconds >= 60 && seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
        let last = lastFailure.map { " (last failure: \($0))" } ?? ""
        return ProviderError(
            .retry,
            "the API has been unavailable for \(wait)\(last); the chapter is not asked for again in this run"
        )
    }

    private func notify() {
        changes.wakeAll()
        let outage = self.outage
        for observer in observers { observer(outage) }
    }
}
