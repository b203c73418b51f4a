public import Foundation
import Platform
public import Providers

/// Everything an author or a tool needs to know about one course: what is happening to it, what
/// went wrong and what to do. The one model both the status page beside the chapters
/// (`OUTPUT/<course>/STATUS.md`, `StatusPage`) and `coursegen status --json` are made from, so
/// they never disagree. The daemon keeps the latest one of each course in the state folder
/// (`STATE/courses/`); for a course only `coursegen generate` has seen, it is derived from the
/// manifest.
public struct CourseStatus: Sendable, Codable, Hashable {
    /// Where the course stands, from the author's point of view.
    public enum Phase: String, Sendable, Codable, Hashable {
        /// Chapters are being written now.
        case generating
        /// Every chapter is published with its current text (or kept as hand-edited).
        case upToDate = "up-to-date"
        /// Some chapters failed for a reason that may pass; coursegen tries them again at `nextTry`.
        case waitingToRetry = "waiting-to-retry"
        /// Some chapters failed for a reason only the author can fix (see `failed`).
        case needsAuthor = "needs-author"
        /// Some chapters failed and nothing will try them again before the next save.
        case failed
        /// Generation is stopped for everyone (a refused key, a used-up daily quota): the
        /// administrator has been told; nothing for the author to do.
        case paused
        /// The outline cannot be read (see `outlineError`); the chapters published before stay.
        case unreadable
        /// The outline was removed from the inbox; its chapters stay published.
        case removed
        /// coursegen stopped (SIGTERM, Ctrl-C, a crash) before every chapter was written; the
        /// rest are written when it runs again. Nothing failed.
        case stopped
        /// Some chapters cannot be written with coursegen's settings (the API refused the request
        /// as it was sent, the state folder cannot store answers): only the administrator can act.
        case needsAdministrator = "needs-administrator"
        /// Chapters were not written because the run's budget would not cover them.
        case overBudget = "over-budget"
    }

    /// Who can do something about where a course stands.
    public enum Actor: String, Sendable, Codable, Hashable {
        /// The outline's author: a save of a changed outline.
        case author
        /// Whoever runs coursegen: a setting, a key, the disk.
        case administrator
        /// Nobody: coursegen does it, or time does.
        case nobody
    }

    public struct Failure: Sendable, Codable, Hashable {
        /// 1-based position in the outline.
        public var chapter: Int
        public var title: String
        /// The error as the API or coursegen gave it.
        public var error: String
        /// Only the author can fix it (a blocked prompt, a refusal): it is not tried again.
        public var needsAuthor: Bool
        /// Who can fix it; nil in statuses kept by an earlier version.
        public var actor: Actor?
        /// What happened, in plain words for the author.
        public var explanation: String
        /// What the author can do about it, if anything.
        public var advice: String
    }

    public struct HandEdit: Sendable, Codable, Hashable {
        public var chapter: Int
        public var title: String
        public var file: String
    }

    /// An outline that does not parse: where, what and what to change.
    public struct OutlineProblem: Sendable, Codable, Hashable {
        public var file: String
        public var line: Int?
        /// What is wrong and how to fix it (the `FILE:LINE:` message without its location).
        public var message: String
        /// The line as it is in the file, when there is one.
        public var text: String?

        public init(file: String, line: Int?, message: String, text: String?) {
            self.file = file
            self.line = line
            self.message = message
            self.text = text
        }
    }

    /// Another outline refused because this course owns the folder it maps to.
    public struct Refusal: Sendable, Codable, Hashable {
        public var file: String
        public var advice: String

        public init(file: String, advice: String) {
            self.file = file
            self.advice = advice
        }
    }

    /// One chapter, as its manifest entry has it, with what its text cost.
    public struct Chapter: Sendable, Codable, Hashable {
        public var chapter: Int
        public var title: String
        /// `up-to-date`, `failed`, `hand-edited`, `pending` or `skipped-for-budget`.
        public var state: String
        /// The published file, if any.
        public var file: String?
        /// Tokens the text it holds took, retries included; nil when not known (hand-edited,
        /// not generated yet, or generated before costs were kept).
        public var usage: Usage?
        /// Their estimated cost at the price its model had then.
        public var cost: CostEstimate?
    }

