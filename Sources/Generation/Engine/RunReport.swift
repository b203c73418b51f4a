import Logging
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
    /// Their estimated cost, each answer's at the tier it was billed at.
    public var cost: CostEstimate
    /// The service tier the run asked for.
    public var serviceTier: ServiceTier = .standard
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

extension RunReport {
    /// The report of `run` once `plan`, its last, is published: each chapter's outcome is what
    /// the plan did with it, told apart by what the run did (a published file is unchanged by the
    /// end of a run: what counts is how it began; a chapter still to generate was interrupted).
    init(plan: Plan, run: RunState) {
        self.init(
            outline: run.job.name,
            folder: run.job.outputFolder,
            chapters: plan.chapters.map { chapter in
                let hasFile = chapter.source != nil
                let outcome: Chapter.Outcome =
                    switch chapter.action {
                    case .publish where run.generated.contains(chapter.key): .generated
                    case .publish where run.unchangedAtStart.contains(chapter.key): .unchanged
                    case .publish: .reused
                    case .keepHandEdit: .handEdited
                    case .failed(let message): .failed(message, keptPrevious: hasFile)
                    case .skippedForBudget(let message): .skippedForBudget(message, keptPrevious: hasFile)
                    case .generate: .interrupted(keptPrevious: hasFile)
                    }
                return Chapter(
                    position: chapter.position,
                    title: chapter.title,
                    file: hasFile ? chapter.fileName : nil,
                    outcome: outcome,
                    failure: run.failed[chapter.key]?.error
                )
            },
            usage: run.spent,
            cost: run.spentCost,
            serviceTier: run.job.settings.serviceTier,
            budget: run.budget,
            backups: run.backups
        )
    }

    /// Says in the log what the report tells, `plan` its run's last plan: hand-edited chapters kept,
    /// backups made, chapters skipped for the budget, and the totals. Decides nothing.
    func log(_ plan: Plan, generated: Int, to logger: Logger) {
        for chapter in plan.chapters {
            guard case .keepHandEdit(let entryChanged) = chapter.action else { continue }
            let metadata: Logger.Metadata = ["chapter": "\(chapter.position)", "file": "\(folder)/\(chapter.fileName)"]
            if entryChanged {
                logger.warning(
                    "keeping a hand-edited chapter file; its outline entry changed, run with --force to regenerate it",
                    metadata: metadata
                )
            } else {
                logger.notice("keeping a hand-edited chapter file", metadata: metadata)
            }
        }
        for (original, backup) in backups.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "kept a file coursegen did not write as a backup",
                metadata: ["file": "\(folder)/\(original)", "backup": "\(folder)/\(backup)"]
            )
        }
        var metadata: Logger.Metadata = [
            "chapters": "\(chapters.count)",
            "generated": "\(generated)",
            "failed": "\(failedChapters.count)",
            "tokens_in": "\(usage.promptTokens)",
            "tokens_out": "\(usage.outputTokens)",
            "tokens_thinking": "\(usage.thinkingTokens)",
            "cost_usd": "\(cost.field)",
        ]
        if serviceTier != .standard { metadata["service_tier"] = "\(serviceTier.rawValue)" }
        if let budget {
            metadata["budget_usd"] = "\(CostEstimate.fieldText(budget))"
            metadata["skipped_for_budget"] = "\(skippedChapters.count)"
        }
        if !skippedChapters.isEmpty {
            logger.warning(
                "chapters skipped: the run's budget would not cover them; a save or a higher budget tries them again",
                metadata: metadata
            )
        }
        if failedChapters.isEmpty {
            logger.info("outline published", metadata: metadata)
        } else {
            logger.error("outline published with failed chapters", metadata: metadata)
        }
    }
}
