/// When the next request may be submitted, given the quota. Pure: time is a `Duration` since an
/// arbitrary origin, passed in; randomness is passed in.
///
/// Two schedules, each counted from the moment of the previous submission (not from when it was
/// planned, so a late wake-up never lets two requests out together):
/// - requests: each submission moves the earliest next one `60 s / rpm` later, stretched by a
///   random 0–10 % so submissions never line up, never closer than the quota allows;
/// - input tokens: each submission moves the earliest next one `tokens / (tpm / 60 s)` later, using
///   an estimate before sending that `correct` fixes once the answer reports real usage.
/// And one pause: after a 429 nobody is submitted until the time the API asked for.
///
/// A 429 also means the quota the API enforces is lower than the one configured (a `--rpm` set
/// for a paid tier on a free key, another program on the same key): the request spacing doubles
/// (`slowdown`, at most 16 times) at the first 429 of each pause, and eases back by 2 % with every
/// chapter answered, so a quota set too high costs a few 429s, not one in every few requests.
struct Pacer: Sendable {
    var requestsPerMinute: Int
    var inputTokensPerMinute: Int
    /// Largest stretch of the request spacing, as a fraction of it.
    static let jitter = 0.1
    /// The most the spacing is stretched after 429s.
    static let maximumSlowdown = 16.0
    /// How much slower than `requestsPerMinute` submissions go now: 1 until a 429.
    private(set) var slowdown = 1.0

    private(set) var nextRequest: Duration = .zero
    private(set) var nextTokens: Duration = .zero
    private(set) var pausedUntil: Duration = .zero

    init(requestsPerMinute: Int, inputTokensPerMinute: Int) {
        self.requestsPerMinute = max(requestsPerMinute, 1)
        self.inputTokensPerMinute = max(inputTokensPerMinute, 1)
    }

    var requestSpacing: Duration { .seconds(60) * (slowdown / Double(requestsPerMinute)) }

    func tokenSpacing(_ tokens: Int) -> Duration {
        .seconds(60) * (Double(max(tokens, 0)) / Double(inputTokensPerMinute))
    }

    /// The earliest time the next request may be submitted; `now` or later.
    func earliestSubmission(now: Duration) -> Duration {
        max(now, nextRequest, nextTokens, pausedUntil)
    }

    /// Records a submission at `now` (which must not be before `earliestSubmission(now:)`) of a
    /// request of `tokens` input tokens.
    /// - Parameter unit: a random number in 0..<1 for the jitter.
    mutating func submit(at now: Duration, tokens: Int, unit: Double) {
        nextRequest = now + requestSpacing * (1 + Self.jitter * min(max(unit, 0), 1))
        nextTokens = max(nextTokens, now) + tokenSpacing(tokens)
    }

    /// Moves the token schedule by the difference between a request's estimate and its real usage.
    mutating func correct(estimatedTokens: Int, actualTokens: Int, now: Duration) {
        let difference = actualTokens - estimatedTokens
        if difference > 0 {
            nextTokens = max(nextTokens, now) + tokenSpacing(difference)
        } else if difference < 0 {
            nextTokens = max(nextTokens - tokenSpacing(-difference), now)
        }
    }

    /// A 429 for a request-rate quota at `now`: slows the spacing, once per pause (the answers
    /// to requests already in flight when the first came are the same news).
    mutating func rateLimited(now: Duration) {
        guard now >= pausedUntil else { return }
        slowdown = min(slowdown * 2, Self.maximumSlowdown)
    }

    /// A chapter answered: the spacing eases back towards the configured quota.
    mutating func answered() {
        slowdown = max(1, slowdown * 0.98)
    }

    /// Stops every submission until `until`; submissions then resume one spacing apart.
    mutating func pause(until: Duration) {
        pausedUntil = max(pausedUntil, until)
        nextRequest = max(nextRequest, pausedUntil)
    }
}
