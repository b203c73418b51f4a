import Foundation
import Outlines
import Platform
import Providers

/// What one run knows: its job, what it gathered from disk, and what its requests brought. The
/// engine does the reading, waiting and writing; what follows from them is computed here, purely.
struct RunState: Sendable {
    let job: Engine.Job
    let outline: Outline
    let chapters: [Plan.Inputs.Chapter]
    var folder = Gathered()
    /// The manifest the run started from: totals count from it, however often the run publishes.
    var baseline: Manifest?
    var generated: Set<ChapterKey> = []
    var failed: [ChapterKey: GenerationFailure] = [:]
    /// Tokens this run's requests took.
    var spent = Usage()
    /// Their estimated cost, each answer's at the tier it was billed at.
    var spentCost = CostEstimate()
    var requestsMade = 0
    /// Backups made by any of the run's publishes.
    var backups: [String: String] = [:]
    /// Chapters whose file was already exactly right when the run began.
    var unchangedAtStart: Set<ChapterKey> = []
    /// The outline file that published the folder before this one took it over, and when.
    var takenOver: Manifest.TakeOver?
    /// Whether the chapters the last run skipped for its budget stay skipped (decided once, from
    /// the manifest the run started from).
    var keepsBudgetSkips = false

    /// When the run began: the price of the model is the one in force then.
    var began = Date()

    /// The price of the run's model, nil when the price table has none.
    var price: Price? { job.cost.prices.price(for: job.settings.model, on: began) }

    /// The run's budget: the setting's, lowered by the outline's own.
    var budget: Double? { job.cost.budget(for: outline) }

    var inputs: Plan.Inputs {
        Plan.Inputs(
            chapters: chapters,
            previous: folder.previous,
            live: folder.live.mapValues(\.hash),
            available: folder.texts.mapValues(\.hash),
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

    /// Starts from what the first gathering found: totals count from its manifest, unless another
    /// outline file published the folder (`course.md`, now `course.yaml`): the folder is this
    /// one's from `now` on, and what this one costs counts from zero.
    mutating func begin(now: Date) {
        began = now
        baseline = folder.previous
        if let previous = folder.previous, previous.source != job.outlinePath {
            baseline = nil
            takenOver = Manifest.TakeOver(from: previous.source, at: now)
        }
        keepsBudgetSkips = Plan.keepsBudgetSkips(
            folder.previous,
            retrying: job.retriesBudgetSkips,
            budget: budget,
            price: price
        )
    }

    /// Takes in the outcome of `key`'s request: its text or its failure, and what it spent.
    /// - Returns: how the chapter's request ended, and what the chapters metric counts it as:
    ///   nil for an answer another process paid for, and for a request coursegen stopped (not a
    ///   failure of the chapter: it stays pending, and the next run asks for it).
    mutating func take(_ outcome: RequestTable.Outcome, for key: ChapterKey) -> (
        end: ProgressTracker.End, counted: String?
    ) {
        switch outcome {
        case .success(let answer):
            let title = chapters.first { $0.key == key }?.title ?? ""
            folder.texts[key] = Gathered.Text(answer.body, title: title, allowHTML: job.settings.allowHTML)
            guard !answer.fromStore else { return (.ready, nil) }
            generated.insert(key)
            spent += answer.body.usage
            spentCost += CostEstimate(answer.body.usage, at: price, tier: answer.body.tier ?? .standard)
            requestsMade += answer.attempts
            return (.ready, "generated")
        case .failure(let failure):
            spent += failure.usage
            spentCost += CostEstimate(failure.usage, at: price, tier: BillingTier(job.settings.serviceTier))
            requestsMade += failure.attempts
            if failure.error.disposition == .interrupted { return (.interrupted, nil) }
            failed[key] = failure
            return failure.skippedForBudget ? (.skippedForBudget, "skipped_for_budget") : (.failed, "failed")
        }
    }

    /// The manifest recording `plan` as published at `now`, its totals counted from `baseline`.
    /// It still recognises the files of the version it replaces (`transitionalHashes`), to be
    /// saved before the files are swapped.
    func manifest(for plan: Plan, now: Date) -> Manifest {
        // A manifest from before costs were estimated counts its tokens as unpriced.
        let costBefore = baseline.map { $0.cost ?? CostEstimate(unpriced: $0.usage) } ?? CostEstimate()
        var manifest = Manifest(
            outline: job.name,
            source: job.outlinePath,
            folder: job.outputFolder,
            title: outline.title,
            outlineDigest: outline.digest,
            chapters: plan.chapters.map { chapter in
                var entry = chapter.entry
                // What the text it holds took: known when it holds the current key's text.
                if entry.publishedKey == entry.key, let text = folder.texts[chapter.key] {
                    entry.usage = text.usage
                    entry.cost = CostEstimate(text.usage, at: price, tier: text.tier)
                }
                return entry
            },
            summarySha256: sha256Hex(plan.summary),
            usage: (baseline?.usage ?? Usage()) + spent,
            cost: costBefore + spentCost,
            requests: (baseline?.requests ?? 0) + requestsMade,
            lastRun: now,
            lastGenerated: generated.isEmpty ? baseline?.lastGenerated : now,
            budget: budget,
            price: price
        )
        manifest.model = job.settings.model
        manifest.serviceTier = job.settings.serviceTier == .standard ? nil : job.settings.serviceTier
        manifest.htmlAllowed = job.settings.allowHTML
        manifest.takenOver = takenOver ?? folder.previous?.takenOver
        manifest.sanitizerVersion = ChapterSanitizer.version
        manifest.transitionalHashes = folder.previous.map { Array($0.allHashes) } ?? []
        return manifest
    }

    /// The files `plan` publishes, with their bytes.
    func version(of plan: Plan) -> Publisher.Version {
        Publisher.Version(
            chapters: plan.files.map { name, source in
                switch source {
                case .body(let key): (name, folder.texts[key]?.bytes ?? [])
                case .live(let file): (name, folder.live[file]?.bytes ?? [])
                }
            },
            unchanged: plan.unchanged,
            summary: plan.summary,
            bookConfiguration: ChapterFile.bookConfiguration(title: outline.title),
            previousBookConfiguration: folder.previous.map { ChapterFile.bookConfiguration(title: $0.title) },
            backups: plan.backups,
            removals: plan.removals
        )
    }
}
