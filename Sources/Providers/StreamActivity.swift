import Synchronization
import Platform

/// When a stream last showed a sign of life, and the watch that cancels it after too long a
/// silence.
final class StreamActivity: Sendable {
    private let origin = ContinuousClock.now
    private let started: ContinuousClock.Instant
    /// Nanoseconds from `origin` to the last sign of life; -1 before the first when the silence
    /// counts only from the first byte.
    private let last: Atomic<Int64>

    /// - Parameter waitsForFirstByte: silence before the first byte is no stall (a flex request
    ///   queued at the API); only the request timeout bounds it.
    init(waitsForFirstByte: Bool = false) {
        started = origin
        last = Atomic(waitsForFirstByte ? -1 : 0)
    }

    /// Records a sign of life: bytes arrived.
    func touch() {
        last.store((ContinuousClock.now - origin).nanoseconds, ordering: .relaxed)
    }

    /// Returns never: throws when nothing arrived for `stallTimeout`, or when the whole request
    /// took `timeout`; ends with `CancellationError` once the stream is done.
    func watch(stallTimeout: Duration, timeout: Duration) async throws -> ChapterResponse {
        while true {
            let lastNanoseconds = last.load(ordering: .relaxed)
            let now = ContinuousClock.now
            if now - started >= timeout {
                throw ProviderError(
                    .retry,
                    "no complete answer within the request timeout (\(timeout))",
                    overloaded: true
                )
            }
            guard lastNanoseconds >= 0 else {
                // Queued: nothing arrived yet, and no stall is counted before something does.
                try await Task.sleep(until: min(now + stallTimeout, started + timeout), clock: .continuous)
                continue
            }
            let lastSign = origin + .nanoseconds(lastNanoseconds)
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
