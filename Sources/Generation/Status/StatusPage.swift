public import Foundation
import Platform
import Outlines

/// The status page beside a course's chapters, `STATUS.md`: what is happening to the course, in
/// plain words, for its author. Rendered from a `CourseStatus`, the same value
/// `coursegen status --json` prints. Not listed in `SUMMARY.md`, so mdBook leaves it out of the
/// book. Pure.
public enum StatusPage {
    /// The page's file name in the course's folder.
    public static let fileName = "STATUS.md"
    /// The page's last line starts with this: a reader that sees it has the whole page.
    public static let footer = "_Written by coursegen"

    public static func render(_ status: CourseStatus) -> [UInt8] {
        var lines: [String] = []
        let name = status.title.map { "\"\(Self.escaped($0))\"" } ?? "`\(status.outline)`"
        lines.append("# Status of \(name)")
        lines.append("")
        lines.append(headline(status))
        lines.append("")
        lines.append("- Outline: `\(status.source)`")
        if let previous = status.previousOutline, let since = status.takenOver {
            lines.append(
                "- Published from `\(previous)` until \(time(since)), when that file was removed and this outline "
                    + "took the folder over; costs count from then"
            )
        }
        if let lastGenerated = status.lastGenerated {
            let tier = status.serviceTier.map { " (\($0.rawValue) tier)" } ?? ""
            let model = status.model.map { " with \($0)\(tier)" } ?? ""
            lines.append("- Last generated: \(time(lastGenerated))\(model)")
        }
        if status.chapters > 0 {
            lines.append(
                "- Chapters: \(status.chapters) in the outline, \(status.upToDate) up to date"
                    + (status.handEdited > 0 ? ", \(status.handEdited) hand-edited" : "")
                    + (status.failed.isEmpty ? "" : ", \(status.failed.count) failed")
                    + (status.phase == .stopped && (status.notWritten ?? 0) > 0
                        ? ", \(status.notWritten ?? 0) not written yet" : "")
            )
        }
        if status.requests > 0 {
            let usage = status.usage
            let tokens =
                usage.unreported == 0
                ? "\(usage.promptTokens) tokens in, \(usage.outputTokens) out, \(usage.thinkingTokens) thinking"
                : "tokens \(usage.summary)"
            lines.append(
                "- Spent so far: \(tokens), over \(counted(status.requests, "request")); estimated cost "
                    + status.cost.summary
            )
        }
        if status.skippedForBudget > 0 {
            let budget = status.budget.map { " of \(CostEstimate.format($0)) per run" } ?? ""
            lines.append(
                "- Not written: \(status.skippedForBudget) chapter\(status.skippedForBudget == 1 ? "" : "s") the budget\(budget) "
                    + "would not cover; saving the outline, or a higher budget, writes them"
            )
        }
        if let next = status.nextTry, !status.failed.isEmpty {
            lines.append("- Failed chapters are tried again at \(time(next))")
        }

        if let problem = status.outlineError {
            lines.append("")
            lines.append("## The outline cannot be read")
            lines.append("")
            let place = problem.line.map { "`\(problem.file)`, line \($0)" } ?? "`\(problem.file)`"
            lines.append("\(place): \(Self.escaped(problem.message))")
            if let text = problem.text {
                lines.append("")
                lines.append(fenced(text))
            }
            lines.append("")
            lines.append("Change that line as the message says and save the outline again. The chapters published before stay as they are.")
        }
        if !status.failed.isEmpty {
            lines.append("")
            lines.append("## Chapters that failed")
            lines.append("")
            for failure in status.failed {
                lines.append(
                    "- Chapter \(failure.chapter) \"\(Self.escaped(failure.title))\": \(failure.explanation). "
                        + "**What to do:** \(failure.advice)."
                )
                lines.append("  The error: \(fencedInline(failure.error))")
            }
        }
        if !status.handEditedChapters.isEmpty {
            lines.append("")
            lines.append("## Chapters edited by hand, kept as they are")
            lines.append("")
            for edit in status.handEditedChapters {
                lines.append("- Chapter \(edit.chapter) \"\(Self.escaped(edit.title))\", `\(edit.file)`")
            }
            lines.append("")
            lines.append(
                "coursegen never overwrites a file someone edited. To have one written again, delete it (or ask for "
                    + "`coursegen generate --force`, which keeps the edited file as NAME.orig)."
            )
        }
        if !status.refused.isEmpty {
            lines.append("")
            lines.append("## Other outlines refused for this folder")
            lines.append("")
            for refusal in status.refused {
                lines.append("- `\(refusal.file)`: \(refusal.advice)")
            }
        }
        lines.append("")
        lines.append("---")
        lines.append(
            "\(footer) at \(time(status.updated)); not part of the book (SUMMARY.md does not list it). Phase: `\(status.phase.rawValue)`._"
        )
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Whether `bytes` are a page `render` wrote: its last line is the footer.
    public static func isStatusPage(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes.suffix(4096), as: UTF8.self)
        let last = text.split(separator: "\n").last ?? ""
        return last.hasPrefix(footer) && last.hasSuffix("._")
    }

