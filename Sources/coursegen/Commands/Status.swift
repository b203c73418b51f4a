import ArgumentParser
import Foundation
import Generation
import Platform

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show each course's status: its phase, chapters (up to date, hand-edited, failed with the reason and the next try, skipped for budget), tokens used, their estimated cost and last generation; the same facts as its STATUS.md."
    )

    @OptionGroup
    var common: CommonOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let folder = try await orExit(Exit.badConfiguration) { try common.stateFolder(environment: environment) }
        let state = StateDirectory(path: folder)
        let outlines = try await orExit(Exit.ioError) { try state.status() }
        let jobs = try await orExit(Exit.ioError) { try state.batchJobs() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(outlines), as: UTF8.self))
            return
        }
        if outlines.isEmpty && jobs.isEmpty {
            print("No outlines generated yet with state in \(folder).")
            return
        }
        for outline in outlines {
            print(Self.describe(outline))
        }
        if !jobs.isEmpty { print(Self.describe(jobs)) }
    }

    /// The Batch API jobs coursegen has not finished with: one line each, with what the last
    /// poll found (the next `generate --batch` or the daemon polls them again).
    static func describe(_ jobs: [BatchJobRecord]) -> String {
        var lines = ["Batch API jobs not finished with:"]
        for job in jobs {
            let polled = job.polled.map { ", last polled \(StatusPage.time($0))" } ?? ""
            lines.append(
                "  \(job.name.isEmpty ? "\"\(job.displayName)\" (created without an answer yet)" : job.name): "
                    + "\(job.state.rawValue), \(counted(job.keys.count, "chapter")) of \(job.outline) "
                    + "(\(job.model)), submitted \(StatusPage.time(job.submitted))\(polled)"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// A course's status for the terminal; the same facts as its `STATUS.md` and `--json`.
    static func describe(_ course: CourseStatus) -> String {
        var parts = ["\(course.phase.rawValue)", counted(course.chapters, "chapter"), "\(course.upToDate) up to date"]
        if course.handEdited > 0 { parts.append("\(course.handEdited) hand-edited") }
        if !course.failed.isEmpty { parts.append("\(course.failed.count) failed") }
        var lines = ["\(course.outline): \(course.title ?? "(no title)")"]
        if course.skippedForBudget > 0 { parts.append("\(course.skippedForBudget) skipped for budget") }
        lines.append("  \(parts.joined(separator: ", "))")
        lines.append("  published in \(course.folder) from \(course.source)")
        if let problem = course.outlineError {
            lines.append("  the outline cannot be read: \(problem.file):\(problem.line.map(String.init) ?? "?"): \(problem.message)")
        }
        lines.append(
            "  tokens: \(course.usage.summary), over \(counted(course.requests, "request")); "
                + "estimated cost \(course.cost.summary)"
                + (course.serviceTier.map { " (last run at the \($0.rawValue) tier)" } ?? "")
        )
        if course.skippedForBudget > 0, let budget = course.budget {
            lines.append(
                "  budget \(CostEstimate.format(budget)) per run: \(course.skippedForBudget) "
                    + (course.skippedForBudget == 1 ? "chapter" : "chapters") + " not requested; "
                    + "save the outline or raise the budget to generate them"
            )
        }
        let format = ISO8601DateFormatter()
        if let lastRun = course.lastRun {
            lines.append(
                "  last run \(format.string(from: lastRun))"
                    + (course.lastGenerated.map { ", last generated \(format.string(from: $0))" }
                        ?? ", nothing generated yet")
            )
        }
        for chapter in course.chapterList {
            lines.append("    \(chapter.chapter). \(chapter.title): \(describe(chapter))")
        }
        for failure in course.failed {
            let what = failure.needsAuthor ? "needs its author" : "failed"
            lines.append("  chapter \(failure.chapter) \"\(failure.title)\" \(what): \(failure.error)")
        }
        if let nextTry = course.nextTry, !course.failed.isEmpty {
            lines.append("  failed chapters are tried again at \(format.string(from: nextTry))")
        }
        for refusal in course.refused {
            lines.append("  refused: \(refusal.file): \(refusal.advice)")
        }
        return lines.joined(separator: "\n")
    }
}

extension Status {
    /// One chapter's line: what its text cost, or its state when that is not known.
    static func describe(_ chapter: CourseStatus.Chapter) -> String {
        let state: String? =
            switch chapter.state {
            case "up-to-date": nil
            case "skipped-for-budget": "skipped for budget"
            default: chapter.state.replacing("-", with: " ")
            }
        guard let usage = chapter.usage, let cost = chapter.cost else {
            return state ?? "up to date, cost not known (generated before costs were kept)"
        }
        let spent =
            "\(cost.summary) (\(usage.summary))"
        return state.map { "\($0), \(spent)" } ?? spent
    }
}

struct GarbageCollect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove stored chapter bodies that no outline uses any more, after a grace period."
    )

    @OptionGroup
    var common: CommonOptions

    @Option(
        name: .customLong("grace-days"),
        help: ArgumentHelp(
            "Keep unused bodies younger than this many days (default: 7), so a chapter deleted by mistake comes back for free.",
            valueName: "days"
        )
    )
    var graceDays: Double = 7

    func validate() throws {
        guard graceDays >= 0, graceDays.isFinite else { throw ValidationError("--grace-days must be zero or more") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let folder = try await orExit(Exit.badConfiguration) { try common.stateFolder(environment: environment) }
        let report = try await orExit(Exit.ioError) {
            try StateDirectory(path: folder).collectGarbage(grace: .seconds(graceDays * 86_400))
        }
        print(
            "Removed \(report.removed) unused chapter bodies (\(report.bytesFreed) bytes); "
                + "kept \(report.kept) unused ones younger than \(graceDays.formatted()) days; "
                + "removed \(report.temporariesRemoved) stale temporary files."
        )
    }
}
