import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
import Platform

@Suite("coursegen generate publishes the model's HTML safely, the real binary")
struct SanitizeCommandTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// An answer carrying a prompt-injected script, and an HTML lesson's example in a fence.
    static let answer = """
        # Chapter 1

        Welcome.

        <script>alert(document.cookie)</script>

        ```html
        <script>console.log("an example")</script>
        ```
        """

    @Test("a <script> is escaped with a warning; --allow-html keeps it; switching costs no request")
    func escapedThenAllowed() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success(text: Self.answer) }
        try temp.write("course.md", outlineText(chapters: 1))
        let arguments = ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL]
        let environment = ["GEMINI_API_KEY": key]
        let chapter = "\(temp.path)/out/course/01-chapter-1.md"

        let escaped = try await Binary.run(arguments, environment: environment, directory: temp.path)
        let escapedText = try String(contentsOfFile: chapter, encoding: .utf8)
        let allowed = try await Binary.run(arguments + ["--allow-html"], environment: environment, directory: temp.path)
        let allowedText = try String(contentsOfFile: chapter, encoding: .utf8)
        let again = try await Binary.run(arguments, environment: environment, directory: temp.path)
        let againText = try String(contentsOfFile: chapter, encoding: .utf8)
        try await server.shutdown()

        let example = "```html\n<script>console.log(\"an example\")</script>\n```\n"
        #expect(escaped.status == 0, "\(escaped.standardError)")
        #expect(
            escapedText == "# Chapter 1\n\nWelcome.\n\n&lt;script&gt;alert(document.cookie)&lt;/script&gt;\n\n"
                + example
        )
        #expect(escaped.standardError.contains("neutralised") && escaped.standardError.contains("a <script> element"))
        #expect(escaped.standardError.contains("Chapter 1"), "\(escaped.standardError)")

        #expect(allowed.status == 0, "\(allowed.standardError)")
        #expect(allowedText == "# Chapter 1\n\nWelcome.\n\n<script>alert(document.cookie)</script>\n\n" + example)
        #expect(!allowed.standardError.contains("neutralised"))

        #expect(again.status == 0)
        #expect(againText == escapedText)
        #expect(temp.list("out/course") == ["01-chapter-1.md", "STATUS.md", "SUMMARY.md", "book.toml"])
        #expect(server.statistics.chapterRequestCount == 1)
    }

    @Test(
        "a daemon started on chapters published before mdBook directives were escaped republishes them at once from the store, with no request"
    )
    func upgradeRepublishes() async throws {
        let temp = try TemporaryFolder()
        let answer = "Read {{#include /etc/hostname}} and `{{#include /etc/hostname}}`."
        let server = try await FakeGeminiServer.start { _ in .success(text: answer) }
        try temp.write("inbox/course.md", outlineText(chapters: 2))
        let environment = ["GEMINI_API_KEY": key]
        let generated = try await Binary.run(
            ["generate", "inbox/course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: environment,
            directory: temp.path
        )
        #expect(generated.status == 0, "\(generated.standardError)")

        // As the version before this one left the folder: the directives published as the model
        // wrote them, and a manifest that records no sanitizer version.
        let manifests = temp.list("state/manifests")
        try #require(manifests.count == 1)
        let manifestPath = "state/manifests/\(manifests[0])"
        var manifest = try BodyStore.decoder.decode(
            Manifest.self,
            from: Data(try #require(temp.read(manifestPath)).utf8)
        )
        for index in manifest.chapters.indices {
            let old = Array("# \(manifest.chapters[index].title)\n\n\(answer)\n".utf8)
            try temp.write("out/course/\(try #require(manifest.chapters[index].file))", old)
            manifest.chapters[index].sha256 = sha256Hex(old)
        }
        manifest.sanitizerVersion = nil
        try temp.write(manifestPath, Array(try BodyStore.encoder.encode(manifest)))

        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ],
            environment: environment,
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        let chapters = [temp.read("out/course/01-chapter-1.md"), temp.read("out/course/02-chapter-2.md")]
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        let escaped = "\\{{#include /etc/hostname}} and `{{#include /etc/hostname}}`."
        #expect(chapters == ["# Chapter 1\n\nRead \(escaped)\n", "# Chapter 2\n\nRead \(escaped)\n"])
        #expect(server.statistics.chapterRequestCount == 2)
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(result.standardError.contains("mdBook {{#include}} directive"))
    }
}
