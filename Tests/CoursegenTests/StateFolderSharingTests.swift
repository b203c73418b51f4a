import FakeGemini
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two coursegen processes on one state folder: a second daemon is refused.
@Suite("Two processes on one state folder, the real binary", .serialized)
struct StateFolderSharingTests {
    let key = FakeGeminiServer.defaultAPIKey

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
        let refused = await second.wait(timeout: .seconds(30))
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
}