    /// Chapters being written now.
    public struct Progress: Sendable, Codable, Hashable {
        public var ready: Int
        public var writing: Int
        public var words: Int
        public var retrying: Int
        /// Sent to the model, no text yet (thinking, or queued at the API).
        public var requested: Int
        /// In a Batch API job (nil: none), and when the earliest of their jobs was submitted.
        public var inBatch: Int?
        public var batchSubmitted: Date?

        public init(
            ready: Int,
            writing: Int,
            words: Int,
            retrying: Int,
            requested: Int,
            inBatch: Int? = nil,
            batchSubmitted: Date? = nil
        ) {
            self.ready = ready
            self.writing = writing
            self.words = words
            self.retrying = retrying
            self.requested = requested
            self.inBatch = inBatch
            self.batchSubmitted = batchSubmitted
        }
    }

    /// The outline's name (`team-a/practical-rust`).
    public var outline: String
    public var title: String?
    /// The outline file.
    public var source: String
    /// The published folder.
    public var folder: String
    public var phase: Phase
    /// When this status was made.
    public var updated: Date
    public var chapters: Int
    public var upToDate: Int
    public var handEdited: Int
    public var handEditedChapters: [HandEdit]
    public var failed: [Failure]
    public var progress: Progress?
    public var outlineError: OutlineProblem?
    public var refused: [Refusal]
    /// Why generation is stopped for everyone, when it is.
    public var paused: String?
    /// The model the chapters were last generated with.
    public var model: String?
    /// The service tier of the last run (`flex`, `priority`); nil for standard.
    public var serviceTier: ServiceTier?
    /// Tokens spent on this outline over all runs, retries included.
    public var usage: Usage
    /// Their estimated cost, each run's at the prices it had (tokens from before costs were
    /// estimated, or of a model with no price, are counted apart as unpriced).
    public var cost: CostEstimate
    /// Chapters the last run did not request because its budget would not cover them.
    public var skippedForBudget: Int
    /// The last run's budget in US dollars, nil when it had none.
    public var budget: Double?
    /// Every chapter, in outline order, with what its text cost.
    public var chapterList: [Chapter]
    /// Requests sent for this outline over all runs, retries included.
    public var requests: Int
    public var lastRun: Date?
    public var lastGenerated: Date?
    /// When the failed chapters are tried again, if they will be.
    public var nextTry: Date?
    /// Whether the daemon follows this course (it tries failures that may pass again on its
    /// own); nil or false after `coursegen generate`.
    public var watched: Bool?
    /// Chapters not written yet and not failed: a run in progress, or one that stopped.
    public var notWritten: Int?
    /// The outline file that published this folder before this one took it over, and when.
    public var previousOutline: String?
    public var takenOver: Date?
    /// Batch API jobs not finished with that publish into this folder (`coursegen status`).
    public var batchJobs: [BatchJobRecord]?

    public init(
        outline: String,
        title: String? = nil,
        source: String,
        folder: String,
        phase: Phase,
        updated: Date = Date()
    ) {
        self.outline = outline
        self.title = title
        self.source = source
        self.folder = folder
        self.phase = phase
        self.updated = updated
        chapters = 0
        upToDate = 0
        handEdited = 0
        handEditedChapters = []
        failed = []
        refused = []
        usage = Usage()
        cost = CostEstimate(unpriced: Usage())
        skippedForBudget = 0
        chapterList = []
        requests = 0
    }

