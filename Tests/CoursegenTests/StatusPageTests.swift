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

/// What an author reads in `OUTPUT/<course>/STATUS.md` under `watch`, without the journal.
@Suite("The status page beside the chapters", .serialized)
struct StatusPageTests {
    let key = FakeGeminiServer.defaultAPIKey

    func watch(
        _ temp: TemporaryFolder,
        server: FakeGeminiServer,
        extra: [String] = [],
        environment: [String: String] = [:]
    ) throws -> Binary.Running {
        try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ] + extra,
            environment: ["GEMINI_API_KEY": key].merging(environment) { $1 },
            directory: temp.path
        )
    }

    /// Waits until the page exists and `condition` holds for it (the page is written by another
    /// process: checked every few milliseconds), and returns it; given up only after
    /// `TestTime.hangGuard`.
    @discardableResult
    func page(
        _ temp: TemporaryFolder,
        _ course: String = "course",
        until condition: (String) -> Bool
    ) async throws -> String {
        var page = ""
        let path = "out/\(course)/STATUS.md"
        try await waitUntil("the page is as expected; it says: \(temp.read(path) ?? "(no page)")") {
            guard let text = temp.read(path), condition(text) else { return false }
            page = text
            return true
        }
        return page
    }

    @Test("while a slow chapter is in flight the page says what is ready and what is being written; then up to date, with the model and what it spent; a reader never sees it partial")
    func generatingThenUpToDate() async throws {
        let temp = try TemporaryFolder()
        let slow = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.contains("Chapter to write: Chapter 2") ? .success().held(by: slow) : .success()
        }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(temp, server: server)

        let generating = try await page(temp) { $0.contains("2 of 3 chapters ready") }
        #expect(generating.contains("**Generating**"))
        #expect(generating.contains("1 asked for (the model is thinking, or busy)"))
        #expect(generating.contains("- Chapters: 3 in the outline, 2 up to date"))
        #expect(generating.contains("Phase: `generating`"))
        #expect(temp.list("out/course").contains("01-chapter-1.md"), "chapters appear as they are finished")

        slow.open()
        let done = try await page(temp) { $0.contains("Phase: `up-to-date`") }
        #expect(done.contains("**Up to date**: every chapter of the outline is published."))
        #expect(done.contains("with gemini-3.8-flash"))
        #expect(done.contains("- Chapters: 3 in the outline, 3 up to date"))
        #expect(done.contains("over 3 requests; estimated cost $0.0"))
        #expect(!done.contains(key), "the page never carries the API key")
        let summary = try #require(temp.read("out/course/SUMMARY.md"))
        #expect(!summary.contains("STATUS"), "mdBook leaves the page out of the book")

        // The JSON for tools comes from the same model.
        let status = try await Binary.run(["status", "--json", "--state", "state"], directory: temp.path)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let courses = try decoder.decode([CourseStatus].self, from: Data(status.standardOutput.utf8))
        let course = try #require(courses.first { $0.outline == "course" })
        #expect(course.phase == .upToDate)
        #expect(course.model == "gemini-3.8-flash")
        #expect(course.requests == 3)

        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        let pagesRead = monitor.pagesRead
        let (violations, _) = await monitor.finishWatching()
        #expect(violations.isEmpty, "\(violations)")
        #expect(pagesRead > 0, "the reader did read the page")
    }

    @Test("a chapter the safety filter blocks is named on the page, with what to do; the others are published")
    func blockedChapter() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.contains("Chapter to write: Lock picking") ? .blockedPrompt() : .success()
        }
        try temp.write("inbox/course.md", "# Locks\n\n## History\n- Point a\n\n## Lock picking\n- Point b\n\n## Safes\n- Point c\n")
        let daemon = try watch(temp, server: server)
        let text = try await page(temp) { $0.contains("Phase: `needs-author`") }
        #expect(text.contains("**Needs you**"))
        #expect(text.contains("Chapter 2 \"Lock picking\": the safety filter blocked the request for this chapter"))
        #expect(text.contains("**What to do:** reword its title, points or notes"))
        #expect(temp.list("out/course").contains("03-safes.md"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
    }

    @Test("chapters that failed after their retries show the time of the next try; the page follows the recovery")
    func failedWithNextTry() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        server.beginStorm(StormPolicy(fraction: 1, seed: 1))
        try temp.write("inbox/course.md", watchedOutline())
        // Waits of 3 to 6 s before the next try.
        let daemon = try watch(
            temp,
            server: server,
            extra: ["--max-attempts", "1"],
            // The chapter that waits for the API gives up after 3 s, not 10 min.
            environment: ["COURSEGEN_TEST_RETRY_SCALE": "0.1", "COURSEGEN_TEST_OUTAGE_SCALE": "0.005"]
        )
        let waiting = try await page(temp) { $0.contains("Phase: `waiting-to-retry`") }
        #expect(waiting.contains("**Waiting to try again**"))
        #expect(waiting.contains("- Failed chapters are tried again at 20"))
        #expect(waiting.contains("the API was overloaded or too slow to answer"))
        #expect(waiting.contains("**What to do:** nothing to do: coursegen tries again on its own"))
        server.endStorm()
        try await page(temp) { $0.contains("Phase: `up-to-date`") }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
    }

    @Test("an outline with a typo in its front matter gets a page naming the line, in a folder made for it; the fix is picked up")
    func frontMatterTypo() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", "---\nlevle: beginner\n---\n" + watchedOutline())
        let daemon = try watch(temp, server: server)
        let text = try await page(temp) { $0.contains("Phase: `unreadable`") }
        #expect(text.contains("## The outline cannot be read"))
        #expect(text.contains("`course.md`, line 2"))
        #expect(text.contains("did you mean \\`level\\`?"))
        #expect(text.contains("```\nlevle: beginner\n```"))
        #expect(temp.list("out/course") == ["STATUS.md"], "nothing else is published")
        #expect(server.statistics.chapterRequestCount == 0)

        try Save.inPlace(course, "---\nlevel: beginner\n---\n" + watchedOutline())
        let fixed = try await page(temp) { $0.contains("Phase: `up-to-date`") }
        #expect(!fixed.contains("cannot be read"))
        #expect(temp.list("out/course").contains("book.toml"), "the first publish still gets its book.toml")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
    }

    @Test("a removed outline's page says so, and its chapters stay")
    func removedOutline() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(temp, server: server)
        try await page(temp) { $0.contains("Phase: `up-to-date`") }
        unlink(course)
        let text = try await page(temp) { $0.contains("Phase: `removed`") }
        #expect(text.contains("**Removed**: the outline is no longer in the inbox."))
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
    }

    @Test("an outline refused because another owns its folder is reported on the owner's page")
    func refusedOnOwnersPage() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(temp, server: server)
        try await page(temp) { $0.contains("Phase: `up-to-date`") }
        try temp.write("inbox/course.yaml", "title: Rival\nchapters:\n  - title: One\n")
        let text = try await page(temp) { $0.contains("## Other outlines refused for this folder") }
        #expect(text.contains("course.yaml`: it maps to this same folder"))
        #expect(text.contains("Phase: `up-to-date`"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
    }

    @Test("with desktop notifications on, a finished course and a broken outline each notify once through notify-send")
    func desktopNotifications() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        // A notify-send that records its arguments, one line each, a blank line after each call.
        let log = "\(temp.path)/notifications.log"
        let script = try temp.write(
            "bin/notify-send",
            "#!/bin/sh\nfor argument in \"$@\"; do printf '%s\\n' \"$argument\" >> '\(log)'; done\necho >> '\(log)'\n"
        )
        chmod(script, 0o755)
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(
            temp,
            server: server,
            extra: ["--desktop-notifications"],
            environment: [
                "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent", "PATH": "\(temp.path)/bin:/usr/bin:/bin",
            ]
        )
        try await page(temp) { $0.contains("Phase: `up-to-date`") }
        try Save.inPlace(course, "---\nlevle: beginner\n---\n" + watchedOutline())
        try await page(temp) { $0.contains("Phase: `unreadable`") }
        try await waitUntil("three notifications") {
            (temp.read("notifications.log") ?? "").components(separatedBy: "\n\n").count >= 3
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait().status == 0)
        try await server.shutdown()
        let calls = (temp.read("notifications.log") ?? "").components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(calls.count == 2, "\(calls)")
        #expect(calls.first?.contains("Watched Course is up to date") == true)
        #expect(calls.first?.contains("--urgency=normal") == true)
        #expect(calls.last?.contains("Watched Course: the outline cannot be read") == true)
        #expect(calls.last?.contains("course.md:2: unknown key `levle`") == true)
        #expect(calls.last?.contains("--urgency=critical") == true)
    }

    @Test("with desktop notifications on but no session bus, the daemon says so once and runs on")
    func desktopNotificationsWithoutBus() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(temp, server: server, extra: ["--desktop-notifications"])
        try await page(temp) { $0.contains("Phase: `up-to-date`") }
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(daemon.lines(containing: "there is no session bus").count == 1)
    }

    @Test("a page renders what it is given, escaping Markdown an outline's title or a message could carry")
    func rendering() throws {
        var status = CourseStatus(
            outline: "team/x",
            title: "<script>alert(1)</script> *bold*",
            source: "/inbox/team/x.md",
            folder: "/out/team/x",
            phase: .unreadable,
            updated: Date(timeIntervalSince1970: 0)
        )
        status.outlineError = .init(file: "x.md", line: 4, message: "unknown key `a` <b>", text: "a: ```x")
        let page = String(decoding: StatusPage.render(status), as: UTF8.self)
        #expect(page.hasPrefix("# Status of \"\\<script\\>alert(1)\\</script\\> \\*bold\\*\"\n"))
        #expect(page.contains("`x.md`, line 4: unknown key \\`a\\` \\<b\\>"))
        #expect(page.contains("````\na: ```x\n````"), "a fence no backtick run in the line can close")
        #expect(page.hasSuffix("Phase: `unreadable`._\n"))
        #expect(page.contains("at 1970-01-01 00:00 UTC;"))
    }
}
