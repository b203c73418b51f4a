public import Foundation
public import Providers
public import Outlines

/// What a model's tokens cost, in US dollars per million tokens, at the standard tier; the other
/// tiers are priced from it (`factor(for:)`).
public struct Price: Sendable, Hashable, Codable {
    /// Prompt tokens (system instruction and prompt).
    public var inputPerMillion: Double
    /// Tokens of the answer's text.
    public var outputPerMillion: Double
    /// Thinking tokens (Gemini bills them as output; so does OpenAI for reasoning tokens).
    public var thinkingPerMillion: Double
    /// Prompt tokens the API served from its cache (`Usage.cachedPromptTokens`); nil: a tenth of
    /// `inputPerMillion`, Gemini's cached-input rate for 2.5 and newer models.
    public var cachedInputPerMillion: Double?
    /// The priority tier's price as a multiple of this one; nil: `defaultPriorityFactor`.
    public var priorityFactor: Double?

    /// Google gives priority as 75 to 100 % above standard: the upper end, so that a budget
    /// holds whatever the model's premium is.
    public static let defaultPriorityFactor = 2.0

    public init(
        inputPerMillion: Double,
        outputPerMillion: Double,
        thinkingPerMillion: Double,
        cachedInputPerMillion: Double? = nil,
        priorityFactor: Double? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.thinkingPerMillion = thinkingPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.priorityFactor = priorityFactor
    }

    /// What `tier` costs as a multiple of the standard price: flex and batch half, priority its
    /// premium.
    public func factor(for tier: BillingTier) -> Double {
        switch tier {
        case .standard: 1
        case .flex, .batch: 0.5
        case .priority: priorityFactor ?? Self.defaultPriorityFactor
        }
    }

    /// US dollars for `usage` at this price and `tier`; cached prompt tokens at the cached rate.
    public func dollars(for usage: Usage, tier: BillingTier = .standard) -> Double {
        let cached = min(max(usage.cachedPromptTokens, 0), usage.promptTokens)
        let input =
            Double(usage.promptTokens - cached) * inputPerMillion
            + Double(cached) * (cachedInputPerMillion ?? inputPerMillion / 10)
        let standard =
            (input + Double(usage.outputTokens) * outputPerMillion
                + Double(usage.thinkingTokens) * thinkingPerMillion) / 1_000_000
        return standard * factor(for: tier)
    }

    /// The most a request can cost: `inputTokens` at the input price, and its whole output
    /// budget at the dearer of the output and thinking prices (thinking tokens count against the
    /// same budget, so the budget bounds both together), at `tier`.
    public func mostDollars(inputTokens: Int, outputBudget: Int, tier: BillingTier = .standard) -> Double {
        (Double(inputTokens) * inputPerMillion + Double(outputBudget) * max(outputPerMillion, thinkingPerMillion))
            / 1_000_000 * factor(for: tier)
    }
}

/// Prices by model name: the built-in ones, with the rows of the `prices` setting added or
/// replacing them.
public struct PriceTable: Sendable, Hashable {
    /// A built-in price that Google announced will change on a date.
    public struct Change: Sendable, Hashable {
        /// From this instant on (UTC midnight of the day Google gave)...
        public var from: Date
        /// ...the model costs this.
        public var price: Price
    }

    public private(set) var prices: [String: Price]
    /// Announced changes of built-in prices, by model; a row of the `prices` setting for the
    /// model replaces its change too.
    public private(set) var changes: [String: Change]

    public init(_ prices: [String: Price] = [:], changes: [String: Change] = [:]) {
        self.prices = prices
        self.changes = changes
    }

    /// The price of `model` on `date`, nil when the table has none: its cost is then unknown,
    /// never zero.
    public func price(for model: String, on date: Date = Date()) -> Price? {
        if let change = changes[model], date >= change.from { return change.price }
        return prices[model]
    }

    /// This table with `other`'s rows added, replacing rows of the same model, and their
    /// announced changes unless the row restates this table's price (the example config's
    /// defaults, uncommented, change nothing).
    public func merging(_ other: PriceTable) -> PriceTable {
        let kept = changes.filter { model, _ in other.prices[model].map { $0 == prices[model] } ?? true }
        return PriceTable(
            prices.merging(other.prices) { _, new in new },
            changes: kept.merging(other.changes) { _, new in new }
        )
    }

