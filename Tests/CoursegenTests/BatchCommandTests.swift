import FakeGemini
import FakeServerKit
import Foundation
import Platform
import TestSupport
import Testing

@testable import Generation

#if canImport(Glibc)
    import Glibc
#endif

@Suite("coursegen generate --batch, the real binary")
struct BatchCommandTests {
    let key = FakeGeminiServer.defaultAPIKey
    /// Polls 10 ms apart at first instead of 10 s (at most 300 ms instead of 5 min).
    var environment: [String: String] { ["GEMINI_API_KEY": key, "COURSEGEN_TEST_BATCH_POLL_SCALE": "0.001"] }

    static func arguments(_ server: FakeGeminiServer) -> [String] {
        ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL, "--batch"]
    }

    /// Every request the server saw was the model check, the one create, or a poll.
    static func onlyBatchRequests(_ server: FakeGeminiServer) -> [String] {
        server.statistics.requests.map { "\($0.method) \($0.path)" }.filter { request in
            !(request.hasPrefix("GET /v1beta/models/") && !request.contains(":"))
                && !request.hasSuffix(":batchGenerateContent") && !request.hasPrefix("GET /v1beta/batches/")
        }
    }

    @Test("on 20 chapters: one job, no other request (the model check aside), all 20 published, nothing left to poll")
    func twentyChapters() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(pending: .milliseconds(30), running: .milliseconds(30))
        let server = try await FakeGeminiServer.start(configuration)
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: 20))
        let result = try await Binary.run(Self.arguments(server), environment: environment, directory: temp.path)
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("(20 generated)"), "\(result.standardOutput)")
        #expect(server.batches.createdCount == 1)
        #expect(Self.onlyBatchRequests(server).isEmpty, "\(Self.onlyBatchRequests(server))")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 20)
        #expect(try StateDirectory(path: "\(temp.path)/state").batchJobs().isEmpty)
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        #expect(!result.standardError.contains(key) && !result.standardOutput.contains(key))

        // Half the price of the same chapters streamed one request each.
        let streamedServer = try await FakeGeminiServer.start()
        try temp.write("streamed/course.md", outlineText(chapters: 20))
        let streamed = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", streamedServer.baseURL],
            environment: environment,
            directory: "\(temp.path)/streamed"
        )
        try await streamedServer.shutdown()
        #expect(streamed.status == 0, "\(streamed.standardError.suffix(1500))")
        let batchCost = try await Self.estimatedCost(in: temp.path)
        let streamedCost = try await Self.estimatedCost(in: "\(temp.path)/streamed")
        #expect(streamedCost > 0)
        #expect(abs(batchCost - streamedCost / 2) < 1e-12, "batch \(batchCost), streamed \(streamedCost)")
    }

    /// The estimated cost in dollars `status --json` gives for the one course of the state folder in `folder`.
    static func estimatedCost(in folder: String) async throws -> Double {
        let json = try await Binary.run(["status", "--state", "state", "--json"], directory: folder)
        let courses = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
        let cost = try #require(courses.first?["cost"] as? [String: Any])
        return try #require(cost["dollars"] as? Double)
    }

    @Test("SIGKILL while the job runs, then a rerun: the rerun polls the same job and creates no second one")
    func killAndRerun() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(held: true)
        let server = try await FakeGeminiServer.start(configuration)
        try temp.write("course.md", outlineText(chapters: 20))
        let running = try Binary.start(Self.arguments(server), environment: environment, directory: temp.path)
        try await running.waitForLines(containing: "batch job created")
        running.signal(SIGKILL)
        let killed = await running.wait()
        #expect(killed.wasKilled)
        try await ReliabilityTests.killedProcessCounted(by: server)
        // The job's name was kept before anything else happened to it.
        let kept = try StateDirectory(path: "\(temp.path)/state").batchJobs()
        #expect(kept.map(\.name) == server.batches.names)
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.isEmpty)
        // coursegen status shows the pending job.
        let status = try await Binary.run(["status", "--state", "state"], directory: temp.path)
        #expect(
            status.standardOutput.contains("\(server.batches.names[0]): running, 20 chapters of course"),
            "\(status.standardOutput)"
        )

        server.batches.release()
        let rerun = try await Binary.run(Self.arguments(server), environment: environment, directory: temp.path)
        try await server.shutdown()
        #expect(rerun.status == 0, "\(rerun.standardError)")
        #expect(rerun.standardError.contains("polling the batch job made for these chapters before"))
        #expect(server.batches.createdCount == 1)
        #expect(Self.onlyBatchRequests(server).isEmpty, "\(Self.onlyBatchRequests(server))")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 20)
        #expect(try StateDirectory(path: "\(temp.path)/state").batchJobs().isEmpty)
    }

    @Test("SIGTERM leaves the job running and exits 143; the next run finishes it without a second job")
    func sigtermLeavesTheJob() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(held: true)
        let server = try await FakeGeminiServer.start(configuration)
        try temp.write("course.md", outlineText(chapters: 4))
        let running = try Binary.start(Self.arguments(server), environment: environment, directory: temp.path)
        try await running.waitForLines(containing: "batch job created")
        running.signal(SIGTERM)
        let stopped = await running.wait()
        #expect(stopped.status == 143, "\(stopped.standardError)")
        #expect(try StateDirectory(path: "\(temp.path)/state").batchJobs().count == 1)

        server.batches.release()
        let rerun = try await Binary.run(Self.arguments(server), environment: environment, directory: temp.path)
        try await server.shutdown()
        #expect(rerun.status == 0, "\(rerun.standardError)")
        #expect(server.batches.createdCount == 1)
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 4)
    }

    @Test("--batch and batch-over with --provider openai are refused before any request, exit 78")
    func openAIRefused() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 2))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--provider", "openai", "--model", "m",
                "--base-url", "http://127.0.0.1:9", "--batch",
            ],
            environment: [:],
            directory: temp.path
        )
        #expect(result.status == 78, "\(result.standardError)")
        #expect(result.standardError.contains("--batch needs --provider gemini"))

        try temp.write("inbox/course.md", outlineText(chapters: 2))
        let daemon = try await Binary.run(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--provider", "openai", "--model",
                "m",
                "--base-url", "http://127.0.0.1:9", "--batch-over", "3",
            ],
            environment: [:],
            directory: temp.path
        )
        #expect(daemon.status == 78, "\(daemon.standardError)")
        #expect(daemon.standardError.contains("batch-over needs provider gemini"))
    }

    @Test(
        "the daemon's batch-over: a catch-up of 5 chapters over 3 goes as one job shown on the status page; SIGTERM leaves it, the next start polls it"
    )
    func daemonBatchOver() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(held: true)
        let server = try await FakeGeminiServer.start(configuration)
        try temp.write("inbox/course.md", outlineText(chapters: 5))
        let arguments = [
            "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--debounce-ms", "100", "--settle", "0", "--batch-over", "3",
        ]
        let first = try Binary.start(arguments, environment: environment, directory: temp.path)
        try await first.waitForLines(containing: "batch job created")
        try await waitUntil("the status page shows the job") {
            temp.read("out/course/STATUS.md")?.contains("0 of 5 chapters ready, 5 of 5 in a batch job, submitted")
                == true
        }
        first.signal(SIGTERM)
        let stopped = await first.wait()
        #expect(stopped.status == 0, "\(stopped.standardError)")
        #expect(try StateDirectory(path: "\(temp.path)/state").batchJobs().count == 1)

        server.batches.release()
        let second = try Binary.start(arguments, environment: environment, directory: temp.path)
        try await second.waitForLines(containing: "outline published  outline=course")
        second.signal(SIGTERM)
        _ = await second.wait()
        try await server.shutdown()
        #expect(server.batches.createdCount == 1)
        #expect(Self.onlyBatchRequests(server).isEmpty, "\(Self.onlyBatchRequests(server))")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 5)
    }
}
