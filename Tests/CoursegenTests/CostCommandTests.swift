import FakeGemini
import Foundation
import TestSupport
import Testing

@Suite("What a course cost, through the real binary: generate's end-of-run line, --budget, status")
struct CostCommandTests {
    let key = FakeGeminiServer.defaultAPIKey

    @Test(
        "a budget skips the chapters it cannot cover, exits 1 and says so; status shows costs per outline and chapter"
    )
    func budgetAndStatus() async throws {
        let temp = try TemporaryFolder()
        // Every answer: 50 prompt tokens (free here) and 1,000 output tokens at $100 per million,
        // $0.10. Each attempt reserves its 4,096-token output budget, $0.4096, so one goes at a
        // time under $0.65, and the fourth does not fit after three answers ($0.30 + $0.4096).
        let server = try await FakeGeminiServer.start { _ in
            .success(usage: .init(promptTokenCount: 50, candidatesTokenCount: 1000))
        }
        try temp.write("course.md", outlineText(chapters: 4))
        let generate = try await Binary.run(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--max-output-tokens", "4096", "--thinking-budget", "0", "--budget", "0.65",
                "--model", "gemini-2.5-flash-lite", "--prices", "{gemini-2.5-flash-lite: {input: 0, output: 100}}",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        let status = try await Binary.run(["status", "--state", "state"], directory: temp.path)
        try await server.shutdown()

        #expect(server.statistics.chapterRequestCount == 3)
        #expect(generate.status == 1, "\(generate.standardError)")
        let output = generate.standardOutput
        #expect(output.contains("(3 generated, 1 skipped for budget)"), "\(output)")
        #expect(
            output.contains("tokens: 150 in, 3000 out, 0 thinking; estimated cost $0.3000 of a budget of $0.6500"),
            "\(output)"
        )
        #expect(output.contains("skipped: not sent: the run's budget of $0.6500 would not cover it"), "\(output)")
        // The journal's end-of-run entry, here on standard error.
        let published = generate.standardError.split(separator: "\n").first { $0.contains("outline published") }
        #expect(published?.contains("cost_usd=0.300000") == true, "\(published ?? "")")
        #expect(published?.contains("skipped_for_budget=1") == true)

        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.contains("3 up to date, 1 skipped for budget"), "\(status.standardOutput)")
        #expect(status.standardOutput.contains("over 3 requests; estimated cost $0.3000"))
        #expect(status.standardOutput.contains("budget $0.6500 per run: 1 chapter not requested"))
        let chapterLines = status.standardOutput.split(separator: "\n").filter {
            $0.contains(": $0.1000 (50 in, 1000 out")
        }
        #expect(chapterLines.count == 3, "\(status.standardOutput)")
        #expect(status.standardOutput.contains(": skipped for budget"))
    }
}
