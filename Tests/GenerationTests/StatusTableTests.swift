import Foundation
import Testing

@testable import Generation
@testable import Providers

/// The status page's states: each says who can act (the author, the administrator, nobody) and
/// what they do, and the page's text follows the row.
@Suite("The status page: who can act, and what they do")
struct StatusTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var status: CourseStatus
        var actor: CourseStatus.Actor
        var headline: String
        var absent: [String] = []
        var testDescription: String { name }
    }

    static func course(_ phase: CourseStatus.Phase = .upToDate, watched: Bool = true, _ edit: (inout CourseStatus) -> Void = { _ in })
        -> CourseStatus
    {
        var status = CourseStatus(outline: "locks", title: "Locks", source: "/in/locks.md", folder: "/out/locks", phase: phase)
        status.chapters = 3
        status.upToDate = 3
        status.watched = watched
        edit(&status)
        return status
    }

    /// A course whose manifest holds `errors` as failed chapters (with their dispositions), seen
    /// by the daemon or after `generate`.
    static func failing(_ errors: [(String, ProviderError.Disposition)], watched: Bool, nextTry: Date? = nil, skipped: Int = 0)
        -> CourseStatus
    {
        let manifest = Manifest(
            outline: "locks",
            source: "/in/locks.md",
            folder: "/out/locks",
            title: "Locks",
            outlineDigest: "d",
            chapters: errors.enumerated().map { index, error in
                Manifest.Chapter(
                    title: "Chapter \(index + 1)",
                    key: String(repeating: "a", count: 64),
                    state: .failed,
                    error: error.0,
                    retryable: error.1 != .fatal && error.1 != .stopEverything,
                    disposition: error.1
                )
            }
                + (0..<skipped).map { _ in
                    Manifest.Chapter(title: "Costly", key: String(repeating: "b", count: 64), state: .skippedForBudget)
                },
            usage: Usage(),
            requests: 1,
            lastRun: Date(),
            retry: nextTry.map { RetryTime(at: $0, failedTries: 1) },
            budget: skipped > 0 ? 0.001 : nil
        )
        return CourseStatus(manifest: manifest, watched: watched)
    }

    static let rows: [Row] = [
        Row(name: "generating", status: course(.generating), actor: .nobody, headline: "**Generating**"),
        Row(name: "up to date", status: course(), actor: .nobody, headline: "**Up to date**"),
        Row(
            name: "a blocked prompt: the author rewords it",
            status: failing([("HTTP 200: prompt blocked (blockReason SAFETY)", .fatal)], watched: true),
            actor: .author,
            headline: "**Needs you**"
        ),
        Row(
            name: "a refused key: the administrator, not the author",
            status: failing([("HTTP 400: INVALID_ARGUMENT: API key not valid (the API key was refused)", .stopEverything)], watched: true),
            actor: .administrator,
            headline: "**Waiting for the administrator**",
            absent: ["Needs you", "title, points and notes"]
        ),
        Row(
            name: "a gone model or a wrong base URL: the administrator",
            status: failing([("HTTP 404: NOT_FOUND: models/x is not found (check the model name and the base URL)", .stopEverything)], watched: false),
            actor: .administrator,
            headline: "**Waiting for the administrator**",
            absent: ["title, points and notes"]
        ),
        Row(
            name: "another refused request: the administrator",
            status: failing([("HTTP 400: INVALID_ARGUMENT: Invalid value at 'generation_config'", .fatal)], watched: true),
            actor: .administrator,
            headline: "**Waiting for the administrator**"
        ),
        Row(
            name: "an overload under the daemon: nobody, it tries again at its time",
            status: failing([("HTTP 503: UNAVAILABLE: The model is overloaded", .retry)], watched: true, nextTry: Date()),
            actor: .nobody,
            headline: "**Waiting to try again**"
        ),
        Row(
            name: "an overload after generate: run it again, nothing happens on its own",
            status: failing([("HTTP 503: UNAVAILABLE: The model is overloaded", .retry)], watched: false),
            actor: .author,
            headline: "running `coursegen generate` again tries them again",
            absent: ["on its own"]
        ),
        Row(
            name: "an overload under the daemon with no retry: a save tries again",
            status: failing([("HTTP 503: UNAVAILABLE: The model is overloaded", .retry)], watched: true),
            actor: .author,
            headline: "saving the outline again tries them again"
        ),
        Row(
            name: "a budget too small for any chapter: never up to date",
            status: failing([], watched: true, skipped: 3),
            actor: .administrator,
            headline: "**Not all written: over budget**",
            absent: ["**Up to date**"]
        ),
        Row(
            name: "stopped by the daemon's stop: nobody, the next start writes the rest",
            status: course(watched: true) { $0.upToDate = 1; $0.stopped(total: 3) },
            actor: .nobody,
            headline: "**Stopped**: coursegen stopped with 1 of 3 chapters written; the other 2 are written when it starts again."
        ),
        Row(
            name: "stopped by Ctrl-C on generate: the next run writes the rest",
            status: course(watched: false) { $0.upToDate = 2; $0.stopped(total: 3) },
            actor: .nobody,
            headline: "the other 1 is written when `coursegen generate` runs again"
        ),
        Row(
            name: "paused for everyone: the administrator",
            status: course(.paused) { $0.paused = "the daily quota is used up" },
            actor: .administrator,
            headline: "**Paused**"
        ),
        Row(name: "unreadable: the author", status: course(.unreadable), actor: .author, headline: "cannot be read"),
        Row(name: "removed", status: course(.removed), actor: .nobody, headline: "**Removed**"),
    ]

    @Test("each state names who acts and what they do", arguments: rows)
    func row(_ row: Row) {
        #expect(StatusPage.actor(row.status) == row.actor)
        let page = String(decoding: StatusPage.render(row.status), as: UTF8.self)
        #expect(page.contains(row.headline), "\(page)")
        for text in row.absent { #expect(!page.contains(text), "\(text) in \(page)") }
    }

    @Test("a failed chapter's advice under generate never says coursegen tries again on its own")
    func generateAdvice() {
        let status = Self.failing([("HTTP 503: UNAVAILABLE: The model is overloaded", .retry)], watched: false)
        #expect(status.failed.first?.advice.contains("run `coursegen generate` again") == true)
        #expect(status.failed.first?.advice.contains("on its own") == false)
    }
}
