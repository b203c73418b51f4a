public import Outlines

extension Engine {
    /// One outline to bring up to date, and the settings to do it with.
    public struct Job: Sendable {
        /// The outline file.
        public var outlinePath: String
        /// The outline as parsed; parsed from `outlinePath` when nil.
        public var outline: Outline?
        /// The outline's name in logs and status (`team-a/practical-rust`).
        public var name: String
        /// The folder its chapters are published in (absolute).
        public var outputFolder: String
        /// What shapes every request of this run (and so every chapter key).
        public var settings: GenerationSettings
        /// Regenerate and replace hand-edited chapters (the edited file is kept as `NAME.orig`).
        public var force: Bool
        /// How long to wait before sending new requests (`--settle`): a save starts spending
        /// only once the outline has been quiet this long. Requests already in flight for an
        /// earlier version are joined at once.
        public var settle: Duration
        /// The prices costs are estimated with, and the run's budget (lowered by the outline's
        /// own `budget:`).
        public var cost: CostPolicy
        /// Whether chapters the last run skipped for its budget are requested again: true for a
        /// save or a command-line run. The daemon's own retries and restarts pass false, so they
        /// never spend a fresh budget on them again and again; a higher budget, or other prices,
        /// tries them in any case.
        public var retriesBudgetSkips: Bool
        /// Send the run's chapters as Batch API jobs (half price, answers within a day) when it
        /// needs at least this many; nil never (`generate --batch` passes 1; the daemon its
        /// `batch-over`). Only a provider that takes batch jobs (Gemini) does.
        public var batchOver: Int?

        public init(
            outlinePath: String,
            outline: Outline? = nil,
            name: String,
            outputFolder: String,
            settings: GenerationSettings,
            force: Bool = false,
            settle: Duration = .zero,
            cost: CostPolicy = CostPolicy(),
            retriesBudgetSkips: Bool = true,
            batchOver: Int? = nil
        ) {
            self.outlinePath = outlinePath
            self.outline = outline
            self.name = name
            self.outputFolder = outputFolder
            self.settings = settings
            self.force = force
            self.settle = settle
            self.cost = cost
            self.retriesBudgetSkips = retriesBudgetSkips
            self.batchOver = batchOver
        }
    }
}
