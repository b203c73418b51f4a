import Foundation
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines

@Suite("What tokens cost: prices, estimates and the budget gate")
struct CostTests {
    static let flash = Price(inputPerMillion: 0.30, outputPerMillion: 2.50, thinkingPerMillion: 2.50)

    @Test(
        "an estimate is usage times the price per million tokens of each kind",
        arguments: [
            (Usage(), 0.0),
            (Usage(promptTokens: 1_000_000), 0.30),
            (Usage(outputTokens: 1_000_000), 2.50),
            (Usage(thinkingTokens: 1_000_000), 2.50),
            (Usage(promptTokens: 1000, outputTokens: 2000, thinkingTokens: 1000), 0.0078),
            (Usage(promptTokens: 812, outputTokens: 2110, thinkingTokens: 1028), 0.0080886),
        ]
    )
    func dollars(usage: Usage, expected: Double) {
        let estimate = CostEstimate(usage, at: Self.flash)
        #expect(abs(estimate.dollars - expected) < 1e-12)
        #expect(estimate.isComplete)
    }

    @Test("thinking is priced on its own: a model may bill it differently from output")
    func thinkingPrice() {
        let price = Price(inputPerMillion: 1, outputPerMillion: 2, thinkingPerMillion: 10)
        #expect(abs(price.dollars(for: Usage(outputTokens: 500_000, thinkingTokens: 100_000)) - 2.0) < 1e-12)
        // The most a request can cost bounds output and thinking together by the dearer price.
        #expect(abs(price.mostDollars(inputTokens: 1_000_000, outputBudget: 100_000) - 2.0) < 1e-12)
    }

    @Test("a model with no price has an unknown cost, never zero, and it stays apart when added")
    func unknownModel() {
        let unknown = CostEstimate(Usage(promptTokens: 100, outputTokens: 200), at: nil)
        #expect(!unknown.isComplete)
        #expect(unknown.dollars == 0)
        #expect(unknown.field == "unknown")
        #expect(unknown.summary == "unknown (300 tokens of a model with no price)")
        let mixed = CostEstimate(Usage(outputTokens: 4000), at: Self.flash) + unknown
        #expect(mixed.dollars == 0.01)
        #expect(mixed.unpriced == Usage(promptTokens: 100, outputTokens: 200))
        #expect(mixed.summary == "at least $0.0100 (300 tokens of a model with no price)")
        #expect(PriceTable.builtIn.price(for: "gemini-2.5-pro") == nil)
        #expect(PriceTable.builtIn.price(for: "gemini-2.5-flash") == Self.flash)
    }

    @Test(
        "amounts read as people and log fields expect them",
        arguments: [
            (0.0, "$0.0000", "0.000000"), (0.0078, "$0.0078", "0.007800"), (0.00001, "<$0.0001", "0.000010"),
            (0.12345, "$0.1235", "0.123450"), (1.006, "$1.01", "1.006000"), (12.3, "$12.30", "12.300000"),
            (1234.5678915, "$1234.57", "1234.567892"),
        ]
    )
    func formats(dollars: Double, summary: String, field: String) {
        #expect(CostEstimate(dollars: dollars).summary == summary)
        #expect(CostEstimate(dollars: dollars).field == field)
    }

    @Test("a price table's rows replace the built-in ones of the same model and add others")
    func merging() {
        let mine = PriceTable([
            "gemini-2.5-flash": Price(inputPerMillion: 0.15, outputPerMillion: 1.25, thinkingPerMillion: 1.25),
            "llama3.1:8b": Price(inputPerMillion: 0, outputPerMillion: 0, thinkingPerMillion: 0),
        ])
        let merged = PriceTable.builtIn.merging(mine)
        #expect(merged.price(for: "gemini-2.5-flash")?.inputPerMillion == 0.15)
        #expect(merged.price(for: "llama3.1:8b") != nil)
        #expect(merged.prices.count == PriceTable.builtIn.prices.count + 1)
        #expect(PriceTable.builtIn.price(for: GenerationSettings.defaultModel) != nil, "the default model is priced")
    }

    @Test(
        "a run's budget is the lower of the setting's and the outline's",
        arguments: [
            (nil, nil, nil), (2.0, nil, 2.0), (nil, 3.0, 3.0), (2.0, 3.0, 2.0), (5.0, 0.5, 0.5), (0.0, 1.0, 0.0),
        ] as [(Double?, Double?, Double?)]
    )
    func effectiveBudget(setting: Double?, course: Double?, expected: Double?) {
        let outline = Outline(title: "T", budget: course, chapters: [.init(title: "A")])
        #expect(CostPolicy(budget: setting).budget(for: outline) == expected)
    }

    // MARK: - The gate

