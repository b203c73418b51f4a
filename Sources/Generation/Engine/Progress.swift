public import Foundation
import NIOConcurrencyHelpers
import Platform
import Providers

extension Engine {
    /// Progress of one run, for `systemctl status` and the terminal.
    public struct Progress: Sendable, Hashable {
        public var outline: String
        public var total: Int
        /// Chapters whose text is available (stored or generated in this run).
        public var ready: Int
        public var failed: Int = 0
        /// Chapters not requested: the run's budget would not cover them.
        public var skippedForBudget: Int = 0
        /// Chapters waiting to retry after a failed attempt.
        public var retrying: Int = 0
        /// Chapters whose text is arriving now.
        public var writing: Int = 0
        /// Chapters sent to the model that have no text yet (it is thinking, or the request is
        /// queued at the API).
        public var requested: Int = 0
        /// Words received so far for the chapters being written.
        public var words: Int = 0
        /// Chapters in a Batch API job, and when the earliest of their jobs was submitted.
        public var inBatch: Int = 0
        public var batchSubmitted: Date?
    }
}

/// Counts for `Engine.Progress`, updated from many tasks.
final class ProgressTracker: Sendable {
    private struct State {
        var progress: Engine.Progress
        /// Words so far of each chapter being written.
        var words: [ChapterKey: Int] = [:]
        /// Chapters with a request in flight.
        var sent: Set<ChapterKey> = []
        /// Chapters waiting to be tried again (a failed probe of an unavailable API leaves a
        /// chapter at the same attempt, so attempt numbers cannot tell).
        var retrying: Set<ChapterKey> = []
        /// Chapters in a Batch API job, with when it was submitted.
        var batched: [ChapterKey: Date] = [:]

        var summed: Engine.Progress {
            var progress = self.progress
            progress.retrying = retrying.count
            progress.writing = words.count
            progress.requested = sent.subtracting(words.keys).count
            progress.words = words.values.reduce(0, +)
            progress.inBatch = batched.count
            progress.batchSubmitted = batched.values.min()
            return progress
        }
    }

    private let state: NIOLockedValueBox<State>
    private let onProgress: @Sendable (Engine.Progress) -> Void

    init(_ initial: Engine.Progress, onProgress: @escaping @Sendable (Engine.Progress) -> Void) {
        state = NIOLockedValueBox(State(progress: initial))
        self.onProgress = onProgress
        onProgress(initial)
    }

    func record(_ event: Scheduler.Event, for key: ChapterKey) {
        let snapshot = state.withLockedValue { state in
            switch event {
            case .retrying:
                state.retrying.insert(key)
                state.words[key] = nil
                state.sent.remove(key)
            case .submitted:
                state.retrying.remove(key)
                state.sent.insert(key)
            case .thinking:
                break
            case .batched(let submitted):
                state.batched[key] = submitted
            case .writing(let words):
                state.words[key] = words
            }
            return state.summed
        }
        onProgress(snapshot)
    }

    /// How a chapter's request ended.
    enum End {
        case ready, failed, skippedForBudget
        /// Not sent, or not awaited: coursegen is stopping.
        case interrupted
    }

    func finished(_ key: ChapterKey, _ end: End) {
        let snapshot = state.withLockedValue { state in
            state.words[key] = nil
            state.sent.remove(key)
            state.retrying.remove(key)
            state.batched[key] = nil
            switch end {
            case .ready: state.progress.ready += 1
            case .failed: state.progress.failed += 1
            case .skippedForBudget: state.progress.skippedForBudget += 1
            case .interrupted: break
            }
            return state.summed
        }
        onProgress(snapshot)
    }
}
