import FakeGemini
import FakeOpenAI
import Foundation
import TestSupport
import Testing

@testable import coursegen

#if canImport(Glibc)
    import Glibc
#endif

@Suite("coursegen generate --provider openai, the real binary")
struct OpenAICommandTests {
    let key = FakeOpenAIServer.defaultAPIKey

    @Test("generates every chapter through the fake OpenAI server, and costs nothing the second time")
    func generateTwice() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeOpenAIServer.start { _ in .success().streamed(textEvents: 4) }
        try temp.write("course.md", outlineText(chapters: 4))
        let arguments = [
            "generate", "course.md", "--output", "out", "--state", "state", "--provider", "openai", "--base-url",
            server.baseURL, "--model", "gpt-4o-mini",
        ]
        let first = try await Binary.run(arguments, environment: ["OPENAI_API_KEY": key], directory: temp.path)
        let second = try await Binary.run(arguments, environment: ["OPENAI_API_KEY": key], directory: temp.path)
        try await server.shutdown()

        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("course: 4 chapters in \(temp.path)/out/course (4 generated)"))
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardOutput.contains("(4 unchanged)"))
        #expect(server.statistics.chapterRequestCount == 4)
        #expect(server.statistics.requestsByModel == ["gpt-4o-mini": 4])
        #expect(temp.read("out/course/01-chapter-1.md")?.contains("written by fake-openai (gpt-4o-mini)") == true)
        #expect(server.statistics.requests.allSatisfy { $0.header("authorization") == "Bearer \(key)" })
        for output in [first, second] {
            #expect(!output.standardError.contains(key) && !output.standardOutput.contains(key))
        }
    }

    @Test("a local server needs no key: the Ollama example of the README works without one, streamed or not")
    func localServerWithoutKey() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeOpenAIServer.start(.init(key: .notRequired, models: ["llama3.1:8b"]))
        try temp.write("course.md", outlineText(chapters: 2))
        let streamed = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "s1", "--provider", "openai", "--base-url",
                server.baseURL, "--model", "llama3.1:8b",
            ],
            directory: temp.path
        )
        let whole = try await Binary.run(
            [
                "generate", "course.md", "--output", "out2", "--state", "s2", "--provider", "openai", "--base-url",
                server.baseURL, "--model", "llama3.1:8b", "--no-stream",
            ],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(streamed.status == 0, "\(streamed.standardError)")
        #expect(whole.status == 0, "\(whole.standardError)")
        #expect(server.statistics.chapterRequestCount == 4)
        #expect(server.statistics.requests.allSatisfy { $0.header("authorization") == nil })
        let streams = server.statistics.requests.compactMap(FakeOpenAIServer.Request.init(recorded:)).map(\.stream)
        #expect(streams == [true, true, false, false])
    }

    @Test(
        "what the openai provider needs is said before any request: a key for a remote server, a model",
        arguments: [
            (["--model", "gpt-4o-mini"], [String: String](), "no OpenAI API key: set OPENAI_API_KEY"),
            (["--model", "gpt-4o-mini"], ["CREDENTIALS_DIRECTORY": "/nonexistent"], "credential openai-api-key"),
            ([], ["OPENAI_API_KEY": "sk-x"], "provider openai has no default model: name one with --model"),
            (
                ["--model", "gpt-4o-mini", "--base-url", "http://192.168.1.5:11434/v1"], ["OPENAI_API_KEY": "sk-x"],
                "plain http to a non-local host"
            ),
        ]
    )
    func refusedBeforeAnyRequest(extra: [String], environment: [String: String], message: String) async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--provider", "openai"] + extra,
            environment: environment,
            directory: temp.path
        )
        #expect(result.status == 78)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(temp.list("out").isEmpty)
    }

    @Test("an Ollama model name with the gemini provider says which setting to change")
    func ollamaNameForGemini() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--model", "llama3.1:8b"],
            environment: ["GEMINI_API_KEY": "k"],
            directory: temp.path
        )
        #expect(result.status == 78)
        #expect(
            result.standardError.contains("--model 'llama3.1:8b' is not a Gemini model name"),
            "\(result.standardError)"
        )
        #expect(result.standardError.contains("set provider to openai"))
    }

    @Test("the key comes from the credential openai-api-key, and a wrong one stops everything after one request")
    func credentialAndWrongKey() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeOpenAIServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 3))
        try temp.write("good/openai-api-key", key)
        chmod("\(temp.path)/good/openai-api-key", 0o600)
        try temp.write("bad/openai-api-key", "sk-wrong-wrong-wrong-0000")
        chmod("\(temp.path)/bad/openai-api-key", 0o600)
        func run(_ credentials: String, state: String) async throws -> Binary.Result {
            try await Binary.run(
                [
                    "generate", "course.md", "--output", "out-\(state)", "--state", state, "--provider", "openai",
                    "--base-url", server.baseURL, "--model", "gpt-4o-mini",
                ],
                environment: ["CREDENTIALS_DIRECTORY": "\(temp.path)/\(credentials)", "OPENAI_API_KEY": "sk-ignored"],
                directory: temp.path
            )
        }
        let refused = try await run("bad", state: "s1")
        let afterRefusal = server.statistics.requestCount
        let accepted = try await run("good", state: "s2")
        try await server.shutdown()
        #expect(refused.status == 78)
        #expect(refused.standardError.contains("stopped: HTTP 401"), "\(refused.standardError)")
        #expect(afterRefusal == 1, "one request: the key and model check")
        #expect(accepted.status == 0, "\(accepted.standardError)")
        #expect(server.statistics.chapterRequestCount == 3)
    }

    @Test("switching provider regenerates every chapter; switching back costs nothing")
    func switchingProvider() async throws {
        let temp = try TemporaryFolder()
        let gemini = try await FakeGeminiServer.start { _ in .success() }
        let openAI = try await FakeOpenAIServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 3))
        let common = ["generate", "course.md", "--output", "out", "--state", "state"]
        let environment = ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey, "OPENAI_API_KEY": key]
        func viaGemini() async throws -> Binary.Result {
            try await Binary.run(
                common + ["--base-url", gemini.baseURL],
                environment: environment,
                directory: temp.path
            )
        }
        func viaOpenAI() async throws -> Binary.Result {
            try await Binary.run(
                common + ["--provider", "openai", "--base-url", openAI.baseURL, "--model", "gpt-4o-mini"],
                environment: environment,
                directory: temp.path
            )
        }
        func requests() -> (gemini: Int, openAI: Int) {
            (gemini.statistics.chapterRequestCount, openAI.statistics.chapterRequestCount)
        }
        func firstChapter() -> String { temp.read("out/course/01-chapter-1.md") ?? "" }

        let runs = [try await viaGemini()]
        #expect(requests() == (3, 0))
        let fromGemini = firstChapter()
        let switched = try await viaOpenAI()
        #expect(requests() == (3, 3), "every chapter regenerated by the new provider")
        #expect(firstChapter().contains("written by fake-openai"))
        let back = try await viaGemini()
        #expect(requests() == (3, 3), "switching back costs nothing: the answers are still stored")
        #expect(firstChapter() == fromGemini)
        let forth = try await viaOpenAI()
        #expect(requests() == (3, 3))
        #expect(firstChapter().contains("written by fake-openai"))
        try await gemini.shutdown()
        try await openAI.shutdown()
        for result in runs + [switched, back, forth] {
            #expect(result.status == 0, "\(result.standardError)")
        }
        #expect(back.standardOutput.contains("(3 reused from the cache)"), "\(back.standardOutput)")
    }

    @Test(
        "a one-slot server that drops the answer in progress for the next request: every chapter of 6, at most 8 requests, with default settings"
    )
    func oneSlotInterruptingServer() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeOpenAIServer.Configuration(key: .notRequired, models: ["smollm2"])
        configuration.interruptsForNextRequest = true
        configuration.reportsStreamUsage = false
        configuration.reply = { _ in .success().streamed(textEvents: 6, interval: .milliseconds(80)) }
        let server = try await FakeOpenAIServer.start(configuration)
        try temp.write("course.md", outlineText(chapters: 6))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--provider", "openai", "--base-url",
                server.baseURL, "--model", "smollm2",
            ],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        #expect(result.standardOutput.contains("6 chapters"), "\(result.standardOutput)")
        #expect(temp.list("out/course").filter { $0.first?.isNumber == true }.count == 6)
        let requests = server.statistics.requests.filter { $0.path == "/v1/chat/completions" }
        let story = requests.map { "\($0.prompt?.split(separator: "\n").first { $0.contains("Chapter") } ?? "?"): \($0.disposition)" }
        #expect((6...8).contains(requests.count), "\(story)")
        // It sends no usage: tokens and cost are unknown, never $0.
        #expect(result.standardOutput.contains("tokens: not reported by the server (6 answers)"), "\(result.standardOutput)")
        #expect(!result.standardOutput.contains("$0.0000"))
        #expect(temp.read("out/course/STATUS.md")?.contains("tokens not reported by the server") == true)
    }

    @Test("llama-server's /props: the limit starts at its total_slots and stays there; a server without it starts at one")
    func propsSlots() async throws {
        for slots in [3, nil] as [Int?] {
            let temp = try TemporaryFolder()
            var configuration = FakeOpenAIServer.Configuration(key: .notRequired, models: ["local"])
            configuration.totalSlots = slots
            configuration.reply = { _ in .success().streamed(textEvents: 3, interval: .milliseconds(30)) }
            let server = try await FakeOpenAIServer.start(configuration)
            try temp.write("course.md", outlineText(chapters: 6))
            let result = try await Binary.run(
                [
                    "generate", "course.md", "--output", "out", "--state", "state", "--provider", "openai",
                    "--base-url", server.baseURL, "--model", "local", "--log-level", "notice",
                ],
                directory: temp.path
            )
            try await server.shutdown()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
            #expect(server.statistics.requests.filter { $0.path == "/v1/chat/completions" }.count == 6)
            #expect(server.statistics.requests.contains { $0.path == "/props" })
            let said = result.standardError.contains("the server says it serves 3 at once")
            #expect(said == (slots == 3), "\(result.standardError.suffix(2000))")
            if slots == 3 {
                // Never past the server's slots, however many answers come back.
                #expect(!result.standardError.contains("to=4"), "\(result.standardError.suffix(2000))")
            }
        }
    }
}
