import Foundation
import Generation
import Platform

/// When the daemon tries again the chapters of an outline that failed for a reason that may pass
/// with time (server errors, timeouts, stalls, overload): the first try at most a minute after
/// the failure, then within 2, 4, 8, ... minutes, never more than an hour apart. Each wait is
/// drawn from the upper half of its ceiling, so many outlines that failed together spread out
/// without any coming back early. Pure: randomness comes in as `unit`.
enum RetrySchedule {
    /// The ceiling of the first wait.
    static let first = Duration.seconds(60)
    /// No wait is longer.
    static let maximum = Duration.seconds(3600)

    /// The wait after `failedTries` tries in a row failed (1 after the first failure).
    /// - Parameter unit: a random number in 0..<1.
    static func delay(afterFailedTries failedTries: Int, unit: Double) -> Duration {
        // Cap the exponent before shifting: 2^6 minutes is past the maximum already.
        let exponent = min(max(failedTries - 1, 0), 12)
        let ceiling = min(first * (1 << exponent), maximum)
        return ceiling * (0.5 + 0.5 * min(max(unit, 0), 1)) * timeScale
    }

    /// The next try after `failedTries` tries in a row failed: after the wait, and never before
    /// a daily quota's reset.
    static func next(afterFailedTries failedTries: Int, now: Date, stop: SubmissionStop?, unit: Double) -> RetryTime {
        var at = now.addingTimeInterval(delay(afterFailedTries: failedTries, unit: unit).inSeconds)
        if let until = stop?.until, stop?.reason == .dailyQuota { at = max(at, until) }
        return RetryTime(at: at, failedTries: failedTries)
    }

    #if DEBUG
        /// `COURSEGEN_TEST_RETRY_SCALE=0.05` shrinks every wait, so the end-to-end tests of the
        /// debug build see a retry in seconds. The release build has no such knob.
        static let timeScale: Double =
            ProcessInfo.processInfo.environment["COURSEGEN_TEST_RETRY_SCALE"].flatMap(Double.init) ?? 1
    #else
        static let timeScale: Double = 1
    #endif
}
