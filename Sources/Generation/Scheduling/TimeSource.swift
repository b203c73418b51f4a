/// A clock seen as `Duration`s since the moment the source was made: lets the scheduler hold any
/// `Clock<Duration>` (a test's manual clock, or the continuous clock) without being generic over it.
struct TimeSource: Sendable {
    let now: @Sendable () -> Duration
    /// Sleeps until `deadline` (measured like `now`). Throws CancellationError if cancelled.
    let sleep: @Sendable (_ deadline: Duration) async throws -> Void

    init<C: Clock<Duration>>(_ clock: C) {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
    }
}
