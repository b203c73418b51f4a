import Foundation
import Generation
import Watcher
import Platform
import Outlines

/// What the daemon knows of one outline of the inbox, on top of what its manifest says.
struct Course: Sendable {
    /// Why an outline is not up to date.
    enum Problem: Sendable, Equatable {
        /// It cannot be read or parsed (or its name gives no folder): where and why.
        case unreadable(CourseStatus.OutlineProblem)
        /// Its last run left chapters failed; `needsAuthor` when some failed for a reason only
        /// the author can fix (a blocked prompt), not one that may pass with time.
        case failedChapters(needsAuthor: Bool)
        /// Another outline, `owner`, owns its folder.
        case folderOwned(owner: String)
        /// Its last run skipped chapters because its budget would not cover them (and failed
        /// none): a save, a higher budget or other prices try them again, not the retry timer.
        case overBudget
    }

    var file: InboxFile
    var problem: Problem?
    /// The next try of its chapters that failed for a reason that may pass.
    var retry: RetryTime?
    /// While a retry run is in progress (its time came and it left the schedule): the tries
    /// that failed before, counted on if this one fails too.
    var failedTries = 0
    /// The run in progress: its id, what it asks, and its progress once it has planned.
    var run: (id: UInt64, digest: String, progress: Engine.Progress?)?
    /// Removed from the inbox, while its page says so.
    var removed = false
    /// The number of chapters of its run when the stop ended it unfinished.
    var stoppedWith: Int?

    /// Whether a reload looks at the outline again: every one when the generation settings
    /// changed; else those a stop left incomplete (the reload may have fixed the key or lifted the
    /// quota), and those over budget when the budget or the prices changed.
    func isLookedAtAgain(settingsChanged: Bool, wasStopped: Bool, costChanged: Bool) -> Bool {
        guard !removed else { return false }
        switch problem {
        case _ where settingsChanged: return true
        case .failedChapters: return wasStopped
        case .overBudget: return costChanged
        default: return false
        }
    }

    /// Whether `file` is a prompt template (`prompt: style.mustache`), watched beside outlines.
    static func isTemplate(_ file: InboxFile) -> Bool {
        file.relativePath.lowercased().hasSuffix(".mustache")
    }

    /// Whether the outline may use the template `template`: one in its folder or below it (a
    /// course's own templates are looked up there).
    func mayUse(template: InboxFile) -> Bool {
        guard !removed else { return false }
        let folder = (template.path as NSString).deletingLastPathComponent
        let outlineFolder = (file.path as NSString).deletingLastPathComponent
        return folder.isPath(within: outlineFolder)
    }

    /// The outline's name in logs and status: its path in the inbox without the extension.
    var name: String {
        let folder = (file.relativePath as NSString).deletingLastPathComponent
        let stem = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent) ?? file.relativePath
        return folder.isEmpty ? stem : "\(folder)/\(stem)"
    }
}

/// The daemon's words for where the courses stand, from one model: each course's status page
/// (and `coursegen status --json`) and the one line `systemctl status` shows. Pure.
enum DaemonStatus {
    /// The page of `course`: its manifest's status (`base`), with what the daemon knows on top:
    /// a run in progress, a parse error, a retry time, outlines refused for its folder, a stop,
    /// a removal. Nil for an outline refused for its folder (the owner's page reports it).
    static func page(
        _ course: Course,
        base: CourseStatus?,
        folder: String,
        rivals: [String],
        stop: SubmissionStop?,
        now: Date
    ) -> CourseStatus? {
        if case .folderOwned? = course.problem { return nil }
        var status =
            base ?? CourseStatus(outline: course.name, source: course.file.path, folder: folder, phase: .upToDate)
        status.watched = true
        status.outline = course.name
        status.source = course.file.path
        status.updated = now
        status.nextTry = course.retry?.at
        if let run = course.run {
            status.phase = .generating
            if let progress = run.progress {
                status.chapters = progress.total
                status.upToDate = progress.ready
                status.progress = .init(
                    ready: progress.ready,
                    writing: progress.writing,
                    words: progress.words,
                    retrying: progress.retrying,
                    requested: progress.requested,
                    inBatch: progress.inBatch > 0 ? progress.inBatch : nil,
                    batchSubmitted: progress.batchSubmitted
                )
            }
        } else {
            status.phase = CourseStatus.phase(
                failed: status.failed,
                nextTry: status.nextTry,
                pending: (status.notWritten ?? 0) > 0,
                skippedForBudget: status.skippedForBudget
            )
            if let total = course.stoppedWith { status.stopped(total: total) }
            if let stop { status.pause(for: stop) }
        }
        if case .unreadable(let problem)? = course.problem {
            status.phase = .unreadable
            status.outlineError = problem
        }
        if course.removed { status.phase = .removed }
        status.refused = rivals.sorted().map {
            .init(
                file: $0,
                advice:
                    "it maps to this same folder, which this outline owns; nothing of it is published until it is renamed (the folder is named after the file name without its extension)"
            )
        }
        return status
    }

