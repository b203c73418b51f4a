import Foundation
import Platform

/// What an answer's headers say about the API's rate limits, read once and decided on here.
/// Pure: the headers and the time of day come in, durations come out.
///
/// OpenAI sends, on every answer, `x-ratelimit-remaining-requests` / `-tokens` (what is left in
/// the current window) and `x-ratelimit-reset-requests` / `-tokens` (how long until the window
/// is full again, in Go's duration format: "1s", "6m0s", "20ms"); several OpenAI-compatible
/// servers and proxies copy them. A 429 adds `retry-after-ms` (OpenAI, Azure) and `Retry-After`
/// (whole seconds or an HTTP date).
struct RateLimitHeaders: Sendable, Hashable {
    /// One limit's state: nil where the header is missing or unreadable.
    struct Limit: Sendable, Hashable {
        var remaining: Int?
        var reset: Duration?
    }

    var requests = Limit()
    var tokens = Limit()
    /// `retry-after-ms`, else `Retry-After`: how long the server asked to wait.
    var retryAfter: Duration?

    /// Longest wait any header may impose: a server that asks for more than a day is answered
    /// with a day, after which the request is simply tried again.
    static let longestWait = Duration.seconds(86_400)

    /// Reads the headers of one answer (names in any case; the first of repeated headers wins).
    /// - Parameter now: the time of day, for a `Retry-After` that is an HTTP date.
    init(_ headers: [(name: String, value: String)], now: Date) {
        var values: [String: String] = [:]
        for (name, value) in headers where values[name.lowercased()] == nil {
            values[name.lowercased()] = value.trimmingCharacters(in: .whitespaces)
        }
        requests = Limit(
            remaining: values["x-ratelimit-remaining-requests"].flatMap { Int($0) },
            reset: values["x-ratelimit-reset-requests"].flatMap(Self.parseGoDuration)
        )
        tokens = Limit(
            remaining: values["x-ratelimit-remaining-tokens"].flatMap { Int($0) },
            reset: values["x-ratelimit-reset-tokens"].flatMap(Self.parseGoDuration)
        )
        retryAfter =
            values["retry-after-ms"].flatMap(Self.parseMilliseconds)
            ?? values["retry-after"].flatMap { Self.parseRetryAfter($0, now: now) }
    }

    init(requests: Limit = Limit(), tokens: Limit = Limit(), retryAfter: Duration? = nil) {
        self.requests = requests
        self.tokens = tokens
        self.retryAfter = retryAfter
    }

    /// How long no request should be submitted, from when these headers arrived: until the
    /// latest reset among the limits with nothing remaining (a request sent earlier would only
    /// meet a 429). Nil when every limit has something left, or says nothing, or says it is empty
    /// without saying when it refills (the 429 that follows then tells).
    var quotaPause: Duration? {
        let exhausted = [requests, tokens].filter { ($0.remaining ?? 1) <= 0 }.compactMap(\.reset)
        return exhausted.max()
    }

    /// Parses a Go duration as OpenAI's reset headers write it: "20ms", "1s", "8.64s", "6m0s",
    /// "1h2m3.5s"; units h, m, s, ms, us (or µs), ns; "0" alone is zero.
    /// - Returns: nil for anything else (a sign, a missing unit, an empty text), and at most
    ///   `longestWait`.
    static func parseGoDuration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("h", 3.6e12), ("m", 6e10), ("s", 1e9),
        ]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // "ms" before "m", "ns"/"us" before "s": the longest unit that matches.
            guard let unit = units.filter({ rest.hasPrefix($0.suffix) }).max(by: { $0.suffix.count < $1.suffix.count })
            else { return nil }
            rest = rest.dropFirst(unit.suffix.count)
            total += value * unit.nanoseconds
        }
        return clamped(nanoseconds: total)
    }

    /// `Retry-After`: a number of seconds (whole, as HTTP says, or with a fraction, as some
    /// servers send) or an HTTP date (RFC 9110's IMF-fixdate), counted from `now`.
    /// - Returns: nil for anything else; zero for a date in the past.
    static func parseRetryAfter(_ text: String, now: Date) -> Duration? {
        if let seconds = Double(text) {
            return seconds.isFinite && seconds >= 0 ? clamped(nanoseconds: seconds * 1e9) : nil
        }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = format.date(from: text) else { return nil }
        return clamped(nanoseconds: max(date.timeIntervalSince(now), 0) * 1e9)
    }

    /// `retry-after-ms`: milliseconds, possibly with a fraction.
    static func parseMilliseconds(_ text: String) -> Duration? {
        guard let milliseconds = Double(text), milliseconds.isFinite, milliseconds >= 0 else { return nil }
        return clamped(nanoseconds: milliseconds * 1e6)
    }

    /// Whole milliseconds, rounded up (waiting that long is always enough), at most `longestWait`.
    private static func clamped(nanoseconds: Double) -> Duration {
        let longest = Double(longestWait.components.seconds) * 1000
        let milliseconds = min((nanoseconds / 1e6).rounded(.up), longest)
        return .milliseconds(Int64(milliseconds))
    }
}
