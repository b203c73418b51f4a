import FakeGemini
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// An outline of chapters "Chapter 1"... with the given points, and front matter `header`.
private func outline(_ title: String, points: [String], header: String = "", notes: [Int: String] = [:]) -> String {
    var text = header.isEmpty ? "" : "---\n\(header)---\n"
    text += "# \(title)\n"
    for (index, point) in points.enumerated() {
        text += "\n## Chapter \(index + 1)\n- \(point)\n"
        if let note = notes[index] { text += "\n\(note)\n" }
    }
    return text
}

@Suite("Prompt templates and course context, the real binary")
struct PromptCommandTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// Runs `generate` for each outline and returns the chapter requests that run made, by outline.
    func generate(
        _ outlines: [String],
        in temp: TemporaryFolder,
        server: FakeGeminiServer,
        extra: [String] = []
    ) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for name in outlines {
            let before = server.statistics.chapterRequestCount
            let result = try await Binary.run(
                ["generate", name, "--output", "out", "--state", "state", "--base-url", server.baseURL] + extra,
                environment: ["GEMINI_API_KEY": key],
                directory: temp.path
            )
            #expect(result.status == 0, "\(name): \(result.standardError)")
            counts[name] = server.statistics.chapterRequestCount - before
        }
        return counts
    }

    @Test("editing a template regenerates exactly the chapters it writes: a course's own, then the installation's")
    func templateEdits() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("own.md", outline("Own", points: ["a", "b", "c", "d"], header: "prompt: style.mustache\n"))
        try temp.write("plain.md", outline("Plain", points: ["x", "y", "z"]))
        try temp.write("style.mustache", "Write {{chapter.title}} of {{course.title}} in haiku.\n")
        let courses = ["own.md", "plain.md"]

        #expect(try await generate(courses, in: temp, server: server) == ["own.md": 4, "plain.md": 3])
        let asked = server.statistics.requests.compactMap(\.prompt)
        #expect(asked.filter { $0.hasSuffix("in haiku.\n") }.count == 4, "\(asked)")
        #expect(asked.filter { $0.hasPrefix("Course: Plain\n") }.count == 3)
        #expect(try await generate(courses, in: temp, server: server) == ["own.md": 0, "plain.md": 0])

        // The course's own template: its four chapters, nothing of the other course.
        try temp.write("style.mustache", "Write {{chapter.title}} of {{course.title}} in limericks.\n")
        #expect(try await generate(courses, in: temp, server: server) == ["own.md": 4, "plain.md": 0])
        #expect(temp.read("out/own/01-chapter-1.md") != nil)

        // The installation's template: every chapter it writes, none of the course with its own.
        try temp.write("chapter.mustache", "{{course.title}}: {{chapter.title}}\n")
        let installation = ["--chapter-template", "chapter.mustache"]
        #expect(
            try await generate(courses, in: temp, server: server, extra: installation) == ["own.md": 0, "plain.md": 3]
        )
        #expect(
            Set(server.statistics.requests.suffix(3).compactMap(\.prompt))
                == ["Plain: Chapter 1\n", "Plain: Chapter 2\n", "Plain: Chapter 3\n"]
        )
        #expect(
            try await generate(courses, in: temp, server: server, extra: installation) == ["own.md": 0, "plain.md": 0]
        )
        // Back to the built-in template: the chapters written with it are still stored.
        #expect(try await generate(courses, in: temp, server: server) == ["own.md": 0, "plain.md": 0])

        // A broken template stops before any request, naming its line; nothing published is lost.
        try temp.write("style.mustache", "Write\n{{chapter.name}}\n")
        let broken = try await Binary.run(
            ["generate", "own.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(broken.status == 65)
        #expect(
            broken.standardError.contains("style.mustache:2: `{{chapter.name}}` names nothing"),
            "\(broken.standardError)"
        )
        #expect(temp.list("out/own").filter { $0.hasSuffix(".md") && $0.first!.isNumber }.count == 4)
        try await server.shutdown()
    }

    @Test("context: neighbours costs at most three chapters an edit, toc every chapter for a title, notes one")
    func contextCosts() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let points = ["a", "b", "c", "d", "e"]
        func save(_ header: String, _ points: [String], notes: [Int: String] = [:]) throws {
            try temp.write("course.md", outline("Context", points: points, header: header, notes: notes))
        }
        let neighbours = "context: neighbours\n"
        try save(neighbours, points)
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 5])
        let middle = try #require(
            server.statistics.requests.compactMap(\.prompt).first { $0.contains("Chapter to write: Chapter 3") }
        )
        #expect(middle.contains("The chapter before this one: Chapter 2\nIt covers:\n- b\n"))
        #expect(middle.contains("The chapter after this one: Chapter 4\nIt covers:\n- d\n"))

        try save(neighbours, ["a", "b", "c2", "d", "e"])
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 3], "chapters 2, 3 and 4")
        try save(neighbours, ["a2", "b", "c2", "d", "e"])
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 2], "chapters 1 and 2")
        try save(neighbours, ["a2", "b", "c2", "d", "e"], notes: [4: "Keep it short."])
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 1], "notes are private")

        // The same outline under toc: a new context is new keys for every chapter.
        let toc = "context: toc\n"
        try save(toc, ["a2", "b", "c2", "d", "e"], notes: [4: "Keep it short."])
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 5])
        let listed = try #require(
            server.statistics.requests.compactMap(\.prompt).last { $0.contains("Chapter to write: Chapter 5\n") }
        )
        #expect(listed.contains("- Chapter 1\n- Chapter 2\n- Chapter 3\n- Chapter 4\n- Chapter 5  <- this chapter\n"))
        try save(toc, ["a3", "b", "c2", "d", "e"], notes: [4: "Keep it short."])
        #expect(
            try await generate(["course.md"], in: temp, server: server) == ["course.md": 1],
            "points are not in a toc"
        )
        var retitled = outline(
            "Context",
            points: ["a3", "b", "c2", "d", "e"],
            header: toc,
            notes: [4: "Keep it short."]
        )
        retitled = retitled.replacingOccurrences(of: "## Chapter 2\n", with: "## Chapter Two\n")
        try temp.write("course.md", retitled)
        #expect(
            try await generate(["course.md"], in: temp, server: server) == ["course.md": 5],
            "a title: every chapter"
        )

        // The setting applies to outlines that do not say; theirs wins.
        let fresh = ["p", "q", "r", "s", "t"]
        try save("", fresh)
        #expect(
            try await generate(["course.md"], in: temp, server: server, extra: ["--context", "toc"]) == ["course.md": 5]
        )
        #expect(try await generate(["course.md"], in: temp, server: server) == ["course.md": 5], "the default is none")
        try save("context: none\n", fresh)
        #expect(
            try await generate(["course.md"], in: temp, server: server, extra: ["--context", "toc"]) == ["course.md": 0]
        )
        try await server.shutdown()
    }

    @Test("watch: saving a template beside its outline regenerates exactly that course's chapters")
    func watchTemplate() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/team/style.mustache", "One: {{chapter.title}}\n")
        try temp.write("inbox/team/own.md", outline("Own", points: ["a", "b"], header: "prompt: style.mustache\n"))
        try temp.write("inbox/team/plain.md", outline("Plain", points: ["x", "y", "z"]))
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=team/own")
        try await daemon.waitForLines(containing: "outline published  outline=team/plain")
        #expect(server.statistics.chapterRequestCount == 5)

        try temp.write("inbox/team/style.mustache", "Two: {{chapter.title}}\n")
        try await daemon.waitForLines(containing: "outline published  outline=team/own", count: 2)
        // A sentinel saved after the template is handled after it: by then every consequence of
        // the template's save has been too.
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        #expect(server.statistics.chapterRequestCount == 5 + 2 + 1)
        #expect(server.statistics.requests.compactMap(\.prompt).filter { $0.hasPrefix("Two: ") }.count == 2)
        #expect(daemon.lines(containing: "outline published  outline=team/plain").count == 1)

        // A template that breaks is the course's problem, shown on its page; the chapters stay.
        try temp.write("inbox/team/style.mustache", "{{#chapter.points}}\n")
        try await daemon.waitForStandardError {
            $0.contains("style.mustache:1: the section `{{#chapter.points}}` is never closed")
        }
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.chapterRequestCount == 8)
        #expect(temp.list("out/team/own").contains("02-chapter-2.md"))
        #expect(temp.read("out/team/own/STATUS.md")?.contains("style.mustache") == true)
    }

    @Test("SIGHUP applies an installation template edited in place: every chapter it writes is regenerated")
    func reloadReadsTemplateAgain() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("system.mustache", "You write courses.\n")
        try temp.write("inbox/course.md", outline("Course", points: ["a", "b", "c"]))
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0", "--system-template", "system.mustache",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        #expect(server.statistics.chapterRequestCount == 3)
        // The template is outside the inbox: only a reload reads it again.
        try temp.write("system.mustache", "You write courses.\nKeep every chapter short.\n")
        daemon.signal(SIGHUP)
        try await daemon.waitForLines(containing: "configuration reloaded")
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(server.statistics.chapterRequestCount == 6)
        let last = server.statistics.requests.last.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        #expect(last.contains("Keep every chapter short."), "the new system instruction was sent")
    }

    @Test("watch: a template saved while its course is generating supersedes the run, as a save of the outline does")
    func templateSavedDuringRun() async throws {
        let temp = try TemporaryFolder()
        let held = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.hasPrefix("One:") ? .success().held(by: held) : .success()
        }
        try temp.write("inbox/style.mustache", "One: {{chapter.title}}\n")
        try temp.write("inbox/own.md", outline("Own", points: ["a", "b"], header: "prompt: style.mustache\n"))
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "50", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.waitUntil { $0.inFlight == 2 }
        try temp.write("inbox/style.mustache", "Two: {{chapter.title}}\n")
        try await daemon.waitForLines(containing: "a newer save supersedes the run in progress")
        try await daemon.waitForLines(containing: "outline published  outline=own")
        held.open()
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(temp.read("out/own/01-chapter-1.md")?.contains("Two: Chapter 1") == true)
        #expect(temp.read("out/own/02-chapter-2.md")?.contains("Two: Chapter 2") == true)
    }
}