    @Test(
        "an attempt is sent while spent, reserved and its own most fit; else it waits for others, or is refused",
        arguments: [
            (0.02, 0.0, 0.0, false, 0.05, Spending.Admission.send),
            (0.02, 0.01, 0.02, true, 0.05, .send),
            (0.02, 0.01, 0.02, true, 0.049, .wait),
            (0.02, 0.04, 0.0, false, 0.05, .refuse),
            (0.02, 0.03, 0.0, false, 0.05, .send),
            (0.06, 0.0, 0.0, false, 0.05, .refuse),
            (0.0, 0.0, 0.0, false, 0.0, .send),
            (0.01, 0.0, 0.0, false, 0.0, .refuse),
        ]
    )
    func admission(
        most: Double,
        spent: Double,
        reserved: Double,
        others: Bool,
        budget: Double,
        expected: Spending.Admission
    ) {
        #expect(
            Spending.admission(most: most, spent: spent, reserved: reserved, othersInFlight: others, budget: budget)
                == expected
        )
    }

    /// A request whose most is `outputBudget` tokens of output (its prompt is empty: 8 tokens).
    static func request(outputBudget: Int, title: String = "A") -> ChapterRequest {
        ChapterRequest(
            key: ChapterKey(
                settings: GenerationSettings(),
                outline: Outline(title: "T", chapters: [.init(title: title)]),
                index: 0
            ),
            model: "gemini-2.5-flash",
            systemInstruction: "",
            prompt: "",
            temperature: 0.7,
            maxOutputTokens: outputBudget,
            thinkingBudget: 0
        )
    }

    @Test("the most an attempt may cost counts its prompt at a token per byte and its whole output budget")
    func mostForRequest() throws {
        let spending = Spending(price: Self.flash, budget: 1)
        var request = Self.request(outputBudget: 8192)
        request.prompt = String(repeating: "é", count: 500)  // 1000 bytes
        let most = try #require(spending.most(for: request))
        #expect(abs(most - (1008 * 0.30 + 8192 * 2.50) / 1_000_000) < 1e-12)
        #expect(Spending(price: nil, budget: 1).most(for: request) == nil)
    }

    @Test("without a budget every attempt goes at once and nothing is reserved")
    func noBudget() async throws {
        let spending = Spending(price: nil, budget: nil)
        for _ in 0..<3 {
            #expect(try await spending.reserve(for: Self.request(outputBudget: 1_000_000)) == nil)
        }
    }

    @Test("a waiting attempt is sent once an answer frees what it reserved, and refused once nothing is in flight")
    func waitsThenRefuses() async throws {
        // Each attempt may cost up to $0.025 (10,000 output tokens and 8 of prompt); an answer costs $0.01.
        let spending = Spending(price: Self.flash, budget: 0.0601)
        let request = Self.request(outputBudget: 10_000)
        let answer = Usage(outputTokens: 4000)
        let first = try await spending.reserve(for: request)
        let second = try await spending.reserve(for: request)
        #expect(first != nil && second != nil)

        // 0.05 reserved: a third must wait.
        let third = Task { try await spending.reserve(for: request) }
        try await waitUntil { spending.waiting == 1 }
        spending.settle(first, usage: answer)  // spent 0.01, reserved 0.025: 0.06 fits
        let thirdReservation = try await third.value
        #expect(thirdReservation != nil)
        #expect(abs(spending.spent - 0.01) < 1e-12)

        // Spent 0.01, reserved 0.05: the fourth waits until both settle, then 0.03 + 0.025 fits.
        let fourth = Task { try await spending.reserve(for: request) }
        try await waitUntil { spending.waiting == 1 }
        spending.settle(second, usage: answer)
        #expect(spending.waiting == 1, "0.02 spent + 0.025 reserved + 0.025 does not fit yet")
        spending.settle(thirdReservation, usage: answer)
        let fourthReservation = try await fourth.value
        spending.settle(fourthReservation, usage: answer)
        spending.settle(fourthReservation, usage: answer)  // settling twice changes nothing
        #expect(abs(spending.spent - 0.04) < 1e-12)

        // 0.04 spent, nothing in flight: 0.065 can never fit.
        await #expect(throws: BudgetRefusal.self) { try await spending.reserve(for: request) }
        #expect(spending.waiting == 0)
    }

    @Test("waiting attempts are served in the order they came, and a cancelled one leaves the queue")
    func order() async throws {
        let spending = Spending(price: Self.flash, budget: 0.0501)
        let large = Self.request(outputBudget: 10_000)  // at most about 0.025
        let small = Self.request(outputBudget: 0)  // at most 8 prompt tokens
        let holder = try await spending.reserve(for: large)
        let second = try await spending.reserve(for: large)
        let cancelled = Task { try await spending.reserve(for: large) }
        try await waitUntil { spending.waiting == 1 }
        let firstWaiter = Task { try await spending.reserve(for: large) }
        try await waitUntil { spending.waiting == 2 }
        // It would fit now, but it came after attempts that do not: it waits its turn.
        let secondWaiter = Task { try await spending.reserve(for: small) }
        try await waitUntil { spending.waiting == 3 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(spending.waiting == 2, "the cancelled attempt left; the small one still waits behind the large one")
        spending.settle(holder, usage: Usage())
        #expect(try await firstWaiter.value != nil)
        #expect(try await secondWaiter.value != nil)
        #expect(spending.waiting == 0)
        spending.settle(second, usage: Usage())
    }

    /// Returns once `condition` holds, yielding between checks (a safety net fails the test after
    /// ten seconds).
    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }
}
