import Providers

/// Whether the API is down, not one chapter's request wrong: a circuit breaker over the outcomes
/// of recent requests across chapters, modelled on gRPC's retry throttling (requests stop while
/// the failure ratio is high). Pure: the scheduler feeds it outcomes, the time (a `Duration` on
/// its clock) and random numbers, and acts on its decisions.
///
/// **Closed**, the API answers: requests go as the pacer and the in-flight limit allow. Each
/// outcome that says something about the service (`Outcome`) joins a window of the last
/// `window` outcomes, none older than `memory`. The breaker opens when failures of the service
/// are at least `openingRatio` of that window and come from at least `openingChapters`
/// different chapters. Why that threshold:
/// - a ratio, not a count, so one unlucky 503 among answers never opens it, and a partial
///   overload (half the requests refused) is left to `AdaptiveLimit` and the retries, which do
///   better there than one probe at a time;
/// - two chapters, so no chapter alone opens it (a prompt the server fails on every time, with a
///   500, is that chapter's problem, and its own attempts end it);
/// - no larger minimum, because each failure before the opening is a request thrown away (at the
///   start of a run in an outage, nothing else is in the window: two failures open it), while
///   opening wrongly costs one probe interval: the first probe goes after about 3 s, and its
///   answer closes the breaker.
///
/// **Open**, the API is down: nothing is sent until the next probe time; then the first request
/// admitted is the probe, and while it is in flight (**probing**) every other request waits for
/// its answer.
/// - A probe the service answers (a chapter, or a failure of the chapter's own) closes the
///   breaker with a fresh window: everyone waiting goes, at full pace.
/// - A probe the service fails doubles the interval: 3 s, 6, 12, 24, then 30 s, each stretched
///   by a random 0–20 % (never past `maximumProbeInterval`) so that processes sharing a project
///   do not probe together.
/// - A probe turned away (`Outcome.shed`) or never sent (cancelled, stopped) gives no verdict:
///   the next probe goes after the same interval, or at once if it was never sent.
/// - Outcomes of requests sent before the breaker last opened or closed are ignored: they tell
///   about the moment they were sent (as `AdaptiveLimit`'s generations do).
///
/// **Giving up**: a request waits at most `longestWait` for the API, counted from the opening or
/// from its own arrival, whichever is later; then `admit` says `giveUp` (the scheduler fails it,
/// retryably). The breaker stays open: whoever comes next (a daemon's healing run) probes. While
/// no request has ever reached the server (every one `unreachable`: a wrong base URL, a local
/// server not started), the wait is `longestUnreachedWait`, about what the retries took before
/// the breaker: a mistake in the settings fails in a minute, not ten.
struct CircuitBreaker<Chapter: Hashable & Sendable>: Sendable {
    /// How an attempt's outcome bears on whether the service is up.
    enum Outcome: Sendable, Hashable {
        /// The service answered: a chapter, or a failure of the chapter's own (a malformed or
        /// empty answer, MAX_TOKENS, a blocked prompt, a request or key refused).
        case answered
        /// The service failed: 500, 502, 503, 504, a timeout, a stalled stream, a connection
        /// reset or closed (`ProviderError.showsServiceUnavailable`).
        case unavailable
        /// The server could not be reached at all: its name does not resolve, or the connection
        /// is refused or never made (`ProviderError.isUnreachable`). A failure as `unavailable`.
        case unreachable
        /// The service, up, turned the request away: a 429 (the pacer pauses for it) or a daily
        /// quota. It neither opens nor closes the breaker. (A flex-tier request shed under load
        /// belongs here too: "shed, not down".)
        case shed
    }

    /// Leave to send one request, kept until its outcome is recorded.
    struct Pass: Sendable, Hashable {
        /// Counts openings and closings: an outcome from an earlier epoch is stale.
        fileprivate let epoch: Int
        /// The probe's number, if this request is the probe.
        fileprivate let probe: Int?
        var isProbe: Bool { probe != nil }
    }

    /// What a request ready to go should do.
    enum Admission: Sendable, Hashable {
        case send(Pass)
        /// Wait until `until` (the next probe time, or the moment to give up), or until the
        /// breaker changes, then ask again.
        case wait(until: Duration)
        /// The request has waited `longestWait` for the API: fail it.
        case giveUp
    }

    /// What an outcome changed, for the logs and status displays.
    enum Change: Sendable, Hashable {
        case opened(failures: Int, outcomes: Int, nextProbeIn: Duration)
        case probeFailed(nextProbeIn: Duration)
        /// The probe was shed (a 429): no verdict, the next one goes after the same interval.
        case probeShed(nextProbeIn: Duration)
        /// After being open for `after`.
        case closed(after: Duration)
    }

    enum State: Sendable, Hashable {
        case closed
        /// Open since `since`; the next probe may go at `nextProbe`, `interval` after the last.
        case open(since: Duration, interval: Duration, nextProbe: Duration)
        /// Probe number `probe` is in flight.
        case probing(since: Duration, interval: Duration, probe: Int)
    }

    /// Outcomes the opening rule looks at, at most.
    static var window: Int { 10 }
    /// Outcomes older than this are forgotten.
    static var memory: Duration { .seconds(60) }
    /// Share of failures in the window that opens the breaker.
    static var openingRatio: Double { 0.8 }
    /// Different chapters among the failures that open the breaker.
    static var openingChapters: Int { 2 }
    /// The wait before the first probe.
    static var firstProbeInterval: Duration { .seconds(3) * TestHooks.outageScale }
    /// No wait between probes is longer.
    static var maximumProbeInterval: Duration { .seconds(30) * TestHooks.outageScale }
    /// Largest random stretch of a probe interval, as a fraction of it.
    static var probeJitter: Double { 0.2 }
    /// The longest a request waits for the API to come back.
    static var longestWait: Duration { .seconds(600) * TestHooks.outageScale }
    /// The longest a request waits while no request has ever reached the server.
    static var longestUnreachedWait: Duration { .seconds(60) * TestHooks.outageScale }

