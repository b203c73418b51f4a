import NIOCore
import Synchronization

/// The server's shared, thread-safe bookkeeping: statistics, attempt numbers, open connections
/// and the tasks waiting on a condition over the statistics.
///
/// Every mutation re-evaluates the waiting conditions under the lock, so a condition that holds
/// only for an instant (say `inFlight == 4`) is still seen; continuations resume outside it.
final class ServerState: Sendable {
    private struct Waiter {
        var condition: @Sendable (FakeGeminiServer.Statistics) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var statistics = FakeGeminiServer.Statistics()
        var attemptsByPrompt: [String: Int] = [:]
        var channels: [ObjectIdentifier: any Channel] = [:]
        var isShutDown = false
        var waiters: [UInt64: Waiter] = [:]
        /// Waiters whose id exists but whose continuation is not stored yet.
        var unregisteredWaiters: Set<UInt64> = []
        /// Unregistered waiters whose task was cancelled: registration fails at once.
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
        var repliesSent: UInt64 = 0

        /// Removes and returns the waiters whose condition now holds.
        mutating func satisfiedWaiters() -> [Waiter] {
            guard !waiters.isEmpty else { return [] }
            var satisfied: [Waiter] = []
            for (id, waiter) in waiters where waiter.condition(statistics) {
                satisfied.append(waiter)
                waiters[id] = nil
            }
            return satisfied
        }
    }

    private let state = Mutex(State())

    /// Applies `change` to the statistics and wakes the waiters it satisfies.
    @discardableResult
    private func mutate<T>(_ change: (inout State) -> T) -> T {
        let (result, satisfied) = state.withLock { state in
            let result = change(&state)
            return (result, state.satisfiedWaiters())
        }
        for waiter in satisfied { waiter.continuation.resume() }
        return result
    }

    var statistics: FakeGeminiServer.Statistics {
        state.withLock { $0.statistics }
    }

    // MARK: Requests

    /// Records a complete request as in flight and returns its index in `requests`.
    func requestArrived(_ request: FakeGeminiServer.RecordedRequest) -> Int {
        mutate { state in
            state.statistics.requests.append(request)
            state.statistics.requestCount += 1
            if request.hasKeyInURL { state.statistics.keyInURLCount += 1 }
            state.statistics.inFlight += 1
            state.statistics.maxInFlight = max(state.statistics.maxInFlight, state.statistics.inFlight)
            return state.statistics.requests.count - 1
        }
    }

    /// Counts a valid request under its prompt and model and returns its attempt number
    /// (1-based, per prompt).
    func requestDecided(at index: Int, model: String, prompt: String) -> Int {
        mutate { state in
            let attempt = state.attemptsByPrompt[prompt, default: 0] + 1
            state.attemptsByPrompt[prompt] = attempt
            state.statistics.requestsByPrompt[prompt, default: 0] += 1
            state.statistics.requestsByModel[model, default: 0] += 1
            state.statistics.requests[index].model = model
            state.statistics.requests[index].prompt = prompt
            state.statistics.requests[index].attempt = attempt
            return attempt
        }
    }

    /// Takes the request at `index` out of flight with its final disposition. Called before the
    /// reply is written, so no client can see a reply while its request still counts in flight.
    func requestCompleted(at index: Int, _ disposition: FakeGeminiServer.Disposition) {
        mutate { state in
            guard state.statistics.requests[index].disposition == .pending else { return }
            state.statistics.requests[index].disposition = disposition
            state.statistics.requests[index].completedAt = .now
            state.statistics.inFlight -= 1
            if disposition == .answered(status: 429) { state.statistics.rateLimitedCount += 1 }
        }
    }

    /// Counts a model check (`GET .../models/{model}`).
    func modelChecked() {
        mutate { $0.statistics.modelCheckCount += 1 }
    }

    /// A fresh number for a `responseId`.
    func nextReplyNumber() -> UInt64 {
        state.withLock { state in
            state.repliesSent += 1
            return state.repliesSent
        }
    }

    // MARK: Connections

    /// Tracks `channel` until it closes; closes it at once when the server is shutting down.
    func connectionOpened(_ channel: any Channel) {
        let accepted = mutate { state in
            guard !state.isShutDown else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            state.statistics.openConnections += 1
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in
            self.mutate { state in
                if state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
                    state.statistics.openConnections -= 1
                }
            }
        }
    }

    /// Refuses new connections from now on and fails every waiter; returns the open channels.
    func beginShutdown() -> [any Channel] {
        let (channels, waiters) = state.withLock { state in
            state.isShutDown = true
            defer { state.waiters = [:] }
            return (Array(state.channels.values), Array(state.waiters.values))
        }
        for waiter in waiters { waiter.continuation.resume(throwing: FakeGeminiError.shutDown()) }
        return channels
    }

    // MARK: Waiting

    /// Suspends until `condition` holds for the statistics.
    ///
    /// - Throws: `CancellationError` when the task is cancelled, ``FakeGeminiError`` `.shutDown`
    ///   when the server shuts down first.
    func wait(until condition: @escaping @Sendable (FakeGeminiServer.Statistics) -> Bool) async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            state.unregisteredWaiters.insert(state.nextWaiter)
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    state.unregisteredWaiters.remove(id)
                    if state.cancelledWaiters.remove(id) != nil { return .failure(CancellationError()) }
                    if state.isShutDown { return .failure(FakeGeminiError.shutDown()) }
                    if condition(state.statistics) { return .success(()) }
                    state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.unregisteredWaiters.contains(id) { state.cancelledWaiters.insert(id) }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
