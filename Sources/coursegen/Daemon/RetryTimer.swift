import Foundation

/// The one timer of the daemon's retry schedule: it sleeps until the earliest retry time, and none
/// runs when nothing is scheduled (an idle daemon with nothing failed has no timer at all). Setting
/// another time replaces the sleep; every sleep it started is kept until it has ended, so `stop()`
/// returns only once none is left. Time comes from `clock` and the wall clock `now`, injected.
actor RetryTimer {
    private let clock: any Clock<Duration>
    private let now: @Sendable () -> Date
    private var current: (id: UInt64, task: Task<Void, Never>)?
    /// Replaced sleeps, cancelled and perhaps still ending.
    private var ending: [UInt64: Task<Void, Never>] = [:]
    private var nextID: UInt64 = 0
    private var stopped = false

    init(clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
        self.now = now
    }

    /// Calls `fire` once at `time` (at once when it has passed), instead of whatever was set
    /// before; nil sets nothing.
    func set(_ time: Date?, fire: @escaping @Sendable () async -> Void) {
        if let (id, task) = current {
            task.cancel()
            ending[id] = task
            current = nil
        }
        guard !stopped, let time else { return }
        nextID += 1
        let id = nextID
        let wait = Duration.seconds(max(time.timeIntervalSince(now()), 0))
        let clock = self.clock
        current = (
            id,
            Task {
                let slept: Void? = try? await clock.sleep(for: wait)
                if slept != nil, !Task.isCancelled { await fire() }
                self.ended(id)
            }
        )
    }

    private func ended(_ id: UInt64) {
        ending.removeValue(forKey: id)
        if current?.id == id { current = nil }
    }

    /// Sets nothing more, cancels the sleep and returns once every sleep started has ended.
    func stop() async {
        stopped = true
        set(nil) { _ = () }
        for task in ending.values { await task.value }
    }
}
