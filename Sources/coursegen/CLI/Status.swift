import ArgumentParser
import Foundation
import Generation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show each outline's chapters (total, up to date, failed with the last error, skipped for budget), tokens used, their estimated cost and last generation."
    )

    @OptionGroup
    var common: CommonOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let folder = try await orExit(Exit.badConfiguration) { try common.stateFolder(environment: environment) }
        let outlines = try await orExit(Exit.ioError) { try StateDirectory(path: folder).status() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(outlines), as: UTF8.self))
            return
        }
        guard !outlines.isEmpty else {
            print("No outlines generated yet with state in \(folder).")
            return
        }
        for outline in outlines {
            print(Self.describe(outline))
        }
    }

    static func describe(_ outline: StateDirectory.OutlineStatus) -> String {
        var parts = ["\(outline.chapters) chapters", "\(outline.upToDate) up to date"]
        if outline.handEdited > 0 { parts.append("\(outline.handEdited) hand-edited") }
        if !outline.failed.isEmpty { parts.append("\(outline.failed.count) failed") }
        if outline.skippedForBudget > 0 { parts.append("\(outline.skippedForBudget) skipped for budget") }
        var lines = ["\(outline.outline): \(outline.title)"]
        lines.append("  \(parts.joined(separator: ", "))")
        lines.append("  published in \(outline.folder) from \(outline.source)")
        lines.append(
            "  tokens: \(outline.usage.promptTokens) in, \(outline.usage.outputTokens) out, "
                + "\(outline.usage.thinkingTokens) thinking, over \(outline.requests) requests; "
                + "estimated cost \(outline.cost.summary)"
        )
        if outline.skippedForBudget > 0, let budget = outline.budget {
            lines.append(
                "  budget \(CostEstimate.format(budget)) per run: \(outline.skippedForBudget) "
                    + (outline.skippedForBudget == 1 ? "chapter" : "chapters") + " not requested; "
                    + "save the outline or raise the budget to generate them"
            )
        }
        let format = ISO8601DateFormatter()
        lines.append(
            "  last run \(format.string(from: outline.lastRun))"
                + (outline.lastGenerated.map { ", last generated \(format.string(from: $0))" }
                    ?? ", nothing generated yet")
        )
        for chapter in outline.chapterList {
            lines.append("    \(chapter.chapter). \(chapter.title): \(describe(chapter))")
        }
        for failure in outline.failed {
            let what = failure.needsAuthor ? "needs its author" : "failed"
            lines.append("  chapter \(failure.chapter) \"\(failure.title)\" \(what): \(failure.error)")
        }
        if let nextTry = outline.nextTry {
            lines.append("  failed chapters are tried again at \(format.string(from: nextTry))")
        }
        return lines.joined(separator: "\n")
    }
}

extension Status {
    /// One chapter's line: what its text cost, or its state when that is not known.
    static func describe(_ chapter: StateDirectory.OutlineStatus.Chapter) -> String {
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
            "\(cost.summary) (\(usage.promptTokens) in, \(usage.outputTokens) out, \(usage.thinkingTokens) thinking)"
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
