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
struct Pacer: Sendable {
    var requestsPerMinute: Int
    var inputTokensPerMinute: Int
    /// Largest stretch of the request spacing, as a fraction of it.
    static let jitter = 0.1

    private(set) var nextRequest: Duration = .zero
    private(set) var nextTokens: Duration = .zero
    private(set) var pausedUntil: Duration = .zero

    init(requestsPerMinute: Int, inputTokensPerMinute: Int) {
        self.requestsPerMinute = max(requestsPerMinute, 1)
        self.inputTokensPerMinute = max(inputTokensPerMinute, 1)
    }

    var requestSpacing: Duration { .seconds(60) / requestsPerMinute }

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

    /// Stops every submission until `until`; submissions then resume one spacing apart.
    mutating func pause(until: Duration) {
        pausedUntil = max(pausedUntil, until)
        nextRequest = max(nextRequest, pausedUntil)
    }
}
