import NIOConcurrencyHelpers

/// A clock that moves only when a test says so. Sleepers wake, in deadline order, as the test
/// advances it. A test sees what sleeps: `sleeperCount` and `nextDeadline` now, `sleeps`, the
/// length of every sleep as it begins, and `waitForSleeper()` (the events tests wait on instead of
/// real time).
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let id: UInt64
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        var sleepsBegun = 0
        /// Tasks in `waitForSleeper()`, by id.
        var sleeperWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// The length of every sleep that had to wait, yielded when it begins.
    public let sleeps: AsyncStream<Duration>
    private let sleepsContinuation: AsyncStream<Duration>.Continuation

    public init() {
        (sleeps, sleepsContinuation) = AsyncStream.makeStream()
    }

    public var now: Instant { state.withLockedValue { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Tasks sleeping on this clock now.
    public var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }

    /// Sleeps that had to wait, since the clock was made.
    public var sleepsBegun: Int { state.withLockedValue { $0.sleepsBegun } }

    /// The earliest deadline anyone sleeps until.
    public var nextDeadline: Instant? { state.withLockedValue { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (outcome, waiters) = state.withLockedValue {
                    state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    if deadline <= state.now { return (.success(()), []) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    state.sleepsBegun += 1
                    sleepsContinuation.yield(state.now.duration(to: deadline))
                    defer { state.sleeperWaiters.removeAll() }
                    return (nil, Array(state.sleeperWaiters.values))
                }
                if let outcome { continuation.resume(with: outcome) }
                for waiter in waiters { waiter.resume() }
            }
        } onCancel: {
            let sleeper = state.withLockedValue { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Waits until a task sleeps on this clock (returns at once if one does already): the moment a
    /// task that times its work on this clock has done everything it can until time moves. Returns
    /// early if the waiting task is cancelled.
    public func waitForSleeper() async {
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state in
                    if !state.sleepers.isEmpty || Task.isCancelled { return true }
                    state.sleeperWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.sleeperWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Moves time to `instant` (never backwards), waking every sleeper due by then.
    public func advance(to instant: Instant) {
        let due = state.withLockedValue { state -> [Sleeper] in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.deadline <= state.now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time forward by `duration`, waking every sleeper then due.
    public func advance(by duration: Duration) { advance(to: now.advanced(by: duration)) }
}

/// Lets the other tasks of the test run until `condition` holds.
///
/// Used to reach a quiescent point (every task asleep on a manual clock, or done) before
/// advancing time; the bound only turns a bug (a condition that can never hold) into a failure
/// instead of a hang.
public func settle(_ condition: () async -> Bool) async -> Bool {
    for _ in 0..<100_000 {
        if await condition() { return true }
        await Task.yield()
    }
    return await condition()
}
