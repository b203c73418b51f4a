import Foundation

/// What one run knows: its job, what it gathered from disk, and what its requests brought.
struct RunState: Sendable {
    let job: Engine.Job
    let outline: Outline
    let chapters: [Plan.Inputs.Chapter]
    var folder = Gathered()
    /// The manifest the run started from: totals count from it, however often the run publishes.
    var baseline: Manifest?
    var generated: Set<ChapterKey> = []
    var failed: [ChapterKey: GenerationFailure] = [:]
    /// Tokens this run's requests took (the priced estimate is `CostEstimate(spent, at: price)`).
    var spent = Usage()
    var requestsMade = 0
    /// Backups made by any of the run's publishes.
    var backups: [String: String] = [:]
    /// Chapters whose file was already exactly right when the run began.
    var unchangedAtStart: Set<ChapterKey> = []
    /// The outline file that published the folder before this one took it over, and when.
    var takenOver: (from: String, at: Date)?
    /// Whether the chapters the last run skipped for its budget stay skipped (decided once, from
    /// the manifest the run started from).
    var keepsBudgetSkips = false

    init(job: Engine.Job, outline: Outline, chapters: [Plan.Inputs.Chapter]) {
        self.job = job
        self.outline = outline
        self.chapters = chapters
    }

    /// The price of the run's model, nil when the price table has none.
    var price: Price? { job.cost.prices.price(for: job.settings.model) }

    /// The run's budget: the setting's, lowered by the outline's own.
    var budget: Double? { job.cost.budget(for: outline) }

    var inputs: Plan.Inputs {
        Plan.Inputs(
            chapters: chapters,
            previous: folder.previous,
            live: folder.live.mapValues(\.hash),
            available: folder.renderedHashes,
            failed: failed.mapValues {
                Plan.Failure(
                    message: "\($0)",
                    retryable: $0.mayPassWithTime,
                    skippedForBudget: $0.skippedForBudget,
                    disposition: $0.error.disposition
                )
            },
            force: job.force,
            keepsBudgetSkips: keepsBudgetSkips
        )
    }
}
