import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

#if canImport(Glibc)
    import Glibc
#endif

/// Two outlines never publish into one folder.
@Suite("One folder per outline", .serialized)
struct FolderClaimTests {
    let key = FakeGeminiServer.defaultAPIKey

    func generate(_ file: String, in temp: TemporaryFolder, server: FakeGeminiServer) async throws -> Binary.Result {
        try await Binary.run(
            ["generate", file, "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
    }

    @Test("course.v2.md publishes into its own folder, course.v2, beside course")
    func versionedNames() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 2, title: "One"))
        try temp.write("course.v2.md", outlineText(chapters: 3, title: "Two"))
        let first = try await generate("course.md", in: temp, server: server)
        let second = try await generate("course.v2.md", in: temp, server: server)
        try await server.shutdown()
        #expect(first.status == 0 && second.status == 0, "\(second.standardError)")
        #expect(temp.list("out").filter { !$0.hasPrefix(".") } == ["course", "course.v2"])
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == 2)
        #expect(temp.list("out/course.v2").filter { ChapterFile.isChapterFileName($0) }.count == 3)
    }

    @Test("under generate, the outline that claimed a folder keeps it; the other is refused, naming both, and publishes nothing")
    func generateClash() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.yaml", "title: YAML course\nchapters:\n  - title: From YAML\n")
        try temp.write("course.md", outlineText(chapters: 2, title: "Markdown course"))
        // No claim recorded and both present: the first path in byte order (course.md) wins,
        // even though course.yaml is generated first.
        let yaml = try await generate("course.yaml", in: temp, server: server)
        #expect(yaml.status == 65)
        #expect(yaml.standardError.contains("course.md") && yaml.standardError.contains("course.yaml"))
        #expect(yaml.standardError.contains("rename"))
        #expect(temp.list("out").isEmpty)

        let markdown = try await generate("course.md", in: temp, server: server)
        #expect(markdown.status == 0)
        let published = temp.list("out/course")
        // Removing course.md ends its claim: course.yaml may have the folder then.
        unlink("\(temp.path)/course.md")
        let again = try await generate("course.yaml", in: temp, server: server)
        try await server.shutdown()
        #expect(published.contains("02-chapter-2.md"))
        #expect(again.status == 0, "\(again.standardError)")
        #expect(temp.list("out/course").contains("01-from-yaml.md"))
        #expect(server.statistics.chapterRequestCount == 3)
    }

    @Test("under watch, two outlines for one folder: the first in byte order publishes, the other is refused until renamed")
    func watchClash() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        try temp.write("inbox/course.yaml", "title: YAML course\nchapters:\n  - title: From YAML\n")
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        try await daemon.waitForLines(containing: "already publishes into")
        let refusal = try #require(daemon.lines(containing: "already publishes into").first)
        #expect(refusal.contains("inbox/course.yaml") && refusal.contains("inbox/course.md"))
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
        #expect(!temp.list("out/course").contains("01-from-yaml.md"))

        // Saving the refused outline again does not flip the folder.
        try Save.inPlace("\(temp.path)/inbox/course.yaml", "title: YAML course\nchapters:\n  - title: From YAML, again\n")
        try await daemon.waitForLines(containing: "already publishes into", count: 2)

        // Renamed, it gets a folder of its own, at the cost of its one chapter.
        rename("\(temp.path)/inbox/course.yaml", "\(temp.path)/inbox/yaml-course.yaml")
        try await daemon.waitForLines(containing: "outline published  outline=yaml-course")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(temp.list("out/yaml-course").contains("01-from-yaml-again.md"))
        #expect(temp.list("out/course").contains("03-chapter-3.md"))
        #expect(server.statistics.chapterRequestCount == 4)
    }

    @Test("deleting the outline that owns a folder hands it to the refused one, and says so: log, page, costs, book.toml")
    func watchHandover() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        try temp.write("inbox/course.yaml", "title: YAML course\nchapters:\n  - title: From YAML\n")
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        try await daemon.waitForLines(containing: "already publishes into")
        #expect(temp.read("out/course/book.toml")?.contains("title = \"Watched Course\"") == true)

        unlink("\(temp.path)/inbox/course.md")
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        let status = try await Binary.run(["status", "--json", "--state", "state"], directory: temp.path)
        try await server.shutdown()
        #expect(result.status == 0)
        let removal = try #require(
            result.standardError.split(separator: "\n").first { $0.contains("outline removed from the inbox") }
        )
        #expect(removal.contains("takes it over") && removal.contains("new_owner=\(temp.path)/inbox/course.yaml"))
        #expect(!removal.contains("published chapters stay"))
        #expect(result.standardError.contains("this outline takes over a folder another outline file published"))
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) } == ["01-from-yaml.md"])
        // book.toml was coursegen's, unedited: its title follows the course.
        #expect(temp.read("out/course/book.toml")?.contains("title = \"YAML course\"") == true)
        let page = try #require(temp.read("out/course/STATUS.md"))
        #expect(page.contains("- Outline: `\(temp.path)/inbox/course.yaml`"), "\(page)")
        #expect(page.contains("Published from `\(temp.path)/inbox/course.md` until"), "\(page)")
        // Costs start anew: one request for the YAML course, not four.
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [[String: Any]]
        )
        let course = try #require(json.first { ($0["folder"] as? String)?.hasSuffix("/out/course") == true })
        #expect(course["requests"] as? Int == 1, "\(course)")
        #expect(server.statistics.chapterRequestCount == 4)
    }
}
