import FakeGemini
import Foundation
import Platform
import TestSupport
import Testing

@testable import coursegen

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Where watch reads, publishes and keeps its state")
struct FolderLayoutTests {
    @Test(
        "an inbox that is or lies inside the output folder, or a state folder inside it, is refused; the output inside the inbox is fine",
        arguments: [
            ("/srv/c", "/srv/c", "/var/lib/c", "is also the output folder"),
            ("/srv/out/inbox", "/srv/out", "/var/lib/c", "lies inside the output folder"),
            ("/srv/in", "/srv/out", "/srv/out/state", "state folder /srv/out/state lies inside the output folder"),
            ("/srv/in", "/srv/out", "/srv/out", "state folder /srv/out lies inside the output folder"),
            ("/srv/in", "/srv/out", "/srv/in", "is the state folder"),
            ("/srv/state/in", "/srv/out", "/srv/state", "is the state folder"),
            ("/srv/in", "/srv/in/out", "/var/lib/c", nil),
            ("/srv/in", "/srv/in/out", "/srv/in/state", nil),
            ("/srv/in", "/srv/inbox-out", "/srv/in-state", nil),
            ("/srv/in", "/srv/out", "/var/lib/c", nil),
        ] as [(String, String, String, String?)]
    )
    func layouts(inbox: String, output: String, state: String, problem: String?) {
        let found = FolderLayout(inbox: AbsolutePath(inbox), output: AbsolutePath(output), state: AbsolutePath(state)).problem
        if let problem {
            #expect(found?.contains(problem) == true, "\(found ?? "no problem found")")
        } else {
            #expect(found == nil)
        }
    }

    @Test("resolving a path follows symlinks of the part that exists and keeps the rest")
    func resolving() throws {
        let temp = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: "\(temp.path)/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(temp.path)/link", withDestinationPath: "\(temp.path)/real")
        let root = AbsolutePath(temp.path).resolved.string
        #expect(AbsolutePath("\(temp.path)/link").resolved.string == "\(root)/real")
        #expect(AbsolutePath("\(temp.path)/link/not/yet").resolved.string == "\(root)/real/not/yet")
        #expect(AbsolutePath("\(temp.path)/link/../real/./not//yet/").resolved.string == "\(root)/real/not/yet")
        #expect(AbsolutePath("/../..").resolved.string == "/")
        #expect(AbsolutePath("b/../c", from: "/a").string == "/a/c")
    }

    @Test(
        "watch with the inbox as its output, or inside it through a symlink, exits 78 at start naming both folders, with no request and no file",
        arguments: [["--inbox", "books", "--output", "books"], ["--inbox", "alias/inbox", "--output", "books"]]
    )
    func refusedAtStart(arguments: [String]) async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("books/course.md", "# Looping\n\n## One\n- a\n")
        try temp.write("books/inbox/other.md", "# Other\n\n## One\n- a\n")
        try FileManager.default.createSymbolicLink(atPath: "\(temp.path)/alias", withDestinationPath: "\(temp.path)/books")
        let before = temp.list("books")
        let result = try await Binary.run(
            ["watch", "--state", "state", "--base-url", server.baseURL] + arguments,
            environment: ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError.suffix(1000))")
        #expect(result.standardError.contains("\(AbsolutePath(temp.path).resolved)/books"))
        #expect(server.statistics.requestCount == 0)
        #expect(temp.list("books") == before)
        #expect(!FileManager.default.fileExists(atPath: "\(temp.path)/state"))
    }
}

@Suite("Files coursegen wrote are never outlines", .serialized)
struct WrittenFilesTests {
    @Test("a course published into the inbox, and a status page copied there, are not read as outlines")
    func publishedInsideInbox() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let key = FakeGeminiServer.defaultAPIKey
        try temp.write("inbox/course.md", watchedOutline())
        // A mistake made once: the course published into the inbox itself, with the same state.
        let generated = try await Binary.run(
            ["generate", "inbox/course.md", "--output", "inbox", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(generated.status == 0, "\(generated.standardError.suffix(1000))")
        #expect(temp.list("inbox/course").contains("01-chapter-1.md"))
        let page = try #require(temp.read("inbox/course/STATUS.md"))
        try temp.write("inbox/notes/STATUS.md", page)
        #expect(server.statistics.chapterRequestCount == 3)

        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(server.statistics.chapterRequestCount == 4, "the course's three chapters once, the sentinel's one")
        #expect(temp.list("out").sorted() == ["course", "sentinel"])
        #expect(result.standardError.contains("ignoring a file of the inbox"))
        #expect(result.standardError.contains("a file coursegen wrote"))
    }

    @Test("generate refuses a status page or a published chapter given as the outline")
    func generateRefusesOutput() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", watchedOutline())
        let arguments = ["--output", "out", "--state", "state", "--base-url", server.baseURL]
        let environment = ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey]
        let first = try await Binary.run(["generate", "course.md"] + arguments, environment: environment, directory: temp.path)
        #expect(first.status == 0)
        for written in ["out/course/STATUS.md", "out/course/01-chapter-1.md", "out/course/SUMMARY.md"] {
            let result = try await Binary.run(["generate", written] + arguments, environment: environment, directory: temp.path)
            #expect(result.status == 65, "\(written): \(result.standardError.suffix(500))")
            #expect(result.standardError.contains("a file coursegen wrote"))
        }
        try await server.shutdown()
        #expect(server.statistics.chapterRequestCount == 3)
    }
}