    /// What the manifest of the course's folder says: its chapters, failures, hand edits, totals
    /// and retry time, and the phase they add up to.
    init(manifest: Manifest, watched: Bool = false, updated: Date = Date()) {
        self.init(
            outline: manifest.outline,
            title: manifest.title,
            source: manifest.source,
            folder: manifest.folder,
            phase: .upToDate,
            updated: updated
        )
        self.watched = watched
        chapters = manifest.chapters.count
        upToDate = manifest.chapters.filter { $0.state == .upToDate }.count
        handEdited = manifest.chapters.filter { $0.state == .handEdited }.count
        for (index, chapter) in manifest.chapters.enumerated() {
            if chapter.state == .handEdited, let file = chapter.file {
                handEditedChapters.append(HandEdit(chapter: index + 1, title: chapter.title, file: file))
            }
            guard let error = chapter.error, chapter.state == .failed || chapter.state == .handEdited else { continue }
            let explained = FailureExplanation(
                error: error,
                disposition: chapter.disposition,
                retryable: chapter.retryable,
                watched: watched
            )
            failed.append(
                Failure(
                    chapter: index + 1,
                    title: chapter.title,
                    error: error,
                    needsAuthor: explained.actor == .author,
                    actor: explained.actor,
                    explanation: explained.explanation,
                    advice: explained.advice
                )
            )
        }
        model = manifest.model
        serviceTier = manifest.serviceTier
        usage = manifest.usage
        cost = manifest.cost ?? CostEstimate(unpriced: manifest.usage)
        skippedForBudget = manifest.chapters.filter { $0.state == .skippedForBudget }.count
        budget = manifest.budget
        chapterList = manifest.chapters.enumerated().map { index, chapter in
            Chapter(
                chapter: index + 1,
                title: chapter.title,
                state: chapter.state.rawValue,
                file: chapter.file,
                usage: chapter.usage,
                cost: chapter.cost
            )
        }
        requests = manifest.requests
        lastRun = manifest.lastRun
        lastGenerated = manifest.lastGenerated
        previousOutline = manifest.takenOver?.from
        takenOver = manifest.takenOver?.at
        nextTry = manifest.retry?.at
        let pending = manifest.chapters.count { $0.state == .pending }
        notWritten = pending
        phase = Self.phase(failed: failed, nextTry: nextTry, pending: pending > 0, skippedForBudget: skippedForBudget)
    }

    /// Marks a course that coursegen stopped before every one of its `total` chapters was
    /// written (`generate` after Ctrl-C): the rest are written at the next run.
    public mutating func stopped(total: Int) {
        chapters = max(chapters, total)
        let unwritten = max(chapters - upToDate - handEdited - failed.count - skippedForBudget, 0)
        notWritten = unwritten
        // Failures say more about what to do; they keep their phase.
        if unwritten > 0, failed.isEmpty { phase = .stopped }
    }

    /// Marks a course that is not up to date as paused by `stop`, which holds every course back
    /// (a refused key, a used-up daily quota), with the reason in plain words.
    public mutating func pause(for stop: SubmissionStop) {
        guard phase != .upToDate, phase != .needsAuthor, phase != .generating, phase != .stopped else { return }
        phase = .paused
        switch stop.reason {
        // The API's words and what to do (a retired model's message names those the key can use).
        case .refused: paused = "the API refused the service's key or model: \(stop.error.message)"
        case .dailyQuota:
            paused = "the daily quota is used up" + (stop.until.map { "; it resets at \(StatusPage.time($0))" } ?? "")
        }
    }

    /// The phase failures add up to, when nothing is running: what only the author can fix
    /// first, then what only the administrator can, then what passes with time; chapters left
    /// unwritten by a stop, then for the budget.
    public static func phase(failed: [Failure], nextTry: Date?, pending: Bool, skippedForBudget: Int = 0) -> Phase {
        let actors = failed.map { $0.actor ?? ($0.needsAuthor ? .author : .nobody) }
        if actors.contains(.author) { return .needsAuthor }
        if actors.contains(.administrator) { return .needsAdministrator }
        if !failed.isEmpty { return nextTry == nil ? .failed : .waitingToRetry }
        if pending { return .stopped }
        if skippedForBudget > 0 { return .overBudget }
        return .upToDate
    }
}
