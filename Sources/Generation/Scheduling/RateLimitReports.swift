import NIOConcurrencyHelpers
import Providers

/// The latest time until which an API said its rate limit has nothing left
/// (`ChapterProgress.rateLimitReached`), handed from the providers, which report it while an
/// answer arrives, to the scheduler, which applies it to its pacer before the next submission.
/// A report never shortens an earlier one.
final class RateLimitReports: Sendable {
    private let until = NIOLockedValueBox<Duration?>(nil)

    /// Records that no request should be submitted before `deadline` (on the scheduler's time).
    func report(until deadline: Duration) {
        until.withLockedValue { $0 = max($0 ?? deadline, deadline) }
    }

    /// The latest deadline reported since the last call, if any.
    func take() -> Duration? {
        until.withLockedValue { value in
            defer { value = nil }
            return value
        }
    }
}