    private struct Record: Sendable, Hashable {
        var at: Duration
        var chapter: Chapter
        var failed: Bool
    }

    private(set) var state = State.closed
    /// Whether any request has reached the server (any outcome but `unreachable`).
    private(set) var hasReachedServer = false
    private var epoch = 0
    private var probes = 0
    private var recent: [Record] = []

    /// Since when the API has been unavailable and how long the breaker now waits between
    /// probes; nil while it is closed.
    var outage: (since: Duration, probeInterval: Duration)? {
        switch state {
        case .closed: nil
        case .open(let since, let interval, _), .probing(let since, let interval, _): (since, interval)
        }
    }

    /// What a request that arrived at `arrivedAt` and is ready to go at `now` should do. The
    /// first request admitted once a probe may go becomes the probe.
    mutating func admit(now: Duration, arrivedAt: Duration) -> Admission {
        switch state {
        case .closed:
            return .send(Pass(epoch: epoch, probe: nil))
        case .open(let since, let interval, let nextProbe):
            let giveUpAt = max(since, arrivedAt) + patience
            if now >= giveUpAt { return .giveUp }
            guard now >= nextProbe else { return .wait(until: min(nextProbe, giveUpAt)) }
            probes += 1
            state = .probing(since: since, interval: interval, probe: probes)
            return .send(Pass(epoch: epoch, probe: probes))
        case .probing(let since, _, _):
            let giveUpAt = max(since, arrivedAt) + patience
            return now >= giveUpAt ? .giveUp : .wait(until: giveUpAt)
        }
    }

    /// How long a request waits for the API before it gives up.
    var patience: Duration { hasReachedServer ? Self.longestWait : Self.longestUnreachedWait }

    /// Records the outcome of the request `chapter` sent with `pass`, known at `now`.
    /// - Parameter unit: a random number in 0..<1, for the stretch of the next probe interval.
    mutating func record(
        _ outcome: Outcome,
        of chapter: Chapter,
        sentWith pass: Pass,
        now: Duration,
        unit: Double
    ) -> Change? {
        if outcome != .unreachable { hasReachedServer = true }
        guard pass.epoch == epoch else { return nil }
        let failed = outcome == .unavailable || outcome == .unreachable
        switch state {
        case .closed:
            guard outcome != .shed else { return nil }
            recent.append(Record(at: now, chapter: chapter, failed: failed))
            recent.removeAll { now - $0.at > Self.memory }
            if recent.count > Self.window { recent.removeFirst(recent.count - Self.window) }
            let failures = recent.filter(\.failed)
            guard failed,
                Double(failures.count) >= Self.openingRatio * Double(recent.count),
                Set(failures.map(\.chapter)).count >= Self.openingChapters
            else { return nil }
            let wait = Self.stretched(Self.firstProbeInterval, unit: unit)
            state = .open(since: now, interval: Self.firstProbeInterval, nextProbe: now + wait)
            epoch += 1
            let outcomes = recent.count
            recent = []
            return .opened(failures: failures.count, outcomes: outcomes, nextProbeIn: wait)
        case .open:
            // Only probes are sent while open, and this one was abandoned.
            return nil
        case .probing(let since, let interval, let probe):
            guard pass.probe == probe else { return nil }
            switch outcome {
            case .answered:
                state = .closed
                epoch += 1
                recent = [Record(at: now, chapter: chapter, failed: false)]
                return .closed(after: now - since)
            case .unavailable, .unreachable:
                let longer = min(interval * 2, Self.maximumProbeInterval)
                let wait = Self.stretched(longer, unit: unit)
                state = .open(since: since, interval: longer, nextProbe: now + wait)
                return .probeFailed(nextProbeIn: wait)
            case .shed:
                state = .open(since: since, interval: interval, nextProbe: now + interval)
                return .probeShed(nextProbeIn: interval)
            }
        }
    }

    /// The request sent with `pass` ends without an outcome (cancelled, stopped, refused before
    /// it went): if it was the probe, the next request admitted probes instead, at once.
    /// - Returns: whether that changed anything (requests waiting may go on).
    mutating func abandon(_ pass: Pass, now: Duration) -> Bool {
        guard pass.epoch == epoch, case .probing(let since, let interval, let probe) = state, pass.probe == probe
        else { return false }
        state = .open(since: since, interval: interval, nextProbe: now)
        return true
    }

    /// `interval` stretched by `unit` times `probeJitter`, never past `maximumProbeInterval`.
    static func stretched(_ interval: Duration, unit: Double) -> Duration {
        min(interval * (1 + probeJitter * min(max(unit, 0), 1)), maximumProbeInterval)
    }
}

extension CircuitBreaker.Outcome {
    /// How a failed attempt bears on the service: a rate limit or a daily quota is `shed`, a
    /// failure that `showsServiceUnavailable` is `unavailable`, anything else is an answer.
    init(_ error: ProviderError) {
        if error.isRateLimit || error.shed || error.disposition == .dailyQuotaExhausted {
            self = .shed
        } else if error.showsServiceUnavailable {
            self = error.isUnreachable ? .unreachable : .unavailable
        } else {
            self = .answered
        }
    }
}
