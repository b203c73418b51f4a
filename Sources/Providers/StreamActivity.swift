import Synchronization
import Platform

/// When a stream last showed a sign of life, and the watch that cancels it after too long a
/// silence.
final class StreamActivity: Sendable {
    private let origin = ContinuousClock.now
    private let started: ContinuousClock.Instant
    /// Nanoseconds from `origin` to the last sign of life.
    private let last = Atomic<Int64>(0)

    init() {
        started = origin
    }

    /// Records a sign of life: bytes arrived.
    func touch() {
        last.store((ContinuousClock.now - origin).nanoseconds, ordering: .relaxed)
    }

    /// Returns never: throws when nothing arrived for `stallTimeout`, or when the whole request
    /// took `timeout`; ends with `CancellationError` once the stream is done.
    func watch(stallTimeout: Duration, timeout: Duration) async throws -> ChapterResponse {
        while true {
            let lastSign = origin + .nanoseconds(last.load(ordering: .relaxed))
            let now = ContinuousClock.now
            if now - started >= timeout {
                throw ProviderError(
                    .retry,
                    "no complete answer within the request timeout (\(timeout))",
                    overloaded: true
                )
            }
            if now - lastSign >= stallTimeout {
                throw ProviderError(
                    .retry,
                    "the stream sent nothing for \(stallTimeout) (stalled); cancelled to try again",
                    overloaded: true
                )
            }
            try await Task.sleep(until: min(lastSign + stallTimeout, started + timeout), clock: .continuous)
        }
    }
}
