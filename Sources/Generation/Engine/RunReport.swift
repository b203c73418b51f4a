public import Providers

/// What one run did.
public struct RunReport: Sendable {
    public struct Chapter: Sendable, Hashable {
        public enum Outcome: Sendable, Hashable {
            /// Written by a request made in this run.
            case generated
            /// Taken from the store (no request), published anew (new file, new position, new title).
            case reused
            /// Already published exactly so; nothing written.
            case unchanged
            /// Someone edited the file; it was kept.
            case handEdited
            /// Could not be generated; the previous version stayed published if there was one.
            case failed(String, keptPrevious: Bool)
            /// Not requested: the run's budget would not cover it (the message says how much);
            /// the previous version stayed published if there was one.
            case skippedForBudget(String, keptPrevious: Bool)
            /// Not written because coursegen stopped before its answer (nothing failed); the next
            /// run asks for it, and the previous version stayed published if there was one.
            case interrupted(keptPrevious: Bool)
        }
        public var position: Int
        public var title: String
        /// The published file name, nil when nothing is published for this chapter.
        public var file: String?
        public var outcome: Outcome
        /// For a chapter whose request failed: the last error.
        public var failure: ProviderError?

        /// A failed chapter that trying again later may fix (the server, the network, a quota),
        /// rather than only its author or the configuration.
        public var mayPassWithTime: Bool {
            guard case .failed = outcome else { return false }
            return failure?.mayPassWithTime ?? true
        }

        /// A failed chapter that only its author can fix (a blocked prompt, a refusal to write it).
        public var needsAuthor: Bool {
            guard case .failed = outcome else { return false }
            return failure?.disposition == .fatal
        }
    }

    public var outline: String
    public var folder: String
    public var chapters: [Chapter]
    /// Tokens spent in this run.
    public var usage: Usage
    /// Their estimated cost.
    public var cost: CostEstimate
    /// The run's budget in US dollars, nil when it had none.
    public var budget: Double?
    /// Backups made of files coursegen did not write: original name -> backup name.
    public var backups: [String: String]

    /// True when every chapter is published with its current text (or kept as hand-edited).
    public var isComplete: Bool { failedChapters.isEmpty && skippedChapters.isEmpty && interruptedChapters.isEmpty }

    /// Chapters coursegen stopped before writing.
    public var interruptedChapters: [Chapter] {
        chapters.filter { if case .interrupted = $0.outcome { true } else { false } }
    }

    public var failedChapters: [Chapter] {
        chapters.filter { if case .failed = $0.outcome { true } else { false } }
    }

    /// Chapters not requested because the run's budget would not cover them.
    public var skippedChapters: [Chapter] {
        chapters.filter { if case .skippedForBudget = $0.outcome { true } else { false } }
    }
}
