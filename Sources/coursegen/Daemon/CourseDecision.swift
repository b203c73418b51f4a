import Foundation
import Generation
import Logging

/// What the daemon does with an outline it looked at: a pure function of why it looked, what
/// reading the file gave, and what it knows of the course, in the order of the rules below. The
/// coordinator gathers the inputs and carries the decision out (`Plan`'s shape, for the daemon).
///
/// 1. A file coursegen wrote, or one that now resolves outside the inbox, is ignored.
/// 2. An outline that cannot be read, or whose folder another outline owns, is reported.
/// 3. An outline whose run in progress asks for exactly this (the same outline, context and
///    templates) needs nothing new.
/// 4. With no run in progress, an outline whose folder is exactly up to date needs nothing.
/// 5. At the start-up catch-up, a retry time kept from before a restart that has not come yet is
///    waited for: the schedule continues.
/// 6. Anything else starts a run: after a save it waits for the outline to settle and may spend
///    a fresh budget on chapters an earlier run skipped for it; the catch-up, a retry and a reload
///    do neither. Any run but a retry may go as Batch API jobs (`batch-over`): the healing of
///    chapters a job failed goes as ordinary requests.
enum CourseDecision: Sendable, Equatable {
    case ignore(why: String)
    case unreadable(CourseStatus.OutlineProblem)
    case refused(owner: String)
    case coveredByRun
    case upToDate
    case waitForRetry(RetryTime)
    case start(settles: Bool, retriesBudgetSkips: Bool, batches: Bool)

    /// Why an outline is looked at.
    enum Reason: Sendable, Equatable {
        /// The start-up catch-up (or a rescan before it completed): nothing waits, and a retry
        /// time kept from before a restart is honoured.
        case catchUp
        /// A save: requests wait for the outline to settle, and the retry schedule starts afresh.
        case save
        /// Its failed chapters' retry time came.
        case retry
        /// A reload: new settings, or a key that may have been fixed.
        case reload
    }

    /// What reading the outline file gave (`CourseReader`).
    enum Read: Sendable, Equatable {
        case writtenByCoursegen
        case outsideInbox
        case unreadable(CourseStatus.OutlineProblem)
        case refused(owner: String)
        /// Parsed, its folder granted: what a run of it would ask (`digest`), and what the state
        /// folder says of it.
        case parsed(digest: String, isUpToDate: Bool, keptRetry: RetryTime?)
    }

    /// - Parameters:
    ///   - runningDigest: what the run in progress for this outline asks, if one is.
    ///   - now: the wall clock, for a kept retry time.
    static func decide(_ reason: Reason, read: Read, runningDigest: String?, now: Date) -> CourseDecision {
        switch read {
        case .writtenByCoursegen:
            return .ignore(why: "a file coursegen wrote (a chapter, SUMMARY.md or a status page) is no outline")
        case .outsideInbox:
            return .ignore(why: "the outline now resolves outside the inbox")
        case .unreadable(let problem):
            return .unreadable(problem)
        case .refused(let owner):
            return .refused(owner: owner)
        case .parsed(let digest, let isUpToDate, let keptRetry):
            if let runningDigest { return runningDigest == digest ? .coveredByRun : start(reason) }
            if isUpToDate { return .upToDate }
            if reason == .catchUp, let keptRetry, keptRetry.at > now { return .waitForRetry(keptRetry) }
            return start(reason)
        }
    }

    private static func start(_ reason: Reason) -> CourseDecision {
        .start(settles: reason == .save, retriesBudgetSkips: reason == .save, batches: reason != .retry)
    }
}

/// What the end of a run means for its outline: a pure function of how it ended, the stop in
/// force and whether the daemon is stopping.
struct RunOutcome: Sendable, Equatable {
    /// How a run ended.
    enum End: Sendable {
        case completed(RunReport)
        /// Superseded, removed or stopped: it says nothing about the outline.
        case cancelled
        /// It could not publish at all (the folder could not be written): tried again later.
        case failed
    }

    /// What becomes of the outline's retry time.
    enum Retry: Sendable, Equatable {
        /// As it is (a cancelled run says nothing).
        case keep
        /// None: nothing failed, or only the author or a reload can help.
        case clear
        /// The next step of the schedule.
        case schedule
    }

    var problem: Course.Problem?
    var retry: Retry
    /// The run's chapter count when the stop ended it before every chapter was written.
    var stoppedWith: Int?
    /// Try again at once: a refused key that a reload lifted while the run was ending.
    var tryAgainNow = false

    /// - Parameters:
    ///   - chapters: the run's chapter count as last reported, if it planned.
    ///   - stop: the scheduler's stop when the run ended.
    ///   - draining: the daemon is stopping.
    static func after(_ end: End, chapters: Int?, stop: SubmissionStop?, draining: Bool) -> RunOutcome {
        switch end {
        case .cancelled:
            // The stop timeout cut the answers in flight short: the page says the course stopped.
            return RunOutcome(problem: nil, retry: .keep, stoppedWith: draining ? chapters : nil)
        case .failed:
            return RunOutcome(
                problem: .failedChapters(needsAuthor: false),
                retry: stop?.reason == .refused ? .clear : .schedule
            )
        case .completed(let report) where !report.interruptedChapters.isEmpty && report.failedChapters.isEmpty:
            // Stopped before every chapter was written: the next start writes the rest at once,
            // with no retry schedule to wait for.
            return RunOutcome(problem: nil, retry: .keep, stoppedWith: report.chapters.count)
        case .completed(let report) where report.isComplete:
            return RunOutcome(problem: nil, retry: .clear)
        case .completed(let report) where report.failedChapters.isEmpty:
            // Only chapters skipped for the budget: no retry would fit them in it either.
            return RunOutcome(problem: .overBudget, retry: .clear)
        case .completed(let report):
            let problem = Course.Problem.failedChapters(needsAuthor: report.chapters.contains(where: \.needsAuthor))
            // Stopped by a refused key that a reload has lifted since: try again at once.
            if stop == nil, report.chapters.contains(where: { $0.failure?.disposition == .stopEverything }) {
                return RunOutcome(problem: problem, retry: .keep, tryAgainNow: true)
            }
            // Only the author can fix what failed, or only a fixed key and a reload help.
            let mayPass = report.chapters.contains(where: \.mayPassWithTime) && stop?.reason != .refused
            return RunOutcome(problem: problem, retry: mayPass ? .schedule : .clear)
        }
    }
}

extension RunReport {
    /// One error line per chapter only its author can fix (a blocked prompt, a refusal).
    func logChaptersOnlyTheAuthorCanFix(to logger: Logger) {
        for chapter in chapters where chapter.needsAuthor {
            logger.error(
                "a chapter only its author can fix: change its title, points or notes, then save",
                metadata: [
                    "outline": "\(outline)", "chapter": "\(chapter.position)", "chapter_title": "\(chapter.title)",
                    "error": "\(chapter.failure.map { "\($0)" } ?? "")",
                ]
            )
        }
    }
}
