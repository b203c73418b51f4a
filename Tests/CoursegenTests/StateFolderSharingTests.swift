import FakeGemini
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two coursegen processes on one state folder: a second daemon is refused, and `generate`
/// beside the daemon pays for no chapter twice, whichever asked first.
@Suite("Two processes on one state folder, the real binary", .serialized)
struct StateFolderSharingTests {
    let key = FakeGeminiServer.defaultAPIKey
    static let waiting = "waiting for another coursegen process that is asking for this chapter"

    func startWatching(
        _ temp: TemporaryFolder,
        server: FakeGeminiServer,
        inbox: String = "inbox",
        output: String = "out"
    )
        throws -> Binary.Running
    {
        try Binary.start(
            [
                "watch", "--inbox", inbox, "--output", output, "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
    }

    func startGenerating(_ temp: TemporaryFolder, server: FakeGeminiServer) throws -> Binary.Running {
        try Binary.start(
            ["generate", "inbox/course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
    }

    func waitUntil(_ server: FakeGeminiServer, _ condition: @escaping @Sendable (FakeGeminiServer.Statistics) -> Bool)
        async throws
    {
        try await server.waitUntil(condition)
    }

    /// Waits until `process` has said `chapters` times that it waits for the other process, or
    /// the server has seen more than `chapters` requests (it asked again: the assertions that
    /// follow then say so).
    func waitForWaitingOrAskingAgain(_ process: Binary.Running, server: FakeGeminiServer, chapters: Int)
        async throws
    {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await process.waitForLines(containing: Self.waiting, count: chapters) }
            group.addTask { try await self.waitUntil(server) { $0.chapterRequestCount > chapters } }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    @Test("a second watch on the same state folder exits 78 at start, naming the first's PID, and sends nothing")
    func secondDaemonRefused() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        // Chapters only the second daemon would see: it would ask for them if it ran.
        try temp.write("inbox2/other.md", watchedOutline(["x", "y", "z"]))
        let first = try startWatching(temp, server: server)
        try await first.waitForLines(containing: "outline published  outline=course")
        #expect(server.statistics.chapterRequestCount == 3)

        let second = try startWatching(temp, server: server, inbox: "inbox2", output: "out2")
        let refused = await second.wait()
        #expect(refused.status == 78, "\(refused.standardError.suffix(1500))")
        #expect(
            refused.standardError.contains("another coursegen watch (PID \(first.pid))"),
            "\(refused.standardError)"
        )
        #expect(refused.standardError.contains("\(temp.path)/state"))
        #expect(refused.standardError.contains("--state"))
        #expect(server.statistics.chapterRequestCount == 3, "the second daemon sent nothing")
        #expect(temp.list("out2").isEmpty, "and wrote nothing into its output")

        first.signal(SIGTERM)
        let result = await first.wait()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
    }

    @Test("generate of an outline the daemon is writing asks for nothing: it waits for the daemon's answers")
    func generateBesideDaemon() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("inbox/course.md", outlineText(chapters: 8))
        let daemon = try startWatching(temp, server: server)
        try await waitUntil(server) { $0.inFlight == 8 }

        let generate = try startGenerating(temp, server: server)
        try await waitForWaitingOrAskingAgain(generate, server: server, chapters: 8)
        #expect(generate.lines(containing: "cache_id=").count >= 8, "each line names its chapter")
        gate.open()
        let generated = await generate.wait()
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        let stopped = await daemon.wait()
        try await server.shutdown()

        #expect(generated.status == 0, "\(generated.standardError.suffix(1500))")
        #expect(generated.standardOutput.contains("(8 reused from the cache)"), "\(generated.standardOutput)")
        #expect(generate.lines(containing: Self.waiting).count == 8, "one line per chapter, not per poll")
        #expect(stopped.status == 0, "\(stopped.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 8, "each chapter paid once")
        #expect(
            temp.list("out/course").filter { $0.hasSuffix(".md") && $0 != "SUMMARY.md" && $0 != "STATUS.md" }.count == 8
        )
        #expect(temp.list("state/inflight").isEmpty)
    }

    @Test("the daemon catching up on an outline generate is writing asks for nothing: it waits for generate's answers")
    func daemonBesideGenerate() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("inbox/course.md", outlineText(chapters: 8))
        let generate = try startGenerating(temp, server: server)
        try await waitUntil(server) { $0.inFlight == 8 }

        let daemon = try startWatching(temp, server: server)
        try await waitForWaitingOrAskingAgain(daemon, server: server, chapters: 8)
        gate.open()
        let generated = await generate.wait()
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        let stopped = await daemon.wait()
        try await server.shutdown()

        #expect(generated.status == 0, "\(generated.standardError.suffix(1500))")
        #expect(generated.standardOutput.contains("(8 generated)"), "\(generated.standardOutput)")
        #expect(stopped.status == 0, "\(stopped.standardError.suffix(1500))")
        #expect(daemon.lines(containing: Self.waiting).count == 8, "one line per chapter, not per poll")
        #expect(server.statistics.chapterRequestCount == 8, "each chapter paid once")
        #expect(
            temp.list("out/course").filter { $0.hasSuffix(".md") && $0 != "SUMMARY.md" && $0 != "STATUS.md" }.count == 8
        )
    }

    @Test("a process killed while asking for chapters leaves no lock: the other asks for them and publishes")
    func killedHolder() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("inbox/course.md", outlineText(chapters: 8))
        let daemon = try startWatching(temp, server: server)
        try await waitUntil(server) { $0.inFlight == 8 }
        let generate = try startGenerating(temp, server: server)
        try await generate.waitForLines(containing: Self.waiting, count: 8)

        // The daemon dies holding every chapter's lock; the kernel releases them.
        daemon.signal(SIGKILL)
        _ = await daemon.wait()
        try await waitUntil(server) { $0.chapterRequestCount == 16 && $0.inFlight == 8 }
        gate.open()
        let generated = await generate.wait()
        try await server.shutdown()

        #expect(generated.status == 0, "\(generated.standardError.suffix(1500))")
        #expect(generated.standardOutput.contains("(8 generated)"), "\(generated.standardOutput)")
        #expect(server.statistics.chapterRequestCount == 16, "the killed daemon's 8, then generate's 8")
        #expect(
            temp.list("out/course").filter { $0.hasSuffix(".md") && $0 != "SUMMARY.md" && $0 != "STATUS.md" }.count == 8
        )
        #expect(temp.list("state/inflight").isEmpty, "the killed daemon's lock files were taken and removed")
    }
}
