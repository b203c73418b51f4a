import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines
@testable import Providers

/// Gemini's service tiers and what they cost (issue 21, items 4 and 6): the request's
/// `serviceTier`, the answer's tier and cached tokens, shed flex requests, and prices by tier.
@Suite("Service tiers and prices")
struct ServiceTierTests {
    func request(tier: ServiceTier) -> ChapterRequest {
        var request = ChapterRequest(
            key: ChapterKey(hex: String(repeating: "a", count: 64))!,
            model: "gemini-3.8-flash",
            systemInstruction: "s",
            prompt: "p",
            temperature: nil,
            maxOutputTokens: 1024,
            thinkingBudget: nil
        )
        request.serviceTier = tier
        return request
    }

    @Test(
        "serviceTier is sent at the top level for flex and priority, never for standard",
        arguments: [(ServiceTier.standard, nil), (.flex, "flex"), (.priority, "priority")]
    )
    func requestShape(tier: ServiceTier, sent: String?) throws {
        let body = try JSONEncoder().encode(GeminiWire.Request(request(tier: tier)))
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(json["serviceTier"] as? String == sent)
        #expect((json["generationConfig"] as? [String: Any])?["serviceTier"] == nil)
    }

    @Test(
        "an answer is billed at the tier the API says it ran at, else at the one asked for",
        arguments: [
            (#""serviceTier": "flex","#, ServiceTier.standard, BillingTier.flex),
            (#""serviceTier": "SERVICE_TIER_STANDARD","#, .priority, .standard),
            ("", .flex, .flex),
            (#""serviceTier": "mystery","#, .priority, .priority),
        ]
    )
    func answerTier(field: String, asked: ServiceTier, billed: BillingTier) throws {
        let body = """
            {"candidates": [{"content": {"parts": [{"text": "Body."}]}, "finishReason": "STOP"}],
             "usageMetadata": {\(field) "promptTokenCount": 100, "cachedContentTokenCount": 60,
               "candidatesTokenCount": 10}}
            """
        let response = try GeminiWire.classify(status: 200, body: Array(body.utf8), asked: asked).get()
        #expect(response.tier == billed)
        #expect(response.usage == Usage(promptTokens: 100, outputTokens: 10, cachedPromptTokens: 60))
    }

    static let unavailable = #"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#
    static let exhausted = #"{"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}}"#
    static let perMinute = """
        {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED", "details": [
          {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]}]}}
        """
    static let tierRefused = """
        {"error": {"code": 400, "message": "Service tier flex is not supported for models/gemini-3.1-flash-lite.",
          "status": "INVALID_ARGUMENT"}}
        """

    /// What an error answer is, by status, body and the tier asked for: (shed, overloaded,
    /// rate limit, disposition).
    @Test(
        "a flex request shed under load is neither overload nor a rate limit; quotas and other tiers are as before",
        arguments: [
            (503, unavailable, ServiceTier.flex, true, false, false, ProviderError.Disposition.retry),
            (429, exhausted, .flex, true, false, false, .retry),
            (429, perMinute, .flex, false, false, true, .retry),
            (503, unavailable, .standard, false, true, false, .retry),
            (429, exhausted, .standard, false, false, true, .retry),
            (503, unavailable, .priority, false, true, false, .retry),
            (400, tierRefused, .flex, false, false, false, .stopEverything),
            (400, tierRefused, .standard, false, false, false, .fatal),
        ]
    )
    func errors(
        status: Int,
        body: String,
        asked: ServiceTier,
        shed: Bool,
        overloaded: Bool,
        rateLimit: Bool,
        disposition: ProviderError.Disposition
    ) {
        let error = GeminiWire.classifyError(status: status, body: Array(body.utf8), asked: asked)
        #expect(error.shed == shed)
        #expect(error.overloaded == overloaded)
        #expect(error.isRateLimit == rateLimit)
        #expect(error.disposition == disposition)
        #expect(error.showsServiceUnavailable == overloaded, "a shed request never counts against the breaker")
        #expect((Breaker.Outcome(error) == .shed) == (shed || rateLimit))
    }

    @Test("a model that does not take the tier stops everything once, naming the tier and the way out")
    func tierRefusedMessage() {
        let error = GeminiWire.classifyError(status: 400, body: Array(Self.tierRefused.utf8), asked: .flex)
        #expect(error.message.contains("this model does not take service tier flex"))
        #expect(error.message.contains("service-tier to standard"))
        #expect(error.message.contains("models/gemini-3.1-flash-lite"))
    }

    @Test("a stretch of shed flex requests lowers the in-flight limit once; a success ends the stretch")
    func shedStretch() {
        var limit = AdaptiveLimit(maximum: 8)
        #expect(limit.shed(sentIn: limit.generation) == .decreased(from: 8, to: 4))
        #expect(limit.shed(sentIn: limit.generation) == nil)
        #expect(limit.shed(sentIn: limit.generation) == nil)
        #expect(limit.current == 4)
        _ = limit.succeeded()
        #expect(limit.shed(sentIn: limit.generation) == .decreased(from: 4, to: 2))
        // Overload proper still halves at once, stretch or not.
        #expect(limit.overloaded(sentIn: limit.generation) == .decreased(from: 2, to: 1))
    }

    static let price = Price(inputPerMillion: 1, outputPerMillion: 4, thinkingPerMillion: 4)
    static let usage = Usage(promptTokens: 1_000_000, outputTokens: 500_000, thinkingTokens: 250_000)

    @Test(
        "each tier costs its factor of the standard price; cached prompt tokens cost the cached rate",
        arguments: [
            (BillingTier.standard, price, usage, 4.0),
            (.flex, price, usage, 2.0),
            (.batch, price, usage, 2.0),
            (.priority, price, usage, 8.0),
            (
                .priority, Price(inputPerMillion: 1, outputPerMillion: 4, thinkingPerMillion: 4, priorityFactor: 1.75),
                usage, 7.0
            ),
            // 400k cached of 1M: 600k at $1 + 400k at $0.10 = $0.64, plus $3 out and thinking.
            (
                .standard, price,
                Usage(promptTokens: 1_000_000, outputTokens: 500_000, thinkingTokens: 250_000, cachedPromptTokens: 400_000),
                3.64
            ),
            (
                .flex, Price(inputPerMillion: 1, outputPerMillion: 4, thinkingPerMillion: 4, cachedInputPerMillion: 0.25),
                Usage(promptTokens: 1_000_000, outputTokens: 500_000, thinkingTokens: 250_000, cachedPromptTokens: 400_000),
                1.85
            ),
        ]
    )
    func tierPrices(tier: BillingTier, price: Price, usage: Usage, dollars: Double) {
        #expect(abs(price.dollars(for: usage, tier: tier) - dollars) < 1e-9)
        #expect(abs(CostEstimate(usage, at: price, tier: tier).dollars - dollars) < 1e-9)
    }

    @Test("the most a request can cost follows its tier: a budget holds at flex for twice the chapters")
    func mostByTier() {
        let standard = Self.price.mostDollars(inputTokens: 1000, outputBudget: 8192)
        #expect(Self.price.mostDollars(inputTokens: 1000, outputBudget: 8192, tier: .flex) == standard / 2)
        #expect(Self.price.mostDollars(inputTokens: 1000, outputBudget: 8192, tier: .priority) == standard * 2)
        let spending = Spending(price: Self.price, budget: 1)
        #expect(spending.most(for: request(tier: .flex)) == spending.most(for: request(tier: .standard)).map { $0 / 2 })
    }

    @Test("gemini-3.8-flash's built-in price doubles on 2027-01-01 UTC; a prices row for it replaces the change")
    func datedPrice() throws {
        let table = PriceTable.builtIn
        let lastDay = Date(timeIntervalSince1970: 1_798_761_599)  // 2026-12-31T23:59:59Z
        let newYear = Date(timeIntervalSince1970: 1_798_761_600)
        #expect(table.price(for: "gemini-3.8-flash", on: lastDay)?.inputPerMillion == 0.75)
        #expect(table.price(for: "gemini-3.8-flash", on: lastDay)?.outputPerMillion == 3.75)
        #expect(table.price(for: "gemini-3.8-flash", on: newYear)?.inputPerMillion == 1.50)
        #expect(table.price(for: "gemini-3.8-flash", on: newYear)?.outputPerMillion == 7.50)
        #expect(table.price(for: "gemini-2.5-flash", on: newYear)?.inputPerMillion == 0.30)
        #expect(table.price(for: "gemini-3.5-flash", on: lastDay)?.outputPerMillion == 9.00)
        let own = table.merging(
            PriceTable(["gemini-3.8-flash": Price(inputPerMillion: 0.5, outputPerMillion: 3, thinkingPerMillion: 3)])
        )
        #expect(own.price(for: "gemini-3.8-flash", on: newYear)?.inputPerMillion == 0.5)
        #expect(own.price(for: "gemini-3.8-flash", on: lastDay)?.inputPerMillion == 0.5)
    }

    @Test("usage stored before cached tokens were counted reads back with none")
    func oldUsage() throws {
        let old = #"{"promptTokens": 10, "outputTokens": 20, "thinkingTokens": 5}"#
        let usage = try JSONDecoder().decode(Usage.self, from: Data(old.utf8))
        #expect(usage == Usage(promptTokens: 10, outputTokens: 20, thinkingTokens: 5))
        let again = try JSONDecoder().decode(Usage.self, from: JSONEncoder().encode(Usage(promptTokens: 3, cachedPromptTokens: 2)))
        #expect(again.cachedPromptTokens == 2)
    }

    @Test(
        "an outline's service-tier is read in every format; another word names the line and the choices",
        arguments: [
            ("course.yaml", "title: T\nservice-tier: flex\nchapters:\n  - title: A\n", "flex" as String?),
            ("course.md", "---\nservice-tier: priority\n---\n# T\n\n## A\n", "priority"),
            ("course.json", #"{"title": "T", "service-tier": "standard", "chapters": [{"title": "A"}]}"#, "standard"),
        ]
    )
    func outlineField(name: String, text: String, tier: String?) throws {
        let outline = try OutlineParser.parse(Array(text.utf8), format: #require(OutlineFormat(fileName: name)), fileName: name)
        #expect(outline.serviceTier == tier)
        let settings = try CoursePrompts.settings(for: outline, at: "/tmp/\(name)", displayName: name, base: GenerationSettings())
        #expect(settings.serviceTier.rawValue == tier)
    }

    @Test("service-tier: cheap is refused at its line")
    func outlineFieldRefused() {
        #expect {
            try OutlineParser.parse(
                Array("title: T\nservice-tier: cheap\nchapters:\n  - title: A\n".utf8),
                format: .yaml,
                fileName: "c.yaml"
            )
        } throws: { error in
            "\(error)".contains("c.yaml:2") && "\(error)".contains("`flex`")
        }
    }
}

/// Local model servers (issue 22, first part): start at one request in flight, climb while
/// answers come back whole, and an answer cut off for a later request of ours lowers the limit
/// for good and costs no attempt.
@Suite("A local server's parallelism")
struct LocalServerLimitTests {
    @Test("a local server starts at one in flight and climbs by one per run of as many answers")
    func climbsFromOne() {
        var limit = AdaptiveLimit(maximum: 4, start: 1)
        #expect(limit.current == 1)
        #expect(limit.succeeded() == .increased(from: 1, to: 2))
        #expect(limit.succeeded() == nil)
        #expect(limit.succeeded() == .increased(from: 2, to: 3))
        #expect(AdaptiveLimit(maximum: 4, start: 9).current == 4)
        #expect(AdaptiveLimit(maximum: 4).current == 4)
    }

    @Test("an overrun lowers the limit by one and caps it there; stale ones and a reload")
    func overrunCaps() {
        var limit = AdaptiveLimit(maximum: 8, start: 1)
        _ = limit.succeeded()
        #expect(limit.current == 2)
        let sent = limit.generation
        #expect(limit.overrun(sentIn: sent) == .decreased(from: 2, to: 1))
        // A second answer cut in the same crowded moment changes nothing more.
        #expect(limit.overrun(sentIn: sent) == nil)
        for _ in 0..<10 { #expect(limit.succeeded() == nil) }
        #expect(limit.current == 1 && limit.ceiling == 1)
        // A reload's --concurrency lifts the cap: the server may have changed.
        limit.setMaximum(8)
        #expect(limit.ceiling == nil)
        #expect(limit.succeeded() == .increased(from: 1, to: 2))
    }

    @Test("an overrun is sent again at once, its attempt not counted, whatever attempt it was")
    func resend() {
        let error = ProviderError(.retry, "the answer has no finish_reason; it was probably cut off").markedCutOff()
        var request = ChapterRequest(
            key: ChapterKey(hex: String(repeating: "b", count: 64))!,
            model: "m",
            systemInstruction: "s",
            prompt: "p",
            temperature: 0.7,
            maxOutputTokens: 1024,
            thinkingBudget: nil
        )
        request.serviceTier = .standard
        let configuration = Scheduler.Configuration(maximumAttempts: 2)
        #expect(RetryStep.decide(.overrun(error), attempt: 2, of: request, under: configuration, unit: 0) == .resend)
        #expect(
            RetryStep.decide(.failed(error), attempt: 2, of: request, under: configuration, unit: 0)
                == .fail(exhausted: true)
        )
    }

    @Test(
        "which base URLs are a server of one's own",
        arguments: [
            ("http://127.0.0.1:8080/v1", true), ("http://localhost:11434/v1", true), ("http://[::1]:8000/v1", true),
            ("https://10.1.2.3/v1", true), ("https://172.20.0.5/v1", true), ("https://172.32.0.5/v1", false),
            ("https://192.168.1.10:8080/v1", true), ("https://gpu-box/v1", true), ("https://llm.lan/v1", true),
            ("https://[fd12::1]/v1", true), ("https://api.openai.com/v1", false), ("https://8.8.8.8/v1", false),
            ("not a url", false),
        ]
    )
    func localServers(url: String, local: Bool) {
        #expect(OpenAIProvider.isLocalServer(baseURL: url) == local)
    }
}
