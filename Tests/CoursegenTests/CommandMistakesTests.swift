import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// Mistakes and odd inputs users met: each gets the message and exit status it should.
@Suite("Mistakes users made, and what they get")
struct CommandMistakesTests {
    let key = FakeGeminiServer.defaultAPIKey

    @Test("a missing --output or --inbox is a command-line mistake (64), as --help says")
    func missingFolders() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        let generate = try await Binary.run(
            ["generate", "course.md", "--state", "state"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(generate.status == 64, "\(generate.standardError)")
        #expect(generate.standardError.contains("--output"))
        let watch = try await Binary.run(
            ["watch", "--output", "out", "--state", "state"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(watch.status == 64, "\(watch.standardError)")
        #expect(watch.standardError.contains("--inbox"))
    }

    @Test("a negative thinking budget (-1: the model decides) is taken as the flag's value")
    func negativeValueTaken() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 1))
        let result = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--thinking-budget", "-1", "--model", "gemini-2.5-flash-lite",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(800))")
        let body = server.statistics.requests.last.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        #expect(body.contains(#""thinkingBudget":-1"#), "\(body)")
        // One chapter is "1 chapter"; and nothing of coursegen's is left beside the course.
        #expect(result.standardOutput.contains("course: 1 chapter in "), "\(result.standardOutput)")
        #expect(temp.list("out") == ["course"])
    }

    @Test("--state naming a file is an unusable setting (78) that says so")
    func stateIsAFile() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        try temp.write("state", "not a folder\n")
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(result.status == 78, "\(result.standardError)")
        #expect(result.standardError.contains("the state folder \(temp.path)/state is a file"))
    }

    @Test("watch on an inbox that is a file, or missing in a terminal, exits 78 at once; under systemd a missing one is waited for")
    func inboxAtStart() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("a-file", "x\n")
        let arguments = ["watch", "--output", "out", "--state", "state", "--base-url", server.baseURL, "--settle", "0"]
        let file = try await Binary.run(
            arguments + ["--inbox", "a-file"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(file.status == 78)
        #expect(file.standardError.contains("is a file, not a folder"), "\(file.standardError)")
        let typo = try await Binary.run(
            arguments + ["--inbox", "inbx"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(typo.status == 78)
        #expect(typo.standardError.contains("the inbox \(temp.path)/inbx does not exist"), "\(typo.standardError)")

        let daemon = try Binary.start(
            arguments + ["--inbox", "inbox", "--debounce-ms", "100"],
            environment: ["GEMINI_API_KEY": key, "INVOCATION_ID": "0123456789abcdef0123456789abcdef"],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "the inbox does not exist; waiting for it to appear")
        try temp.write("inbox/course.md", outlineText(chapters: 1))
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
    }

    @Test("watch takes .markdown outlines, as check and generate do")
    func markdownExtension() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.markdown", outlineText(chapters: 2))
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        try await server.shutdown()
        #expect(temp.list("out/course").contains("02-chapter-2.md"))
    }

    @Test("check fails (65) on an outline whose own template is missing or broken, naming it")
    func checkReadsTemplates() async throws {
        let temp = try TemporaryFolder()
        try temp.write("missing.md", "---\nprompt: nowhere.mustache\n---\n# Course\n\n## One\n- a\n")
        try temp.write("broken.md", "---\nprompt: broken.mustache\n---\n# Course\n\n## One\n- a\n")
        try temp.write("broken.mustache", "Write {{chapter.titel}}\n")
        let missing = try await Binary.run(["check", "missing.md"], directory: temp.path)
        #expect(missing.status == 65)
        #expect(missing.standardError.contains("nowhere.mustache"), "\(missing.standardError)")
        let broken = try await Binary.run(["check", "broken.md"], directory: temp.path)
        #expect(broken.status == 65)
        #expect(broken.standardError.contains("broken.mustache"), "\(broken.standardError)")
        #expect(broken.standardError.contains("did you mean `title`"), "the suggestion")
    }

    @Test("an outline of binary bytes gets a page that says what is wrong, with none of its bytes")
    func binaryOutline() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/blob.md", Array("# Title\n\n## One\n- \u{1}\u{7}".utf8) + (0...255).map { UInt8($0) } + [10])
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await waitForFile("\(temp.path)/out/blob/STATUS.md")
        daemon.signal(SIGTERM)
        _ = await daemon.wait()
        try await server.shutdown()
        let bytes = try #require(FileManager.default.contents(atPath: "\(temp.path)/out/blob/STATUS.md"))
        let page = try #require(String(data: bytes, encoding: .utf8), "the page is UTF-8 text")
        #expect(page.contains("cannot be read"))
        #expect(!page.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" })
        #expect(server.statistics.chapterRequestCount == 0)
    }

    @Test("log times are ISO 8601 with the zone")
    func logTimes() {
        let text = logTime(Date(timeIntervalSince1970: 1_796_000_000))
        #expect(text.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)/) != nil, "\(text)")
        #expect(counted(1, "chapter") == "1 chapter" && counted(2, "chapter") == "2 chapters")
    }
}
