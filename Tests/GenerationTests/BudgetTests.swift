import FakeGemini
import Foundation
import Testing

@testable import Generation
@testable import Providers

/// Runs of a real engine against the fake Gemini server under a budget, with prices chosen so
/// the arithmetic is plain: input is free, an output token costs $0.0001 ($100 per million).
/// Each request's output budget is 8,192 tokens (the default, since 900 words fit in it), so an
/// attempt reserves $0.8192 before it is sent; each answer reports 1,000 output tokens, $0.10.
@Suite("A budget stops submissions at the right chapter")
struct BudgetTests {
    static let model = GenerationSettings().model
    static let price = Price(inputPerMillion: 0, outputPerMillion: 100, thinkingPerMillion: 100)
    static let answerCost = 0.10
    static let reservation = 0.8192

    static func policy(budget: Double?) -> CostPolicy {
        CostPolicy(prices: PriceTable([model: price]), budget: budget)
    }

    static func answer(_ request: FakeGeminiServer.Request) -> FakeGeminiServer.Reply {
        .success(usage: .init(promptTokenCount: 700, candidatesTokenCount: 1000))
    }

    /// The chapter number a request asks for.
    static func chapter(of prompt: String) -> Int? {
        prompt.split(separator: "Chapter to write: Chapter ").dropFirst().first.flatMap {
            Int($0.prefix { $0.isNumber })
        }
    }

    @Test(
        "requests are sent while what is spent plus the next request's most stays within the budget; the rest are skipped",
        arguments: [
            // Below the most one request may cost: nothing is sent.
            (0.80, 0),
            // One request fits; after it, $0.10 + $0.8192 does not.
            (0.82, 1),
            // $0.10 × (n − 1) + $0.8192 ≤ budget: n = 3, then 4.
            (1.05, 3),
            (1.20, 4),
            // Two fit at once; all five fit in all.
            (1.70, 5),
        ]
    )
    func stopsAtTheRightChapter(budget: Double, expectedRequests: Int) async throws {
        // One at a time through the API, so no request is in flight when the budget refuses.
        let harness = try await EngineHarness(scheduler: .init(concurrency: 1), reply: Self.answer)
        let report = try await harness.generate(
            markdownOutline(chapters: numberedChapters(5)),
            cost: Self.policy(budget: budget)
        )
        try await harness.shutdown()

        #expect(harness.requests == expectedRequests)
        #expect(report.skippedChapters.count == 5 - expectedRequests)
        #expect(report.failedChapters.isEmpty)
        #expect(report.isComplete == (expectedRequests == 5))
        #expect(report.budget == budget)
        #expect(abs(report.cost.dollars - Double(expectedRequests) * Self.answerCost) < 1e-9)
        #expect(report.cost.dollars <= budget)
        // The chapters skipped are exactly those the server never saw, and nothing of theirs is
        // published.
        let requested = Set(harness.server.statistics.requests.compactMap { $0.prompt.flatMap(Self.chapter(of:)) })
        #expect(requested.count == expectedRequests)
        let skipped = Set(report.skippedChapters.map(\.position))
        #expect(skipped == Set(1...5).subtracting(requested))
        for position in skipped {
            #expect(harness.chapter(String(format: "%02d-chapter-%d.md", position, position)) == nil)
            let outcome = try #require(report.chapters.first { $0.position == position }?.outcome)
            guard case .skippedForBudget(let message, keptPrevious: false) = outcome else {
                Issue.record("chapter \(position) is \(outcome), not skipped for budget")
                continue
            }
            #expect(message.contains("budget of \(CostEstimate.format(budget))"))
        }
        if expectedRequests < 5 {
            #expect(harness.logs.all.contains { $0.message.hasPrefix("chapters skipped: the run's budget") })
        }
    }

