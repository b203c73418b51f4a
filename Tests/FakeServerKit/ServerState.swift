package import NIOCore
import NIOConcurrencyHelpers

/// A fake server's shared, thread-safe bookkeeping: statistics, attempt numbers, the quota, the
/// storm switch, open connections and the tasks waiting on a condition over the statistics.
///
/// Every mutation re-evaluates the waiting conditions under the lock, so a condition that holds
/// only for an instant (say `inFlight == 4`) is still seen; continuations resume outside it.
package final class ServerState: Sendable {
    private struct Waiter {
        var condition: @Sendable (FakeServerStatistics) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var statistics = FakeServerStatistics()
        var attemptsByPrompt: [String: Int] = [:]
        var quota: QuotaLimiter?
        var switchedOnStorm: StormPolicy?
        var isUnresponsive = false
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

    /// When the server started: the origin of a scheduled storm and of the quota's days.
    package let start: ContinuousClock.Instant
    /// The time the quota and a scheduled storm follow, if a test moves it; else the real clock.
    private let clock: FakeServerClock?
    /// The storm that runs on its own schedule, if any.
    package let scheduledStorm: StormPolicy?
    /// The quota enforced, if any.
    package let quotaPolicy: QuotaPolicy?
    private let state: NIOLockedValueBox<State>

    package init(quota: QuotaPolicy?, storm: StormPolicy?, unresponsive: Bool, clock: FakeServerClock? = nil) {
        let start = clock?.now ?? .now
        self.start = start
        self.clock = clock
        self.scheduledStorm = storm
        self.quotaPolicy = quota
        var initial = State()
        initial.quota = quota.map { QuotaLimiter(policy: $0, start: start) }
        initial.isUnresponsive = unresponsive
        state = NIOLockedValueBox(initial)
    }

    /// Applies `change` to the state and wakes the waiters it satisfies.
    @discardableResult
    private func mutate<T>(_ change: (inout State) -> T) -> T {
        let (result, satisfied) = state.withLockedValue { state in
            let result = change(&state)
            return (result, state.satisfiedWaiters())
        }
        for waiter in satisfied { waiter.continuation.resume() }
        return result
    }

    package var statistics: FakeServerStatistics {
        state.withLockedValue { $0.statistics }
    }

    /// Now, on the time the quota and a scheduled storm follow.
    package var now: ContinuousClock.Instant {
        clock?.now ?? .now
    }

    // MARK: Switches

    /// Switches a storm on (`policy`) or off (nil); a scheduled storm still runs on its schedule.
    package func switchStorm(_ policy: StormPolicy?) {
        mutate { $0.switchedOnStorm = policy }
    }

    /// The storm in force `elapsed` after the start: the switched-on one, else the scheduled one
    /// if its schedule covers that time.
    package func activeStorm(at now: ContinuousClock.Instant? = nil) -> StormPolicy? {
        let now = now ?? self.now
        let switchedOn = state.withLockedValue { $0.switchedOnStorm }
        if let switchedOn { return switchedOn }
        guard let scheduledStorm, scheduledStorm.isScheduled(at: now - start) else { return nil }
        return scheduledStorm
    }

    /// While set, new connections are accepted and never read nor answered.
    package var isUnresponsive: Bool {
        get { state.withLockedValue { $0.isUnresponsive } }
        set { mutate { $0.isUnresponsive = newValue } }
    }

    /// The quota's limits as they stand now, nil without a quota.
    package func quotaSnapshot(at now: ContinuousClock.Instant? = nil) -> QuotaSnapshot? {
        let now = now ?? self.now
        return state.withLockedValue { state in state.quota?.snapshot(at: now) }
    }

    // MARK: Requests

    /// Records a complete request as in flight and returns its index in `requests`.
    package func requestArrived(_ request: RecordedRequest) -> Int {
        mutate { state in
            state.statistics.requests.append(request)
            state.statistics.requestCount += 1
            if request.hasKeyInURL { state.statistics.keyInURLCount += 1 }
            state.statistics.inFlight += 1
            state.statistics.maxInFlight = max(state.statistics.maxInFlight, state.statistics.inFlight)
            return state.statistics.requests.count - 1
        }
    }

    /// What the server's own policies make of a valid request.
    package enum Admission: Sendable {
        /// On to the reply decision, as attempt `attempt` of its prompt.
        case admitted(attempt: Int, limits: QuotaSnapshot?)
        /// Over the quota: a 429, no attempt number.
        case overQuota(QuotaRejection, limits: QuotaSnapshot?)
        /// Caught by the storm: a 503, as attempt `attempt`.
        case overloaded(attempt: Int, limits: QuotaSnapshot?)
    }

    /// Counts a valid request under its prompt and model, passes it through the quota and the
    /// storm, and numbers the attempts that get past the quota (1-based, per prompt).
    package func requestValidated(
        at index: Int,
        model: String,
        prompt: String,
        tokens: Int,
        now: ContinuousClock.Instant? = nil
    ) -> Admission {
        let now = now ?? self.now
        let storm = activeStorm(at: now)
        return mutate { state in
            state.statistics.requestsByPrompt[prompt, default: 0] += 1
            state.statistics.requestsByModel[model, default: 0] += 1
            state.statistics.requests[index].model = model
            state.statistics.requests[index].prompt = prompt
            let rejection = state.quota?.admit(tokens: tokens, at: now)
            let limits = state.quota?.snapshot(at: now)
            state.statistics.maxAdmittedPerWindow = state.quota?.maxAdmittedPerWindow ?? 0
            if let rejection {
                state.statistics.requests[index].rejection = rejection.rule
                state.statistics.quotaRejections[rejection.rule, default: 0] += 1
                return .overQuota(rejection, limits: limits)
            }
            let attempt = state.attemptsByPrompt[prompt, default: 0] + 1
            state.attemptsByPrompt[prompt] = attempt
            state.statistics.requests[index].attempt = attempt
            if let storm, storm.rejects(prompt: prompt, attempt: attempt) {
                state.statistics.requests[index].rejection = .storm
                state.statistics.stormRejectedCount += 1
                return .overloaded(attempt: attempt, limits: limits)
            }
            return .admitted(attempt: attempt, limits: limits)
        }
    }

    /// Marks the reply to the request at `index` as started: its status line is about to go out.
    package func replyStarted(at index: Int, status: Int) {
        mutate { state in
            guard state.statistics.requests[index].disposition == .pending else { return }
            state.statistics.requests[index].disposition = .streaming(status: status)
            state.statistics.requests[index].completedAt = .now
            state.statistics.statusCounts[status, default: 0] += 1
            if status == 429 { state.statistics.rateLimitedCount += 1 }
        }
    }

    /// Records what is written so far of the reply to the request at `index`.
    package func replyProgressed(at index: Int, eventsComplete: Int, bytes: Int) {
        mutate { state in
            state.statistics.requests[index].eventsWritten = eventsComplete
            state.statistics.requests[index].bytesWritten += bytes
        }
    }

    /// Takes the request at `index` out of flight with its final disposition: `.answered`,
    /// `.interrupted`, `.reset` or `.abandoned`. Called before the last bytes are written, so no
    /// client can see a complete reply while its request still counts in flight. Only the first
    /// call counts.
    package func requestFinished(at index: Int, _ disposition: Disposition) {
        mutate { state in
            let current = state.statistics.requests[index].disposition
            switch current {
            case .pending, .streaming: break
            case .answered, .interrupted, .reset, .abandoned: return
            }
            var final = disposition
            if case .abandoned = disposition, let status = current.status { final = .interrupted(status: status) }
            state.statistics.requests[index].disposition = final
            if state.statistics.requests[index].completedAt == nil {
                state.statistics.requests[index].completedAt = .now
            }
            state.statistics.inFlight -= 1
            if case .interrupted = final { state.statistics.interruptedCount += 1 }
        }
    }

    /// A fresh number for a response id.
    /// Counts a model check (a client checking its key and model).
    package func modelChecked() {
        mutate { $0.statistics.modelCheckCount += 1 }
    }

    package func nextReplyNumber() -> UInt64 {
        state.withLockedValue { state in
            state.repliesSent += 1
            return state.repliesSent
        }
    }

    // MARK: Connections

    /// Tracks `channel` until it closes; closes it at once when the server is shutting down.
    ///
    /// - Returns: Whether the connection is to be served (false: it is being closed).
    package func connectionOpened(_ channel: any Channel, unresponsive: Bool) -> Bool {
        let accepted = mutate { state in
            guard !state.isShutDown else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            state.statistics.openConnections += 1
            if unresponsive { state.statistics.unresponsiveConnections += 1 }
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return false
        }
        channel.closeFuture.whenComplete { _ in
            self.mutate { state in
                if state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
                    state.statistics.openConnections -= 1
                }
            }
        }
        return true
    }

    /// Refuses new connections from now on and fails every waiter; returns the open channels.
    package func beginShutdown() -> [any Channel] {
        let (channels, waiters) = state.withLockedValue { state in
            state.isShutDown = true
            defer { state.waiters = [:] }
            return (Array(state.channels.values), Array(state.waiters.values))
        }
        for waiter in waiters { waiter.continuation.resume(throwing: FakeServerError.shutDown()) }
        return channels
    }

    // MARK: Waiting

    /// Suspends until `condition` holds for the statistics.
    ///
    /// - Throws: `CancellationError` when the task is cancelled, ``FakeServerError`` `.shutDown`
    ///   when the server shuts down first.
    package func wait(until condition: @escaping @Sendable (FakeServerStatistics) -> Bool) async throws {
        let id = state.withLockedValue { state in
            state.nextWaiter += 1
            state.unregisteredWaiters.insert(state.nextWaiter)
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLockedValue { state in
                    state.unregisteredWaiters.remove(id)
                    if state.cancelledWaiters.remove(id) != nil { return .failure(CancellationError()) }
                    if state.isShutDown { return .failure(FakeServerError.shutDown()) }
                    if condition(state.statistics) { return .success(()) }
                    state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> Waiter? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.unregisteredWaiters.contains(id) { state.cancelledWaiters.insert(id) }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
