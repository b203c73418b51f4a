import FakeGemini
import FakeServerKit
import Foundation
import Platform
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Generation

/// Gemini as it is today (issue 21): the default model is current, requests take the shape
/// their model family accepts, a retired model is refused naming the current ones, and
/// `coursegen models` lists what the key can use.
@Suite("Current Gemini models, the real binary")
struct CurrentModelsTests {
    let environment = ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey]

    @Test(
        "generate with no --model writes the course with the default Gemini 3 model, sending no temperature or thinking budget"
    )
    func defaultModel() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 3))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: environment,
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 3)
        let chapters = server.statistics.requests.filter { $0.path.contains(":") }
        #expect(chapters.count == 3)
        for request in chapters {
            #expect(request.path.hasPrefix("/v1beta/models/gemini-3.8-flash:"))
            let body = String(decoding: request.body, as: UTF8.self)
            #expect(!body.contains("thinkingBudget") && !body.contains("temperature"), "\(body)")
        }
    }

    @Test("--thinking-level reaches every Gemini 3 request as the level alone")
    func thinkingLevelSent() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 2))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--thinking-level", "high", "--model", "gemini-3.7-flash",
            ],
            environment: environment,
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        let chapters = server.statistics.requests.filter { $0.path.contains(":") }
        #expect(chapters.count == 2)
        for request in chapters {
            let body = String(decoding: request.body, as: UTF8.self)
            #expect(body.contains("\"thinkingLevel\":\"HIGH\""), "\(body)")
            #expect(!body.contains("thinkingBudget") && !body.contains("temperature"), "\(body)")
        }
    }

    @Test("a retired model exits 78 before any generation request and names the models the key can use")
    func retiredModel() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 4))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--model", "gemini-2.5-flash",
            ],
            environment: environment,
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 0)
        #expect(result.standardError.contains("gemini-2.5-flash is not found"), "\(result.standardError.suffix(1500))")
        #expect(result.standardError.contains("gemini-3.8-flash"), "\(result.standardError.suffix(1500))")
        #expect(temp.read("out/course/STATUS.md")?.contains("gemini-3.8-flash") == true)
        #expect(!result.standardError.contains(FakeGeminiServer.defaultAPIKey))
    }

    @Test(
        "a setting the model does not take is refused before any request, naming the one that applies",
        arguments: [
            (["--thinking-budget", "512"], "--thinking-budget", "thinking-level"),
            (["--temperature", "0.3"], "--temperature", "thinking-level"),
            (["--model", "gemini-2.5-flash-lite", "--thinking-level", "low"], "--thinking-level", "thinking-budget"),
        ]
    )
    func mismatchedSettings(flags: [String], refused: String, applies: String) async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 2))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL] + flags,
            environment: environment,
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError)")
        #expect(server.statistics.requestCount == 0)
        #expect(
            result.standardError.contains(refused) && result.standardError.contains(applies),
            "\(result.standardError)"
        )
    }

    @Test("a thinking budget with a 2.5 model is still sent, with temperature")
    func budgetOn25() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 1))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--model", "gemini-2.5-flash-lite", "--thinking-budget", "512",
            ],
            environment: environment,
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        let body = String(
            decoding: try #require(server.statistics.requests.last { $0.path.contains(":") }).body,
            as: UTF8.self
        )
        #expect(body.contains("\"thinkingBudget\":512") && body.contains("\"temperature\""), "\(body)")
    }

    @Test("models lists every page, marks the configured model and the default, and --json says the same")
    func modelsCommand() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.modelPageSize = 2
        let server = try await FakeGeminiServer.start(configuration)
        let text = try await Binary.run(
            ["models", "--base-url", server.baseURL, "--model", "gemini-3.6-flash"],
            environment: environment
        )
        let json = try await Binary.run(["models", "--base-url", server.baseURL, "--json"], environment: environment)
        let requests = server.statistics.requests
        try await server.shutdown()

        #expect(text.status == 0, "\(text.standardError)")
        let lines = text.standardOutput.split(separator: "\n")
        #expect(lines.count == FakeGeminiServer.knownModels.count, "\(text.standardOutput)")
        #expect(lines.contains { $0.hasPrefix("gemini-3.6-flash ") && $0.hasSuffix("(configured)") })
        #expect(lines.contains { $0.hasPrefix("gemini-3.8-flash ") && $0.hasSuffix("(default)") })
        #expect(!text.standardOutput.contains("embedding"))
        // Two models a page: every page was asked for, with the key in its header only.
        #expect(requests.count == 2 * ((FakeGeminiServer.knownModels.count + 1) / 2))
        #expect(requests.allSatisfy { $0.query?.contains(FakeGeminiServer.defaultAPIKey) != true })

        #expect(json.status == 0, "\(json.standardError)")
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
        )
        #expect(Set(entries.compactMap { $0["name"] as? String }) == FakeGeminiServer.knownModels)
        let marked = entries.filter { $0["configured"] as? Bool == true }.compactMap { $0["name"] as? String }
        #expect(marked == ["gemini-3.8-flash"])
    }

    @Test("models with a refused key exits 78 and never shows the key")
    func modelsRefusedKey() async throws {
        let server = try await FakeGeminiServer.start { _ in .success() }
        let result = try await Binary.run(
            ["models", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": "not-the-right-key"]
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError)")
        #expect(!result.standardError.contains("not-the-right-key"))
    }

    func watch(_ temp: TemporaryFolder, server: FakeGeminiServer, extra: [String] = []) throws -> Binary.Running {
        try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ] + extra,
            environment: environment,
            directory: temp.path
        )
    }

    @Test("watch says once at start that it uses the default model, naming it; not when a model is set")
    func watchNamesTheDefault() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let byDefault = try watch(temp, server: server)
        try await byDefault.waitForLines(containing: "outline published  outline=course")
        byDefault.signal(SIGTERM)
        _ = await byDefault.wait()
        let chosen = try watch(temp, server: server, extra: ["--model", "gemini-3.7-flash"])
        try await chosen.waitForLines(containing: "outline published  outline=course")
        chosen.signal(SIGTERM)
        _ = await chosen.wait()
        try await server.shutdown()
        let lines = byDefault.lines(containing: "using the default model")
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("model=gemini-3.8-flash") == true, "\(lines)")
        #expect(lines.first?.contains("regenerate") == true)
        #expect(chosen.lines(containing: "using the default model").isEmpty)
    }

    @Test("watch with a retired model sends no chapter request and its status page names the models the key can use")
    func watchRetiredModel() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try watch(temp, server: server, extra: ["--model", "gemini-2.5-flash"])
        let deadline = ContinuousClock.now + .seconds(60)
        var page = ""
        while ContinuousClock.now < deadline {
            page = temp.read("out/course/STATUS.md") ?? ""
            if page.contains("gemini-3.8-flash") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(page.contains("gemini-2.5-flash is not found") && page.contains("gemini-3.8-flash"), "\(page)")
        #expect(server.statistics.chapterRequestCount == 0)
        #expect(result.standardError.contains("gemini-3.5-flash-lite"), "the journal names them too")
    }
}
