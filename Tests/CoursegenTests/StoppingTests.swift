import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation

#if canImport(Glibc)
    import Glibc
#endif

/// Stopping spends nothing more: after SIGTERM or a first Ctrl-C no request is sent; the answers
/// in flight (paid for) are stored and published; the status page says the course stopped; the
/// next run asks only for what was never asked for.
@Suite("Stopping spends nothing more", .serialized)
struct StoppingTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// Waits until the fake has seen `count` chapter requests.
    private func waitForRequests(_ server: FakeGeminiServer, _ count: Int) async throws {
        try await server.waitUntil { $0.chapterRequestCount >= count }
    }

    @Test("SIGTERM to watch: no request is sent, the answers in flight are published, the page says stopped; the restart asks only for the rest")
    func watchStops() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("inbox/course.md", outlineText(chapters: 24))
        let arguments = [
            "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--settle", "0", "--concurrency", "4", "--stop-timeout", "60",
        ]
        let daemon = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        // Four requests in flight, held by the server: every slot is taken, so none is on its way.
        try await waitForRequests(server, 4)
        daemon.signal(SIGTERM)
        try await daemon.waitForLines(containing: "no new request is sent; waiting for the answers in flight")
        gate.open()
        let result = await daemon.wait()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 4, "no request after SIGTERM")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 4)
        let page = try #require(temp.read("out/course/STATUS.md"))
        #expect(page.contains("**Stopped**: coursegen stopped with 4 of 24 chapters written"), "\(page)")
        #expect(page.contains("when it starts again"))
        #expect(page.contains("Phase: `stopped`"))
        #expect(page.contains("over 4 requests"), "\(page)")

        let again = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        try await again.waitForLines(containing: "outline published  outline=course")
        again.signal(SIGTERM)
        let second = await again.wait()
        try await server.shutdown()
        #expect(second.status == 0)
        #expect(!second.standardError.contains("failed chapters are tried again at their time"))
        #expect(server.statistics.chapterRequestCount == 24, "the rest once; nothing paid twice")
        let final = temp.read("out/course/STATUS.md") ?? ""
        #expect(final.contains("Phase: `up-to-date`"), "\(final)\n\(second.standardError)")
    }

    @Test("a first Ctrl-C on generate stores the answers in flight and exits 130; the rerun asks only for chapters never asked for")
    func generateStopsOnCtrlC() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("course.md", outlineText(chapters: 12))
        let arguments = [
            "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--concurrency", "3",
        ]
        let running = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        try await waitForRequests(server, 3)
        running.signal(SIGINT)
        try await running.waitForLines(containing: "press Ctrl-C again to stop at once")
        #expect(running.standardError.contains("waiting up to 20 s for the 3 answers in flight"))
        gate.open()
        let stopped = await running.wait()
        #expect(stopped.status == 130, "\(stopped.standardError.suffix(1500))")
        #expect(stopped.standardError.contains("the next run asks only for the chapters not written yet"))
        #expect(stopped.standardOutput.contains("3 generated, 9 not written: stopped"), "\(stopped.standardOutput)")
        #expect(server.statistics.chapterRequestCount == 3)
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 3)
        let page = try #require(temp.read("out/course/STATUS.md"))
        #expect(page.contains("coursegen stopped with 3 of 12 chapters written"), "\(page)")
        #expect(page.contains("`coursegen generate` runs again"))

        let rerun = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        try await server.shutdown()
        #expect(rerun.status == 0, "\(rerun.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 12, "the nine never asked for, once")
    }

    @Test("a second Ctrl-C on generate stops at once, and says so")
    func secondCtrlC() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("course.md", outlineText(chapters: 6))
        let running = try Binary.start(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--concurrency", "2",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await waitForRequests(server, 2)
        running.signal(SIGINT)
        try await running.waitForLines(containing: "press Ctrl-C again to stop at once")
        running.signal(SIGINT)
        let result = await running.wait()
        gate.open()
        try await server.shutdown()
        #expect(result.status == 130)
        #expect(result.standardError.contains("stopped at once"))
        #expect(server.statistics.chapterRequestCount == 2)
    }
}