    /// Google's published standard (paid tier) prices, as read on 2026-12-01 from
    /// https://ai.google.dev/gemini-api/docs/pricing (Gemini Developer API), as relayed by pages
    /// that cite it (Google's own page was not reachable from the build machines), in US dollars
    /// per million tokens, thinking tokens billed as output, no higher rate for long prompts:
    /// gemini-2.5-flash and gemini-3.5-flash-lite $0.30 in / $2.50 out; gemini-3.5-flash
    /// $1.50 / $9.00; gemini-3.8-flash (the default model) $0.75 / $3.75 until 2026-12-31, then
    /// $1.50 / $7.50 from 2027-01-01 (a `Change`). Cached input: a tenth of input. Flex and the
    /// Batch API cost half, priority up to twice (`Price.factor(for:)`). Other models have no
    /// built-in price: the `prices` setting adds them.
    public static let builtIn = PriceTable(
        [
            "gemini-2.5-flash": Price(inputPerMillion: 0.30, outputPerMillion: 2.50, thinkingPerMillion: 2.50),
            "gemini-3.5-flash-lite": Price(inputPerMillion: 0.30, outputPerMillion: 2.50, thinkingPerMillion: 2.50),
            "gemini-3.5-flash": Price(inputPerMillion: 1.50, outputPerMillion: 9.00, thinkingPerMillion: 9.00),
            "gemini-3.8-flash": Price(inputPerMillion: 0.75, outputPerMillion: 3.75, thinkingPerMillion: 3.75),
        ],
        changes: [
            "gemini-3.8-flash": Change(
                from: Date(timeIntervalSince1970: 1_798_761_600),  // 2027-01-01T00:00:00Z
                price: Price(inputPerMillion: 1.50, outputPerMillion: 7.50, thinkingPerMillion: 7.50)
            )
        ]
    )
}

/// An estimate of what tokens cost: their usage times their model's price. Tokens of a model
/// with no price are kept apart, so an estimate is never a wrong number: it is exact for the
/// priced part and says how much is not priced.
public struct CostEstimate: Sendable, Hashable, Codable {
    /// US dollars for the tokens whose model has a price.
    public var dollars: Double
    /// Tokens whose model had no price: their cost is unknown (at least zero).
    public var unpriced: Usage

    public init(dollars: Double = 0, unpriced: Usage = Usage()) {
        self.dollars = dollars
        self.unpriced = unpriced
    }

    /// The cost of `usage` at `price` and `tier`; all of it unpriced when `price` is nil. Answers
    /// that reported no usage stay unpriced: their cost is unknown.
    public init(_ usage: Usage, at price: Price?, tier: BillingTier = .standard) {
        if let price {
            self.init(dollars: price.dollars(for: usage, tier: tier), unpriced: Usage(unreported: usage.unreported))
        } else {
            self.init(unpriced: usage)
        }
    }

    /// True when every token was priced: `dollars` is the whole estimate.
    public var isComplete: Bool { unpriced == Usage() }

    public static func + (lhs: Self, rhs: Self) -> Self {
        CostEstimate(dollars: lhs.dollars + rhs.dollars, unpriced: lhs.unpriced + rhs.unpriced)
    }

    public static func += (lhs: inout Self, rhs: Self) { lhs = lhs + rhs }

    /// For people: "$0.0123", "at least $0.0123 (1200 tokens with no price)", "unknown (1200
    /// tokens with no price)".
    public var summary: String {
        guard !isComplete else { return Self.format(dollars) }
        let tokens = unpriced.promptTokens + unpriced.outputTokens + unpriced.thinkingTokens
        var notes: [String] = []
        if tokens > 0 || unpriced.unreported == 0 { notes.append("\(tokens) tokens of a model with no price") }
        if unpriced.unreported > 0 {
            let answers = unpriced.unreported == 1 ? "1 answer" : "\(unpriced.unreported) answers"
            notes.append("tokens not reported by the server for \(answers)")
        }
        let note = notes.joined(separator: "; ")
        return dollars > 0 ? "at least \(Self.format(dollars)) (\(note))" : "unknown (\(note))"
    }

    /// For a log field (`COST_USD=`): dollars with six decimals, or "unknown" when some tokens
    /// had no price.
    public var field: String {
        isComplete ? Self.fieldText(dollars) : "unknown"
    }

    /// `dollars` with six decimals ("0.006550"), for log fields and metrics labels.
    public static func fieldText(_ dollars: Double) -> String {
        let micro = (dollars * 1_000_000).rounded()
        let whole = Int64(micro) / 1_000_000
        let fraction = Int64(micro) % 1_000_000
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// "$12.35" from a dollar up, "$0.0066" below, "<$0.0001" for a tiny non-zero amount.
    public static func format(_ dollars: Double) -> String {
        if dollars >= 1 { return "$" + fixed(dollars, decimals: 2) }
        if dollars > 0 && dollars < 0.00005 { return "<$0.0001" }
        return "$" + fixed(dollars, decimals: 4)
    }

    private static func fixed(_ value: Double, decimals: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * Double(scale)).rounded())
        let digits = String(scaled % scale)
        return "\(scaled / scale)." + String(repeating: "0", count: decimals - digits.count) + digits
    }
}

/// What a run may spend and the prices it is estimated with: settings (`prices`, `budget`) that
/// change no chapter's request, so they are not in any cache key.
public struct CostPolicy: Sendable, Hashable {
    public var prices: PriceTable
    /// The most one run may spend, in US dollars; nil: no limit. An outline's own `budget:`
    /// lowers it for that outline.
    public var budget: Double?

    public init(prices: PriceTable = .builtIn, budget: Double? = nil) {
        self.prices = prices
        self.budget = budget
    }

    /// The budget of a run of `outline`: the lower of this one and the outline's own.
    public func budget(for outline: Outline) -> Double? {
        switch (budget, outline.budget) {
        case (let setting?, let course?): min(setting, course)
        case (let setting?, nil): setting
        case (nil, let course): course
        }
    }
}
