import Foundation
import TestSupport
import Testing
import Watcher

@testable import Generation
@testable import coursegen
@testable import Providers

/// The daemon's decisions as tables, as `PlanTests` pins the engine's.
@Suite("What the daemon does with an outline, and with a run's end")
struct CourseDecisionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let later = RetryTime(at: now.addingTimeInterval(60), failedTries: 2)
    static let past = RetryTime(at: now.addingTimeInterval(-60), failedTries: 2)
    static let problem = CourseStatus.OutlineProblem(file: "a.md", line: 3, message: "bad", text: nil)

    static func parsed(_ digest: String = "v2", upToDate: Bool = false, retry: RetryTime? = nil) -> CourseDecision.Read
    {
        .parsed(digest: digest, isUpToDate: upToDate, keptRetry: retry)
    }

    static let rows: [(String, CourseDecision.Reason, CourseDecision.Read, String?, CourseDecision)] = [
        (
            "a file coursegen wrote is ignored", .save, .writtenByCoursegen, nil,
            .ignore(why: "a file coursegen wrote (a chapter, SUMMARY.md or a status page) is no outline")
        ),
        (
            "a path now outside the inbox is ignored", .save, .outsideInbox, "v1",
            .ignore(why: "the outline now resolves outside the inbox")
        ),
        (
            "an unreadable outline is reported, even while its run goes on", .save, .unreadable(problem), "v1",
            .unreadable(problem)
        ),
        (
            "a refused folder names its owner", .catchUp, .refused(owner: "/in/a.yaml"), nil,
            .refused(owner: "/in/a.yaml")
        ),
        ("the same text while its run goes on: that run covers it", .save, parsed("v1"), "v1", .coveredByRun),
        (
            "a newer text while a run goes on: a new run, settled", .save, parsed("v2", upToDate: true), "v1",
            .start(settles: true, retriesBudgetSkips: true, batches: true)
        ),
        ("up to date, nothing running: nothing to do", .save, parsed(upToDate: true), nil, .upToDate),
        ("up to date at a retry: nothing to do", .retry, parsed(upToDate: true, retry: later), nil, .upToDate),
        ("catch-up before a kept retry time: wait for it", .catchUp, parsed(retry: later), nil, .waitForRetry(later)),
        (
            "catch-up after a kept retry time: start at once", .catchUp, parsed(retry: past), nil,
            .start(settles: false, retriesBudgetSkips: false, batches: true)
        ),
        (
            "a save ignores a kept retry time and settles", .save, parsed(retry: later), nil,
            .start(settles: true, retriesBudgetSkips: true, batches: true)
        ),
        (
            "a retry starts at once, spending no fresh budget, as ordinary requests (never a batch job)", .retry,
            parsed(), nil, .start(settles: false, retriesBudgetSkips: false, batches: false)
        ),
        (
            "a reload starts at once, spending no fresh budget", .reload, parsed(retry: later), nil,
            .start(settles: false, retriesBudgetSkips: false, batches: true)
        ),
    ]

    @Test("decisions", arguments: rows)
    func decide(_ row: (String, CourseDecision.Reason, CourseDecision.Read, String?, CourseDecision)) {
        let decision = CourseDecision.decide(row.1, read: row.2, runningDigest: row.3, now: Self.now)
        #expect(decision == row.4, "\(row.0)")
    }

    static func report(_ outcomes: [RunReport.Chapter.Outcome], failures: [ProviderError?] = []) -> RunReport {
        RunReport(
            outline: "a",
            folder: "/out/a",
            chapters: outcomes.enumerated().map { index, outcome in
                RunReport.Chapter(
                    position: index + 1,
                    title: "C\(index + 1)",
                    file: nil,
                    outcome: outcome,
                    failure: index < failures.count ? failures[index] : nil
                )
            },
            usage: Usage(),
            cost: CostEstimate(unpriced: Usage()),
            budget: nil,
            backups: [:]
        )
    }

    static let refused = SubmissionStop(reason: .refused, error: ProviderError(.stopEverything, "key"), until: nil)
    static let overload = ProviderError(.retry, "overloaded", httpStatus: 503)
    static let blocked = ProviderError(.fatal, "blockReason SAFETY")
    static let badKey = ProviderError(.stopEverything, "API key not valid")

    static let ends: [(String, RunOutcome.End, SubmissionStop?, Bool, RunOutcome)] = [
        (
            "all published", .completed(report([.generated, .unchanged])), nil, false,
            RunOutcome(problem: nil, retry: .clear)
        ),
        ("cancelled by a save: says nothing", .cancelled, nil, false, RunOutcome(problem: nil, retry: .keep)),
        (
            "cancelled by the stop timeout: stopped", .cancelled, nil, true,
            RunOutcome(problem: nil, retry: .keep, stoppedWith: 4)
        ),
        (
            "stopped with chapters unwritten: no retry schedule",
            .completed(report([.generated, .interrupted(keptPrevious: false)])), nil, true,
            RunOutcome(problem: nil, retry: .keep, stoppedWith: 2)
        ),
        (
            "only skipped for budget",
            .completed(report([.generated, .skippedForBudget("over", keptPrevious: false)])), nil, false,
            RunOutcome(problem: .overBudget, retry: .clear)
        ),
        (
            "overloaded: the schedule's next try",
            .completed(report([.failed("503", keptPrevious: false)], failures: [overload])), nil, false,
            RunOutcome(problem: .failedChapters(needsAuthor: false), retry: .schedule)
        ),
        (
            "blocked: the author, no retry",
            .completed(report([.failed("blocked", keptPrevious: false)], failures: [blocked])), nil, false,
            RunOutcome(problem: .failedChapters(needsAuthor: true), retry: .clear)
        ),
        (
            "a refused key lifted by a reload meanwhile: at once",
            .completed(report([.failed("key", keptPrevious: false)], failures: [badKey])), nil, false,
            RunOutcome(problem: .failedChapters(needsAuthor: false), retry: .keep, tryAgainNow: true)
        ),
        (
            "a refused key still in force: no retry",
            .completed(report([.failed("503", keptPrevious: false)], failures: [overload])), refused, false,
            RunOutcome(problem: .failedChapters(needsAuthor: false), retry: .clear)
        ),
        (
            "could not publish: retried", .failed, nil, false,
            RunOutcome(problem: .failedChapters(needsAuthor: false), retry: .schedule)
        ),
        (
            "could not publish, key refused: no retry", .failed, refused, false,
            RunOutcome(problem: .failedChapters(needsAuthor: false), retry: .clear)
        ),
    ]

    @Test("what a run's end means", arguments: ends)
    func after(_ row: (String, RunOutcome.End, SubmissionStop?, Bool, RunOutcome)) {
        #expect(RunOutcome.after(row.1, chapters: 4, stop: row.2, draining: row.3) == row.4, "\(row.0)")
    }

    static func course(_ problem: Course.Problem? = nil, retry: RetryTime? = nil, running: Bool = false) -> Course {
        var course = Course(file: InboxFile(path: "/in/a.md", relativePath: "a.md"))
        course.problem = problem
        course.retry = retry
        if running {
            course.run = (
                1, "d", Engine.Progress(outline: "a", total: 12, ready: 7, retrying: 1, writing: 3, words: 2100)
            )
        }
        return course
    }

    @Test(
        "the status line counts what needs whom",
        arguments: [
            ([course(), course()], nil, "Watching /in: 2 courses up to date"),
            ([course(running: true)], nil, "Generating a: 7/12 chapters, 3 writing (2.1k words so far), 1 retrying"),
            (
                [course(.failedChapters(needsAuthor: false), retry: later), course()], nil,
                "Watching /in: 1 course up to date, 1 to retry (next at"
            ),
            (
                [course(.unreadable(problem)), course(.folderOwned(owner: "/in/b.md"))], nil,
                "0 courses up to date, 2 need their author"
            ),
            ([course(.overBudget)], nil, "1 over budget"),
            ([course()], refused, "Stopped: key; fix the key or model, then reload"),
        ] as [([Course], SubmissionStop?, String)]
    )
    func line(courses: [Course], stop: SubmissionStop?, expected: String) {
        let line = DaemonStatus.line(inbox: "/in", courses: courses, stop: stop, limit: nil)
        #expect(line.contains(expected), "\(line)")
    }

    @Test(
        "the status line says why fewer requests are in flight: the API's overload, or what a local server showed",
        arguments: [
            ((2, 8, nil), "(API overloaded: 2 of 8 requests in flight)"),
            ((3, 8, "the server queues more"), "(the server queues more: 3 of 8 requests in flight)"),
            ((1, 8, "the server serves fewer at once"), "(the server serves fewer at once: 1 of 8 requests in flight)"),
            ((8, 8, nil), "Generating a: 7/12 chapters, 3 writing (2.1k words so far), 1 retrying"),
        ] as [((Int, Int, String?), String)]
    )
    func limitLine(limit: (Int, Int, String?), expected: String) {
        let line = DaemonStatus.line(inbox: "/in", courses: [Self.course(running: true)], stop: nil, limit: limit)
        #expect(line.contains(expected), "\(line)")
        #expect(limit.0 < limit.1 || !line.contains("in flight)"))
    }

    @Test("a course refused for its folder has no page of its own; a removed one says so; a run says generating")
    func pages() {
        let owned = DaemonStatus.page(
            Self.course(.folderOwned(owner: "/in/b.md")),
            base: nil,
            folder: "/out/a",
            rivals: [],
            stop: nil,
            now: Self.now
        )
        #expect(owned == nil)
        var removed = Self.course()
        removed.removed = true
        #expect(
            DaemonStatus.page(removed, base: nil, folder: "/out/a", rivals: [], stop: nil, now: Self.now)?.phase
                == .removed
        )
        let running = DaemonStatus.page(
            Self.course(running: true),
            base: nil,
            folder: "/out/a",
            rivals: ["/in/a.yaml"],
            stop: nil,
            now: Self.now
        )
        #expect(running?.phase == .generating && running?.progress?.ready == 7 && running?.refused.count == 1)
        #expect(running?.watched == true)
    }

    @Test("the retry timer fires once at its time, a replaced time never, and stop waits for every sleep")
    func retryTimer() async throws {
        let clock = ManualClock()
        let start = Self.now
        let timer = RetryTimer(clock: clock, now: { start })
        let fired = AsyncStream<Int>.makeStream()
        var sleeps = clock.sleeps.makeAsyncIterator()
        await timer.set(start.addingTimeInterval(30)) { fired.continuation.yield(1) }
        #expect(await sleeps.next() == .seconds(30))
        await timer.set(start.addingTimeInterval(60)) { fired.continuation.yield(2) }
        #expect(await sleeps.next() == .seconds(60))
        clock.advance(by: .seconds(60))
        var iterator = fired.stream.makeAsyncIterator()
        #expect(await iterator.next() == 2)
        await timer.set(start.addingTimeInterval(600)) { fired.continuation.yield(3) }
        #expect(await sleeps.next() == .seconds(600))
        await timer.stop()
        fired.continuation.finish()
        #expect(await iterator.next() == nil, "the replaced and the stopped timers never fire")
    }
}
