import NIOConcurrencyHelpers

/// Tasks waiting for something: woken all at once (`wakeAll`), one at a time in the order they
/// came (`wakeFirst`), or failed all at once (`failAll`); one cancelled leaves at once. A waiter
/// may pass the `generation` it read when it decided to wait, so that a `wakeAll` in between is
/// not missed; one that waits from an actor is in line before that actor runs anything else.
final class Wakeups: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextID: UInt64 = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Counts the calls of `wakeAll` and `failAll`.
    var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// Waiters not woken yet.
    var parked: Int { state.withLockedValue { $0.waiters.count } }

    /// Returns once woken, or at once if `wakeAll` or `failAll` came since `generation` was read.
    /// - Throws: CancellationError if the task is cancelled first; the error of `failAll`.
    func wait(after generation: UInt64? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLockedValue { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let generation, state.generation != generation { return .success(()) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Wakes every waiter.
    func wakeAll() { end(.success(())) }

    /// Fails every waiter with `error`.
    func failAll(_ error: any Error) { end(.failure(error)) }

    /// Wakes the waiter that came first.
    /// - Returns: whether there was one.
    func wakeFirst() -> Bool {
        let first = state.withLockedValue { $0.waiters.isEmpty ? nil : $0.waiters.removeFirst() }
        first?.continuation.resume()
        return first != nil
    }

    private func end(_ outcome: Result<Void, any Error>) {
        let waiters = state.withLockedValue { state in
            state.generation += 1
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(with: outcome) }
    }
}