    /// Who can act on where the course stands, as the headline tells them.
    public static func actor(_ status: CourseStatus) -> CourseStatus.Actor {
        switch status.phase {
        case .generating, .upToDate, .waitingToRetry, .removed, .stopped: .nobody
        case .needsAuthor, .unreadable: .author
        case .needsAdministrator, .paused, .overBudget: .administrator
        // Under the daemon a save tries them again; after `generate`, whoever runs it.
        case .failed: .author
        }
    }

    /// One sentence saying where the course stands, who can act and what they do: a row of the
    /// table `StatusPageTests` pins.
    static func headline(_ status: CourseStatus) -> String {
        let watched = status.watched ?? false
        switch status.phase {
        case .generating:
            guard let progress = status.progress else { return "**Generating**: planning which chapters to write." }
            var text = "**Generating**: \(progress.ready) of \(counted(status.chapters, "chapter")) ready"
            if progress.writing > 0 {
                text += ", \(progress.writing) being written (\(progress.words) words so far)"
            }
            if progress.requested > 0 {
                text += ", \(progress.requested) asked for (the model is thinking, or busy)"
            }
            if progress.retrying > 0 { text += ", \(progress.retrying) waiting to be tried again" }
            if let inBatch = progress.inBatch, inBatch > 0 {
                text += ", \(inBatch) of \(status.chapters) in a batch job"
                    + (progress.batchSubmitted.map { ", submitted \(time($0))" } ?? "")
                    + " (half price; answers within 24 hours)"
            }
            return text + ". Chapters appear here as they are finished."
        case .upToDate:
            return "**Up to date**: every chapter of the outline is published."
        case .waitingToRetry:
            let when = status.nextTry.map { " at \(time($0))" } ?? ""
            return "**Waiting to try again**: some chapters failed for a reason that usually passes; coursegen tries them again\(when), on its own."
        case .needsAuthor:
            return "**Needs you**: some chapters cannot be written as the outline asks; see below what to change."
        case .needsAdministrator:
            return "**Waiting for the administrator**: some chapters cannot be written with coursegen's settings "
                + "(see below); the administrator has been told. Nothing to do on your side."
        case .failed:
            return watched
                ? "**Some chapters failed**: see below; saving the outline again tries them again."
                : "**Some chapters failed**: see below; running `coursegen generate` again tries them again "
                    + "(it asks only for those)."
        case .stopped:
            let written = status.upToDate + status.handEdited
            let rest = status.notWritten ?? max(status.chapters - written, 0)
            return "**Stopped**: coursegen stopped with \(written) of \(counted(status.chapters, "chapter")) written; "
                + "the other \(rest) \(rest == 1 ? "is" : "are") written when "
                + (watched ? "it starts again." : "`coursegen generate` runs again.") + " Nothing failed."
        case .overBudget:
            let budget = status.budget.map { " of \(CostEstimate.format($0)) per run" } ?? ""
            return "**Not all written: over budget**: \(counted(status.skippedForBudget, "chapter")) would cost more "
                + "than the budget\(budget) allows. The administrator can raise the budget (or you the outline's own "
                + "`budget:`, if it sets one), then save the outline."
        case .paused:
            let why = status.paused.map { " (\($0))" } ?? ""
            return "**Paused**: generation is stopped for every course\(why). The administrator has been told; nothing to do on your side."
        case .unreadable:
            return "**The outline cannot be read**: nothing new is generated until it is fixed; see below."
        case .removed:
            return "**Removed**: the outline is no longer in the inbox. Its chapters stay here; put the outline back to update them."
        }
    }

    /// A date for people, in UTC, to the minute: `2026-12-01 09:14 UTC`.
    public static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)) UTC"
    }

    /// Text safe inside a Markdown paragraph: no HTML, no emphasis or link syntax taking effect.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "#", "|": result += "\\\(character)"
            case "\n", "\r": result += " "
            default: result.append(character)
            }
        }
        return result
    }

    /// `text` as a fenced block that no backtick run inside it can close.
    static func fenced(_ text: String) -> String {
        let fence = String(repeating: "`", count: max(3, longestBacktickRun(text) + 1))
        return "\(fence)\n\(text)\n\(fence)"
    }

    /// `text` as inline code that no backtick run inside it can close.
    static func fencedInline(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        let fence = String(repeating: "`", count: longestBacktickRun(flat) + 1)
        return "\(fence) \(flat) \(fence)"
    }

    private static func longestBacktickRun(_ text: String) -> Int {
        var longest = 0
        var current = 0
        for character in text {
            current = character == "`" ? current + 1 : 0
            longest = max(longest, current)
        }
        return longest
    }
}
