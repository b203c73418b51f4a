/// How the real APIs write durations, as pure functions.
package enum DurationFormat {
    /// Seconds as a Double.
    package static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// Protobuf's JSON form of a `google.protobuf.Duration`, as Google's `RetryInfo.retryDelay`
    /// carries it: seconds with 0, 3, 6 or 9 fractional digits, whichever is exact at nanosecond
    /// precision ("15s", "0.500s", "11.769242877s"). Negative durations print as "0s".
    package static func protobuf(_ duration: Duration) -> String {
        let nanoseconds = max(0, nanosecondsRounded(duration))
        let whole = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        guard fraction != 0 else { return "\(whole)s" }
        let digits: Int
        let value: Int64
        if fraction % 1_000_000 == 0 {
            (digits, value) = (3, fraction / 1_000_000)
        } else if fraction % 1_000 == 0 {
            (digits, value) = (6, fraction / 1_000)
        } else {
            (digits, value) = (9, fraction)
        }
        return "\(whole).\(padded(value, to: digits))s"
    }

    /// Seconds with exactly three decimals, as Google's 429 message ends: "Please retry in
    /// 11.769s." (rounded up, so waiting that long is always enough).
    package static func milliseconds3(_ duration: Duration) -> String {
        let nanoseconds = max(0, nanosecondsRounded(duration))
        let milliseconds = (nanoseconds + 999_999) / 1_000_000
        return "\(milliseconds / 1000).\(padded(milliseconds % 1000, to: 3))s"
    }

    /// Go's `time.Duration.String()` at millisecond precision, which OpenAI's
    /// `x-ratelimit-reset-*` headers use: "20ms", "1s", "8.64s", "6m0s", "1h2m3.5s"; zero is "0s".
    /// Rounded up to the next millisecond, so waiting that long is always enough.
    package static func go(_ duration: Duration) -> String {
        let nanoseconds = max(0, nanosecondsRounded(duration))
        let milliseconds = (nanoseconds + 999_999) / 1_000_000
        guard milliseconds > 0 else { return "0s" }
        guard milliseconds >= 1000 else { return "\(milliseconds)ms" }
        let hours = milliseconds / 3_600_000
        let minutes = milliseconds / 60_000 % 60
        let secondsPart = milliseconds % 60_000
        var seconds = "\(secondsPart / 1000)"
        if secondsPart % 1000 != 0 {
            var fraction = padded(secondsPart % 1000, to: 3)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            seconds += "." + fraction
        }
        if hours > 0 { return "\(hours)h\(minutes)m\(seconds)s" }
        if minutes > 0 { return "\(minutes)m\(seconds)s" }
        return seconds + "s"
    }

    /// Whole seconds, rounded up, never below `minimum`: an HTTP `Retry-After` value.
    package static func retryAfterSeconds(_ duration: Duration, minimum: Int64 = 0) -> Int64 {
        let nanoseconds = max(0, nanosecondsRounded(duration))
        return max(minimum, (nanoseconds + 999_999_999) / 1_000_000_000)
    }

    /// Milliseconds, rounded up: OpenAI's and Azure's `retry-after-ms` value.
    package static func retryAfterMilliseconds(_ duration: Duration) -> Int64 {
        let nanoseconds = max(0, nanosecondsRounded(duration))
        return (nanoseconds + 999_999) / 1_000_000
    }

    /// The duration in nanoseconds, capped at about 292 years so the conversion cannot trap.
    package static func nanosecondsRounded(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let capped = min(max(seconds, -9_000_000_000), 9_000_000_000)
        return capped * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private static func padded(_ value: Int64, to digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
