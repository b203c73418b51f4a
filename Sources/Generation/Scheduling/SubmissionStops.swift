public import Foundation
import NIOConcurrencyHelpers
public import Providers

/// Why every submission is stopped, as status pages and `systemctl status` show it; kept in the
/// state folder for a daily quota (`StateDirectory.saveStop`).
public struct SubmissionStop: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The API refused the key, the permission or the model: only a fix and a reload help.
        case refused
        /// The project's daily quota is used up; it resets at `until`.
        case dailyQuota = "daily-quota"
    }

    public var reason: Reason
    /// The answer that stopped submissions.
    public var error: ProviderError
    /// When submissions may resume on their own; nil until a reload.
    public var until: Date?
}

/// Every reason not to send a request now, in one place, consulted before each step of an
/// attempt (`check`): the process stopping (`shutDown`: never lifted; requests fail as
/// `.interrupted`); a `SubmissionStop` (`begin`: the key refused, until a reload lifts it; the
/// daily quota, until it resets on the wall clock or a reload); the state folder unable to keep
/// answers (set and lifted by `UnstoredAnswers`). The first two fail every waiting request at
/// once, in line for a slot or asleep (`sleep`); the state folder's fails each at its next step,
/// as the answers still arriving may lift it first.
final class SubmissionStops: Sendable {
    private struct State {
        var shuttingDown = false
        var stop: SubmissionStop?
        var stateFolder: ProviderError?
    }

    private let state: NIOLockedValueBox<State>
    private let time: TimeSource
    private let wallClock: @Sendable () -> Date
    /// The requests in line for a submission slot.
    private let line: Wakeups
    private let began = Wakeups()

    /// - Parameter stop: carried over from an earlier process (a daily quota kept in the state
    ///   folder); ignored when its reset time has passed.
    init(carriedOver stop: SubmissionStop?, time: TimeSource, wallClock: @escaping @Sendable () -> Date, line: Wakeups)
    {
        state = NIOLockedValueBox(State(stop: stop?.until.map { $0 > wallClock() } == true ? stop : nil))
        self.time = time
        self.wallClock = wallClock
        self.line = line
    }

    /// Whether the process is stopping (`shutDown`).
    var isShuttingDown: Bool { state.withLockedValue { $0.shuttingDown } }

    /// The `SubmissionStop` in force, if any.
    var reported: SubmissionStop? { state.withLockedValue { $0.stop } }

    /// Throws why no request may be sent now, if anything stops it; lifts a daily stop whose
    /// reset time has come.
    func check() throws(NotSent) {
        let failure: NotSent? = state.withLockedValue { state in
            if state.shuttingDown { return NotSent(reason: .shuttingDown, error: .interrupted) }
            if let stop = state.stop {
                guard let until = stop.until, wallClock() >= until else {
                    return NotSent(reason: .stopped, error: stop.error)
                }
                state.stop = nil
            }
            return state.stateFolder.map { NotSent(reason: .stateFolder, error: $0) }
        }
        if let failure { throw failure }
    }

    /// The process is stopping: nothing is sent from now on.
    func shutDown() {
        let began = state.withLockedValue { state in
            defer { state.shuttingDown = true }
            return !state.shuttingDown
        }
        if began { failWaiters(NotSent(reason: .shuttingDown, error: .interrupted)) }
    }

    /// Stops every submission for `error`, unless a stop is in force: a daily quota until it
    /// resets at the next midnight Pacific time (Gemini's), a refusal until a reload.
    /// - Returns: the stop, when it began now.
    func begin(_ reason: SubmissionStop.Reason, error: ProviderError) -> SubmissionStop? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/Los_Angeles") ?? TimeZone(secondsFromGMT: -8 * 3600)!
        let now = wallClock()
        let midnight = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: now))
        let reset = now.addingTimeInterval(midnight.map { max($0.timeIntervalSince(now), 1) } ?? 86_400)
        let stop = SubmissionStop(reason: reason, error: error, until: reason == .dailyQuota ? reset : nil)
        let began = state.withLockedValue { state in
            defer { state.stop = state.stop ?? stop }
            return state.stop == nil
        }
        guard began else { return nil }
        failWaiters(NotSent(reason: .stopped, error: error))
        return stop
    }

    /// Lifts the `SubmissionStop` in force, if any (a reload may have fixed the key or the quota).
    func lift() -> Bool {
        state.withLockedValue { state in
            defer { state.stop = nil }
            return state.stop != nil
        }
    }

    /// The state folder cannot keep answers (`refusal`: why a request is not sent), or can again.
    func stateFolder(refuses refusal: ProviderError?) {
        state.withLockedValue { $0.stateFolder = refusal }
    }

    /// Sleeps until `deadline` on the scheduler's time, or until `wakeups` wake after their
    /// `generation`, or a stop fails the waiting requests (the caller checks next).
    func sleep(until deadline: Duration, orUntil wakeups: (Wakeups, generation: UInt64)? = nil) async throws {
        // Read before the check: a stop that begins in between is not missed.
        let (time, began, since) = (self.time, self.began, self.began.generation)
        try check()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await time.sleep(deadline) }
            group.addTask { try await began.wait(after: since) }
            if let wakeups { group.addTask { try await wakeups.0.wait(after: wakeups.generation) } }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Sleeps until `deadline`, unless the process stops first: a Batch API job's wait between
    /// polls, which no other stop ends (polling is free).
    /// - Throws: `NotSent` (.shuttingDown) when the process is stopping; CancellationError.
    func sleepUnlessShuttingDown(until deadline: Duration) async throws {
        while true {
            let (time, began, since) = (self.time, self.began, self.began.generation)
            if isShuttingDown { throw NotSent(reason: .shuttingDown, error: .interrupted) }
            if time.now() >= deadline { return }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await time.sleep(deadline) }
                group.addTask { try await began.wait(after: since) }
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    private func failWaiters(_ failure: NotSent) {
        line.failAll(failure)
        began.wakeAll()
    }
}

/// A request that failed before it was sent, and why (`.outage`: the API stayed unavailable for
/// `CircuitBreaker.longestWait`).
struct NotSent: Error, Hashable {
    enum Reason: Sendable, Hashable { case shuttingDown, stopped, stateFolder, outage }

    var reason: Reason
    var error: ProviderError
}