    /// Whether a run's progress is worth a new page: every chapter that is done, fails or waits
    /// to retry is; the word count alone refreshes it at most every two seconds.
    static func refreshesPage(from before: Engine.Progress?, to after: Engine.Progress, written: Date?, now: Date)
        -> Bool
    {
        let counts = { (p: Engine.Progress?) in [p?.ready, p?.failed, p?.retrying, p?.writing, p?.requested, p?.inBatch] }
        return counts(before) != counts(after) || now.timeIntervalSince(written ?? .distantPast) > 2
    }

    /// Whether `status` says something `previous` did not (the time it was made aside).
    static func says(_ status: CourseStatus, somethingNewSince previous: CourseStatus?) -> Bool {
        guard var previous else { return true }
        var current = status
        (previous.updated, current.updated) = (.distantPast, .distantPast)
        return previous != current
    }

    /// One human line for `systemctl status`.
    /// - Parameters:
    ///   - courses: every outline of the inbox (removed ones left out).
    ///   - limit: the in-flight limit (lowered while the API is overloaded, or for a local server)
    ///     and `--concurrency`, and why in a few words.
    static func line(
        inbox: String,
        courses: [Course],
        stop: SubmissionStop?,
        limit: (current: Int, maximum: Int, reason: String?)?,
        outage: APIOutage? = nil
    ) -> String {
        let active = courses.filter { $0.run != nil }.sorted { $0.name < $1.name }
        var text: String
        if active.isEmpty {
            let troubled = courses.filter { $0.problem != nil }
            let upToDate = courses.count - troubled.count
            text = "Watching \(inbox): \(counted(upToDate, "course")) up to date"
            let waiting = courses.compactMap(\.retry)
            if let next = waiting.map(\.at).min() {
                text += ", \(waiting.count) to retry (next at \(time(next)))"
            }
            let needAuthor = troubled.count { course in
                switch course.problem {
                case .unreadable, .folderOwned, .failedChapters(needsAuthor: true): true
                default: false
                }
            }
            if needAuthor > 0 { text += ", \(needAuthor) need their author (see journalctl)" }
            let overBudget = troubled.count { $0.problem == .overBudget }
            if overBudget > 0 {
                text += ", \(overBudget) over budget (see coursegen status; save or raise the budget)"
            }
            let other = troubled.count - needAuthor - overBudget - troubled.count { $0.retry != nil }
            if other > 0 { text += ", \(other) with problems (see journalctl)" }
        } else {
            text = active.map { course in
                // A run reports progress once it has planned; until then it is generating all the
                // same, not up to date.
                guard let progress = course.run?.progress else { return "Generating \(course.name): planning" }
                return describe(progress)
            }.joined(separator: "; ")
            if let outage {
                text += " (API unavailable: probing every \(outage.probeInterval.components.seconds) s)"
            } else if let limit, limit.current < limit.maximum {
                text += " (\(limit.reason ?? "API overloaded"): \(limit.current) of \(counted(limit.maximum, "request")) in flight)"
            }
        }
        if let stop {
            switch stop.reason {
            case .refused:
                text = "Stopped: \(stop.error); fix the key or model, then reload (systemctl reload coursegen). " + text
            case .dailyQuota:
                let until = stop.until.map { " until \(time($0))" } ?? ""
                text = "Paused\(until): daily quota used up. " + text
            }
        }
        return text
    }

    /// "Generating practical-rust: 7/12 chapters, 3 writing (2.1k words so far), 1 retrying".
    static func describe(_ progress: Engine.Progress) -> String {
        var line = "Generating \(progress.outline): \(progress.ready)/\(counted(progress.total, "chapter"))"
        if progress.writing > 0 { line += ", \(progress.writing) writing (\(words(progress.words)) words so far)" }
        if progress.retrying > 0 { line += ", \(progress.retrying) retrying" }
        if progress.failed > 0 { line += ", \(progress.failed) failed" }
        if progress.skippedForBudget > 0 { line += ", \(progress.skippedForBudget) skipped for budget" }
        return line
    }

    /// 950, 2.1k, 12k.
    static func words(_ count: Int) -> String {
        switch count {
        case ..<1000: "\(count)"
        case ..<10_000: "\((Double(count) / 1000).formatted(.number.precision(.fractionLength(1))))k"
        default: "\(count / 1000)k"
        }
    }

    /// A time of day for status lines, in the machine's time zone.
    static func time(_ date: Date) -> String {
        date.formatted(date: .omitted, time: .shortened)
    }
}
