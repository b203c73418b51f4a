import Synchronization

extension Engine {
    /// Progress of one run, for `systemctl status` and the terminal.
    public struct Progress: Sendable, Hashable {
        public var outline: String
        public var total: Int
        /// Chapters whose text is available (stored or generated in this run).
        public var ready: Int
        public var failed: Int = 0
        /// Chapters waiting to retry after a failed attempt.
        public var retrying: Int = 0
    }
}

/// Counts for `Engine.Progress`, updated from many tasks.
final class ProgressTracker: Sendable {
    private let state: Mutex<Engine.Progress>
    private let onProgress: @Sendable (Engine.Progress) -> Void

    init(_ initial: Engine.Progress, onProgress: @escaping @Sendable (Engine.Progress) -> Void) {
        state = Mutex(initial)
        self.onProgress = onProgress
        onProgress(initial)
    }

    func record(_ event: Scheduler.Event) {
        let snapshot = state.withLock { progress in
            switch event {
            case .retrying: progress.retrying += 1
            case .submitted(let attempt) where attempt > 1: progress.retrying = max(progress.retrying - 1, 0)
            case .submitted: break
            }
            return progress
        }
        onProgress(snapshot)
    }

    func finished(failed: Bool) {
        let snapshot = state.withLock { progress in
            if failed { progress.failed += 1 } else { progress.ready += 1 }
            return progress
        }
        onProgress(snapshot)
    }
}
