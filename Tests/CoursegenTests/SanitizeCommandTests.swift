import FakeGemini
import Foundation
import TestSupport
import Testing

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
}
