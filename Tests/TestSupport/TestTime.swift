import Foundation

/// How much slower than usual the tests run: `COURSEGEN_TEST_TIME_SCALE` (1 when unset), set by
/// `scripts/sanitize.sh` because sanitized code runs several times slower. Tests that must follow
/// real time (a safety net, a window a fake server counts in) widen it by this factor; what they
/// check stays the same.
public enum TestTime {
    public static let scale: Double = {
        guard let text = ProcessInfo.processInfo.environment["COURSEGEN_TEST_TIME_SCALE"], let value = Double(text),
            value >= 1
        else { return 1 }
        return value
    }()

    /// `scale` rounded up, for what counts in whole units (a test's `.timeLimit` in minutes).
    public static var factor: Int { Int(scale.rounded(.up)) }

    /// How long a wait for an event (a log line, a file, an exit, a server's counter) goes on
    /// before the test fails instead of hanging the run: ten minutes, widened by `scale`. Not a
    /// measurement and never what a test checks: the whole suite takes a few minutes on two cores,
    /// so a starved machine makes a test slower, not failed, and only a condition that never holds
    /// reaches it.
    public static var hangGuard: Duration { scaled(.seconds(600)) }

    /// `duration` widened by `scale`.
    public static func scaled(_ duration: Duration) -> Duration {
        duration * scale
    }
}
