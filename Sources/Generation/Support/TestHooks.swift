#if DEBUG
    import Foundation
    import Synchronization

    /// Places where the end-to-end tests of the debug build can hold coursegen still, to reach a
    /// moment that timing alone would make flaky. Compiled only in debug builds, and inert unless
    /// its environment variable is set: the release binary has none of this.
    enum TestHooks {
        /// `COURSEGEN_TEST_HOLD_FIRST_PUBLISH=PATH`: the first publish of the process, on the
        /// blocking pool, creates `PATH.held` and waits until `PATH` exists.
        private static let holdFirstPublish = ProcessInfo.processInfo.environment["COURSEGEN_TEST_HOLD_FIRST_PUBLISH"]
        private static let held = Atomic(false)

        /// `COURSEGEN_TEST_OUTAGE_SCALE=0.005` shrinks the circuit breaker's waits (its probe
        /// intervals, and the longest a chapter waits for the API: 10 min becomes 3 s), so the
        /// end-to-end tests see an outage that never ends fail its chapters in seconds.
        static let outageScale: Double =
            ProcessInfo.processInfo.environment["COURSEGEN_TEST_OUTAGE_SCALE"].flatMap(Double.init) ?? 1

        /// `COURSEGEN_TEST_BATCH_POLL_SCALE=0.001` shrinks the Batch API's poll schedule (10 s
        /// becomes 10 ms), so the end-to-end tests see a job finish without waiting for it.
        static let batchPollScale: Double =
            ProcessInfo.processInfo.environment["COURSEGEN_TEST_BATCH_POLL_SCALE"].flatMap(Double.init) ?? 1

        static func beforePublish() {
            guard let gate = holdFirstPublish, !held.exchange(true, ordering: .relaxed) else { return }
            FileManager.default.createFile(atPath: "\(gate).held", contents: nil)
            while !FileManager.default.fileExists(atPath: gate) { usleep(5_000) }
        }
    }
#else
    enum TestHooks {
        @inline(__always) static func beforePublish() {}
        static let outageScale: Double = 1
        static let batchPollScale: Double = 1
    }
#endif
