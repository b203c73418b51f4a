import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A key the API refuses stops everything", .serialized)
struct RefusedKeyTests {
    @Test("generate with a wrong key on 24 chapters sends exactly one request and exits 78 naming the cause")
    func wrongKeyGenerate() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success().after(.milliseconds(20)) }
        try temp.write("course.md", outlineText(chapters: 24))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": "not-the-right-key"],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.requestCount == 1)
        #expect(server.statistics.chapterRequestCount == 0)
        #expect(result.standardError.contains("API key"), "\(result.standardError.suffix(1500))")
        #expect(result.standardError.contains("no further request was sent"))
        #expect(!result.standardError.contains("not-the-right-key"))
    }

    @Test("a gateway that does not forward the model check (its own 404) does not stop a run that would work")
    func gatewayWithoutModelCheck() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.forwardsModelCheck = false
        let server = try await FakeGeminiServer.start(configuration)
        try temp.write("course.md", outlineText(chapters: 3))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 3)
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 3)
    }

    @Test("generate with an unknown model exits 78 after one request and publishes nothing")
    func unknownModel() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 5))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--model", "gemini-9.9-nonexistent",
            ],
            environment: ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78)
        // The model check, then the list of models the message names instead; no chapter.
        #expect(server.statistics.requestCount == 2)
        #expect(server.statistics.chapterRequestCount == 0)
        #expect(result.standardError.contains("model"))
        #expect(!temp.list("out/course").contains { ChapterFile.isChapterFileName($0) })
    }

    @Test(
        "watch with a wrong key keeps running and says so; after the key file is fixed, SIGHUP brings the outline up to date with no save"
    )
    func wrongKeyWatchThenReload() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let keyFile = try temp.write("key", "a-wrong-key\n")
        chmod(keyFile, 0o600)
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0", "--api-key-file", keyFile,
            ],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "refused the key or the model")
        #expect(daemon.lines(containing: "refused the key or the model").first?.contains("error") == true)
        #expect(server.statistics.chapterRequestCount == 0)

        try temp.write("key", FakeGeminiServer.defaultAPIKey + "\n")
        daemon.signal(SIGHUP)
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 3)
        #expect(server.statistics.modelCheckCount == 2, "one check per key")
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
        #expect(!result.standardError.contains(FakeGeminiServer.defaultAPIKey))
    }

    @Test("a daily quota stop is kept in the state folder: a second run sends nothing until it resets")
    func dailyQuotaKept() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in
            .rateLimited(retryDelay: "30s", quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier")
        }
        try temp.write("course.md", outlineText(chapters: 3))
        let arguments = [
            "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL, "--rpm", "60",
        ]
        let environment = ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey]
        let first = try await Binary.run(arguments, environment: environment, directory: temp.path)
        let second = try await Binary.run(arguments, environment: environment, directory: temp.path)
        try await server.shutdown()
        #expect(first.status == 75, "\(first.standardError.suffix(1500))")
        #expect(second.status == 75)
        #expect(server.statistics.chapterRequestCount == 1, "the second run learned the stop from the state folder")
        #expect(second.standardError.contains("daily quota"))
        #expect(temp.read("state/submission-stop.json")?.contains("daily-quota") == true)
    }
}
