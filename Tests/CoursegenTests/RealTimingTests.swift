import FakeGemini
import FakeServerKit
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import coursegen
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon against the real API's timing: it settles before spending, heals after outages,
/// and shows what it writes.
@Suite("coursegen watch against real timing", .serialized)
struct RealTimingTests {
    let key = FakeGeminiServer.defaultAPIKey

    func watch(_ temp: TemporaryFolder, server: FakeGeminiServer, extra: [String], environment: [String: String] = [:])
        throws -> Binary.Running
    {
        try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100",
            ] + extra,
            environment: ["GEMINI_API_KEY": key].merging(environment) { $1 },
            directory: temp.path
        )
    }

    @Test("an outline rewritten every 1.2 s for 10 s costs one request for the growing chapter, made after the last save")
    func settleBeforeSpending() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", watchedOutline())
        // The default settle period (5 s).
        let daemon = try watch(temp, server: server, extra: [])
        try await daemon.waitForLines(containing: "outline published  outline=course")
        #expect(server.statistics.chapterRequestCount == 3)

        // An editor that autosaves while the author types a new point into chapter 2. The typing
        // runs on its own thread: on the test process's small shared pool, other tests' work could
        // stretch a 1.2 s pause past the settle period, which is another scenario than this one.
        let words = ["and", "then", "borrows", "and", "lifetimes", "in", "real", "code"]
        let (point, longestPause, lastSave) = try await onOwnThread {
            () throws -> (String, Duration, ContinuousClock.Instant) in
            var point = "b"
            var longest = Duration.zero
            var previous: ContinuousClock.Instant?
            for (index, word) in words.enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: 1.2) }
                point += " \(word)"
                let started = ContinuousClock.now
                try Save.inPlace(course, watchedOutline(["a", point, "c"]))
                if let previous { longest = max(longest, started - previous) }
                previous = ContinuousClock.now
            }
            return (point, longest, previous!)
        }
        try #require(longestPause < .seconds(5), "the saves came closer together than the settle period")
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        #expect(result.status == 0)
        #expect(server.statistics.chapterRequestCount == 4, "one request for the whole typing session")
        let request = try #require(server.statistics.requests.last { $0.prompt?.contains("Point \(point)\n") == true })
        #expect(request.arrival > lastSave, "sent after the last save")
        #expect(temp.read("out/course/02-chapter-2.md")?.contains(point) == true)
    }

    @Test("chapters that failed during an outage are published once the API recovers, with no save and no restart")
    func heals() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        server.beginStorm(StormPolicy(fraction: 1, seed: 1))
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(
            temp,
            server: server,
            extra: ["--max-attempts", "2", "--settle", "0"],
            // The chapters that wait for the API give up after 3 s, not 10 min.
            environment: ["COURSEGEN_TEST_RETRY_SCALE": "0.02", "COURSEGEN_TEST_OUTAGE_SCALE": "0.005"]
        )
        try await daemon.waitForLines(containing: "failed chapters will be tried again")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.isEmpty)
        // The outage goes on: the next try fails too, and the one after waits longer.
        try await daemon.waitForLines(containing: "failed chapters will be tried again", count: 2)
        #expect(daemon.lines(containing: "failed chapters will be tried again").last?.contains("failed_tries=2") == true)
        server.endStorm()
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
        // One line when a retry run starts and its own end line: the timer does not fire again
        // while the run it started is in progress (it used to, thousands of times a second).
        let tries = daemon.lines(containing: "trying failed chapters again").count
        let scheduled = daemon.lines(containing: "failed chapters will be tried again").count
        #expect(tries >= 2)
        #expect(tries <= scheduled, "each scheduled retry starts one run, once")
        // Per retry run: its start and end lines, the run's own lines, and at most two attempt
        // lines per chapter (--max-attempts 2).
        let lines = result.standardError.split(separator: "\n").count
        #expect(lines <= 20 + tries * (5 + 3 * 2), "\(lines) log lines for \(tries) retry runs")
    }

    @Test("a restart in the middle of the retry schedule continues it instead of starting over")
    func restartContinuesSchedule() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        server.beginStorm(StormPolicy(fraction: 1, seed: 1))
        try temp.write("inbox/course.md", watchedOutline())
        let arguments = ["--max-attempts", "1", "--settle", "0"]
        // Waits of 3 to 6 s (longer under a sanitizer): long enough to still be ahead when the
        // daemon is back.
        // The chapters that wait for the API give up after 3 s, not 10 min.
        let environment = [
            "COURSEGEN_TEST_RETRY_SCALE": "\(0.1 * TestTime.scale)", "COURSEGEN_TEST_OUTAGE_SCALE": "0.005",
        ]
        let first = try watch(temp, server: server, extra: arguments, environment: environment)
        try await first.waitForLines(containing: "failed chapters will be tried again")
        first.signal(SIGTERM)
        _ = await first.wait()
        server.endStorm()
        let requestsBefore = server.statistics.chapterRequestCount

        let second = try watch(temp, server: server, extra: arguments, environment: environment)
        try await second.waitForLines(containing: "failed chapters are tried again at their time")
        #expect(server.statistics.chapterRequestCount == requestsBefore, "nothing is sent before its time")
        try await second.waitForLines(containing: "outline published  outline=course")
        second.signal(SIGTERM)
        let result = await second.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        let lines = result.standardError.split(separator: "\n")
        let waited = try #require(lines.firstIndex { $0.contains("failed chapters are tried again at their time") })
        let tried = try #require(lines.firstIndex { $0.contains("trying failed chapters again") })
        #expect(waited < tried)
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
    }

    @Test("status --json shows each failed chapter's error and the time of the next try")
    func statusShowsNextTry() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.contains("Chapter to write: Chapter 2") ? .status(code: 500) : .success()
        }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(
            temp,
            server: server,
            extra: ["--max-attempts", "1", "--settle", "0"],
            environment: ["COURSEGEN_TEST_RETRY_SCALE": "10"]
        )
        try await daemon.waitForLines(containing: "failed chapters will be tried again")
        // The page and the JSON are written together, from one model, after the retry time.
        try await waitUntil("the page says waiting-to-retry") {
            temp.read("out/course/STATUS.md")?.contains("Phase: `waiting-to-retry`") == true
        }
        let status = try await Binary.run(["status", "--json", "--state", "state"], directory: temp.path)
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        try await server.shutdown()
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [[String: Any]]
        )
        let course = try #require(json.first)
        #expect(course["nextTry"] as? String != nil)
        let failed = try #require(course["failed"] as? [[String: Any]])
        #expect(failed.first?["chapter"] as? Int == 2)
        #expect((failed.first?["error"] as? String)?.contains("HTTP 500") == true)
        #expect(failed.first?["needsAuthor"] as? Bool == false)
    }

    @Test("the status line shows chapters being written and the words so far", arguments: [
        (Engine.Progress(outline: "rust", total: 12, ready: 7, failed: 0, retrying: 1, writing: 3, words: 2140),
         "Generating rust: 7/12 chapters, 3 writing (2.1k words so far), 1 retrying"),
        (Engine.Progress(outline: "rust", total: 4, ready: 1, failed: 1, retrying: 0, writing: 1, words: 950),
         "Generating rust: 1/4 chapters, 1 writing (950 words so far), 1 failed"),
        (Engine.Progress(outline: "rust", total: 4, ready: 4), "Generating rust: 4/4 chapters"),
    ])
    func statusLine(progress: Engine.Progress, line: String) {
        #expect(DaemonStatus.describe(progress) == line)
    }

    @Test("the retry schedule: within a minute, then 2, 4, 8... minutes, capped at an hour, from the upper half")
    func retrySchedule() {
        #expect(RetrySchedule.delay(afterFailedTries: 1, unit: 0) == .seconds(30))
        #expect(RetrySchedule.delay(afterFailedTries: 1, unit: 1) == .seconds(60))
        #expect(RetrySchedule.delay(afterFailedTries: 2, unit: 1) == .seconds(120))
        #expect(RetrySchedule.delay(afterFailedTries: 4, unit: 0) == .seconds(240))
        #expect(RetrySchedule.delay(afterFailedTries: 7, unit: 1) == .seconds(3600))
        #expect(RetrySchedule.delay(afterFailedTries: 1000, unit: 0.5) == .seconds(2700))
    }
}