    @Test("the daemon's retries leave budget skips alone; a save spends a fresh budget on exactly those chapters")
    func skipsStayUntilASave() async throws {
        let harness = try await EngineHarness(scheduler: .init(concurrency: 1), reply: Self.answer)
        let outline = markdownOutline(chapters: numberedChapters(5))
        let policy = Self.policy(budget: 1.05)
        let first = try await harness.generate(outline, cost: policy)
        #expect(harness.requests == 3)
        #expect(first.skippedChapters.count == 2)

        // A retry of the daemon's, with the same budget and prices: no request, still skipped.
        let retry = try await harness.generate(outline, cost: policy, retriesBudgetSkips: false)
        #expect(harness.requests == 3)
        #expect(retry.skippedChapters.map(\.position) == first.skippedChapters.map(\.position))

        // A save: a run of its own, with a budget of its own, for the two skipped chapters.
        let saved = try await harness.generate(outline, cost: policy)
        try await harness.shutdown()
        #expect(harness.requests == 5)
        #expect(saved.isComplete)
        #expect(abs(saved.cost.dollars - 2 * Self.answerCost) < 1e-9)
        // Every chapter was requested once.
        #expect(harness.server.statistics.requestsByPrompt.values.sorted() == [1, 1, 1, 1, 1])
    }

    @Test("an outline's own budget lowers the setting's for its runs")
    func outlineBudget() async throws {
        let harness = try await EngineHarness(scheduler: .init(concurrency: 1), reply: Self.answer)
        let outline = markdownOutline(chapters: numberedChapters(5))
            .replacingOccurrences(of: "words: 900\n", with: "words: 900\nbudget: 0.82\n")
        let report = try await harness.generate(outline, cost: Self.policy(budget: 100))
        try await harness.shutdown()
        #expect(harness.requests == 1)
        #expect(report.budget == 0.82)
        #expect(report.skippedChapters.count == 4)
    }

    @Test("without a price for the model, a budget sends nothing and says why")
    func noPrice() async throws {
        let harness = try await EngineHarness(scheduler: .init(concurrency: 1), reply: Self.answer)
        let report = try await harness.generate(
            markdownOutline(chapters: numberedChapters(2)),
            cost: CostPolicy(prices: PriceTable(), budget: 5)
        )
        try await harness.shutdown()
        #expect(harness.requests == 0)
        #expect(report.skippedChapters.count == 2)
        #expect(report.skippedChapters.allSatisfy { "\($0.outcome)".contains("has no price") })
    }

    @Test("without a budget, costs are estimated per chapter and per outline from the answers' usage")
    func costsRecorded() async throws {
        let harness = try await EngineHarness(scheduler: .init(concurrency: 2), reply: Self.answer)
        let report = try await harness.generate(
            markdownOutline(chapters: numberedChapters(3)),
            cost: Self.policy(budget: nil)
        )
        #expect(report.isComplete)
        #expect(report.usage == Usage(promptTokens: 2100, outputTokens: 3000))
        #expect(abs(report.cost.dollars - 0.30) < 1e-9)
        let status = try #require(StateDirectory(path: harness.state).status().first)
        try await harness.shutdown()
        #expect(status.chapterList.count == 3)
        for chapter in status.chapterList {
            #expect(chapter.usage == Usage(promptTokens: 700, outputTokens: 1000))
            #expect(abs((chapter.cost?.dollars ?? 0) - Self.answerCost) < 1e-9)
        }
        #expect(abs(status.cost.dollars - 0.30) < 1e-9)
        #expect(status.cost.isComplete)
        // The end-of-run line carries the cost beside the token fields.
        let line = try #require(harness.logs.all.first { $0.message == "outline published" })
        #expect(line.metadata["cost_usd"] == "0.300000")
        #expect(line.metadata["tokens_out"] == "3000")
        // And each chapter's line its own.
        let chapterLines = harness.logs.all.filter { $0.message == "chapter generated" }
        #expect(chapterLines.count == 3)
        #expect(chapterLines.allSatisfy { $0.metadata["cost_usd"] == "0.100000" })
    }
}
