/// The limits a fake enforces on valid requests before deciding their reply, like the real
/// APIs' quotas. A request over a limit is answered 429 (in the API's own shape) and is not
/// counted against any limit: it never reached the model.
public struct QuotaPolicy: Sendable, Hashable {
    /// Requests admitted within any ``window`` (sliding); nil for no limit.
    public var requestsPerWindow: Int?
    /// Tokens (the prompt's estimate plus the requested output budget, as OpenAI counts them)
    /// admitted within any ``window``; nil for no limit.
    public var tokensPerWindow: Int?
    /// The sliding window's length: a minute for RPM and TPM; tests use a shorter one.
    public var window: Duration
    /// Requests admitted per day; nil for no limit. A day is a fixed window of ``dayLength``
    /// counted from the server's start (the real one resets at midnight Pacific time).
    public var requestsPerDay: Int?
    public var dayLength: Duration

    public init(
        requestsPerWindow: Int? = nil,
        tokensPerWindow: Int? = nil,
        window: Duration = .seconds(60),
        requestsPerDay: Int? = nil,
        dayLength: Duration = .seconds(86_400)
    ) {
        self.requestsPerWindow = requestsPerWindow
        self.tokensPerWindow = tokensPerWindow
        self.window = window
        self.requestsPerDay = requestsPerDay
        self.dayLength = dayLength
    }

    /// `rpm` requests per minute (or per `window`).
    public static func requestsPerMinute(_ rpm: Int, window: Duration = .seconds(60)) -> QuotaPolicy {
        QuotaPolicy(requestsPerWindow: rpm, window: window)
    }
}

/// Why the quota turned a request away, and when it would admit one more.
public struct QuotaRejection: Sendable, Hashable {
    public var rule: Rejection
    /// The limit that was reached.
    public var limit: Int
    /// How long until the quota admits this request: the time until enough of the window's
    /// requests (or tokens) expire, or until the day ends.
    public var retryAfter: Duration

    public init(rule: Rejection, limit: Int, retryAfter: Duration) {
        self.rule = rule
        self.limit = limit
        self.retryAfter = retryAfter
    }
}

/// Where a quota stands, as OpenAI's `x-ratelimit-*` headers report it.
public struct QuotaSnapshot: Sendable, Hashable {
    public struct Limit: Sendable, Hashable {
        public var limit: Int
        public var remaining: Int
        /// How long until the limit is back to its initial state (every use expired).
        public var reset: Duration

        public init(limit: Int, remaining: Int, reset: Duration) {
            self.limit = limit
            self.remaining = remaining
            self.reset = reset
        }
    }

    public var requests: Limit?
    public var tokens: Limit?
}

/// The quota's bookkeeping: a pure value that is told the time, so it is tested without a
/// clock. Rejected requests are not recorded.
package struct QuotaLimiter: Sendable {
    package let policy: QuotaPolicy
    package let start: ContinuousClock.Instant
    /// Admitted requests still inside the window, oldest first, with their token cost.
    private var recent: [(instant: ContinuousClock.Instant, tokens: Int)] = []
    private var day = 0
    private var admittedToday = 0
    /// The most requests admitted within any window so far.
    package private(set) var maxAdmittedPerWindow = 0

    package init(policy: QuotaPolicy, start: ContinuousClock.Instant) {
        self.policy = policy
        self.start = start
    }

    /// Admits a request costing `tokens` at `now` and records it, or says which limit it breaks.
    package mutating func admit(tokens: Int, at now: ContinuousClock.Instant) -> QuotaRejection? {
        expire(before: now)
        let today = dayIndex(at: now)
        if today != day {
            day = today
            admittedToday = 0
        }
        if let perDay = policy.requestsPerDay, admittedToday >= perDay {
            let nextDay = start + policy.dayLength * (today + 1)
            return QuotaRejection(rule: .dailyQuota, limit: perDay, retryAfter: nextDay - now)
        }
        if let perWindow = policy.requestsPerWindow, recent.count >= perWindow {
            // One more fits once all but perWindow - 1 of the window's requests have expired.
            let freeing = recent[recent.count - perWindow]
            return QuotaRejection(
                rule: .requestQuota,
                limit: perWindow,
                retryAfter: freeing.instant + policy.window - now
            )
        }
        if let perWindow = policy.tokensPerWindow {
            var used = recent.reduce(0) { $0 + $1.tokens }
            if used + tokens > perWindow {
                var retryAfter = policy.window
                if tokens <= perWindow {
                    for entry in recent {
                        used -= entry.tokens
                        if used + tokens <= perWindow {
                            retryAfter = entry.instant + policy.window - now
                            break
                        }
                    }
                }
                return QuotaRejection(rule: .tokenQuota, limit: perWindow, retryAfter: retryAfter)
            }
        }
        recent.append((now, tokens))
        admittedToday += 1
        maxAdmittedPerWindow = max(maxAdmittedPerWindow, recent.count)
        return nil
    }

    /// The limits as they stand at `now`, after any admission made at `now`.
    package mutating func snapshot(at now: ContinuousClock.Instant) -> QuotaSnapshot {
        expire(before: now)
        let reset = recent.last.map { $0.instant + policy.window - now } ?? .zero
        var snapshot = QuotaSnapshot()
        if let perWindow = policy.requestsPerWindow {
            snapshot.requests = .init(limit: perWindow, remaining: max(0, perWindow - recent.count), reset: reset)
        }
        if let perWindow = policy.tokensPerWindow {
            let used = recent.reduce(0) { $0 + $1.tokens }
            snapshot.tokens = .init(limit: perWindow, remaining: max(0, perWindow - used), reset: reset)
        }
        return snapshot
    }

    /// Drops the requests that left the window: one made at t counts until t + window.
    private mutating func expire(before now: ContinuousClock.Instant) {
        let firstLive = recent.firstIndex { $0.instant + policy.window > now } ?? recent.count
        if firstLive > 0 { recent.removeFirst(firstLive) }
    }

    private func dayIndex(at now: ContinuousClock.Instant) -> Int {
        guard policy.dayLength > .zero, now > start else { return 0 }
        return Int((now - start) / policy.dayLength)
    }
}