@Suite("Each chapter published as it arrives", .serialized)
struct ProgressivePublishingTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// Waits until `condition` holds for the folder's file names (checked every few milliseconds:
    /// the folder is written by another process), given up only after `TestTime.hangGuard`.
    func waitUntil(_ temp: TemporaryFolder, _ folder: String, _ condition: ([String]) -> Bool) async throws {
        try await CoursegenTests.waitUntil("\(folder) is as expected; it holds \(temp.list(folder))") {
            condition(temp.list(folder))
        }
    }

    @Test("a renumbering goes out first, whole; then each chapter as it is stored; a reader never sees a partial file, two numberings or a dangling link")
    func progressive() async throws {
        let temp = try TemporaryFolder()
        let newChapter = FakeGeminiServer.Gate()
        let editedChapter = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { request in
            if request.prompt.contains("Chapter to write: Prologue") { return .success().held(by: newChapter) }
            if request.prompt.contains("Point c2") { return .success().held(by: editedChapter) }
            return .success()
        }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        let arguments = ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL]
        let environment = ["GEMINI_API_KEY": key]
        try temp.write("course.md", watchedOutline(["a", "b", "c"]))
        let first = try await Binary.run(arguments, environment: environment, directory: temp.path)
        #expect(first.status == 0)

        // A new first chapter renumbers everything; chapter 3 (now 4) is edited.
        try temp.write(
            "course.md",
            "# Watched Course\n\n## Prologue\n- Point p\n" + watchedOutline(["a", "b", "c2"]).dropFirst("# Watched Course\n".count)
        )
        let run = try Binary.start(arguments, environment: environment, directory: temp.path)
        // The new numbering is published at once, with the texts already stored; the edited
        // chapter keeps its previous version meanwhile; the new one is a draft in SUMMARY.md.
        try await waitUntil(temp, "out/course") { $0.contains("04-chapter-3.md") }
        #expect(!temp.list("out/course").contains("01-prologue.md"))
        #expect(temp.read("out/course/04-chapter-3.md")?.contains("Point c\n") == true)
        #expect(temp.read("out/course/SUMMARY.md")?.contains("- [Prologue]()") == true)

        newChapter.open()
        try await waitUntil(temp, "out/course") { $0.contains("01-prologue.md") }
        #expect(temp.read("out/course/04-chapter-3.md")?.contains("Point c\n") == true, "still the previous version")
        editedChapter.open()
        let result = await run.wait()
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError.suffix(1000))")
        #expect(result.standardOutput.contains("2 generated"))
        #expect(temp.read("out/course/04-chapter-3.md")?.contains("Point c2") == true)
        #expect(temp.read("out/course/SUMMARY.md")?.contains("- [Prologue](01-prologue.md)") == true)
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        #expect(seen.scans > 0)
    }
}
