public import Providers
public import Outlines

/// What a model's tokens cost, in US dollars per million tokens.
public struct Price: Sendable, Hashable, Codable {
    /// Prompt tokens (system instruction and prompt).
    public var inputPerMillion: Double
    /// Tokens of the answer's text.
    public var outputPerMillion: Double
    /// Thinking tokens (Gemini bills them as output; so does OpenAI for reasoning tokens).
    public var thinkingPerMillion: Double

    public init(inputPerMillion: Double, outputPerMillion: Double, thinkingPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.thinkingPerMillion = thinkingPerMillion
    }

    /// US dollars for `usage` at this price.
    public func dollars(for usage: Usage) -> Double {
        (Double(usage.promptTokens) * inputPerMillion + Double(usage.outputTokens) * outputPerMillion
            + Double(usage.thinkingTokens) * thinkingPerMillion) / 1_000_000
    }

    /// The most a request can cost: `inputTokens` at the input price, and its whole output
    /// budget at the dearer of the output and thinking prices (thinking tokens count against the
    /// same budget, so the budget bounds both together).
    public func mostDollars(inputTokens: Int, outputBudget: Int) -> Double {
        (Double(inputTokens) * inputPerMillion + Double(outputBudget) * max(outputPerMillion, thinkingPerMillion))
            / 1_000_000
    }
}

/// Prices by model name: the built-in ones, with the rows of the `prices` setting added or
/// replacing them.
public struct PriceTable: Sendable, Hashable {
    public private(set) var prices: [String: Price]

    public init(_ prices: [String: Price] = [:]) {
        self.prices = prices
    }

    /// The price of `model`, nil when the table has none: its cost is then unknown, never zero.
    public func price(for model: String) -> Price? { prices[model] }

    /// This table with `other`'s rows added, replacing rows of the same model.
    public func merging(_ other: PriceTable) -> PriceTable {
        PriceTable(prices.merging(other.prices) { _, new in new })
    }

    /// Google's published standard (paid tier) prices, as read on 2026-12-01 from
    /// https://ai.google.dev/gemini-api/docs/pricing (Gemini Developer API), as relayed by pages
    /// that cite it (Google's own page was not reachable from the build machines): gemini-2.5-flash,
    /// $0.30 per million input tokens (text, image, video) and $2.50 per million output tokens,
    /// thinking tokens included (this model has no higher rate for long prompts). Other tiers
    /// (the free tier, batch) cost less: override with the `prices` setting.
    ///
    /// gemini-3.8-flash (the default model) is at its launch price, $0.75 / $3.75, which Google
    /// says holds until 2026-12-31 and doubles to $1.50 / $7.50 from 2027-01-01: set `prices` for
    /// it then. gemini-3.5-flash-lite: $0.30 / $2.50.
    public static let builtIn = PriceTable([
        "gemini-2.5-flash": Price(inputPerMillion: 0.30, outputPerMillion: 2.50, thinkingPerMillion: 2.50),
        "gemini-3.8-flash": Price(inputPerMillion: 0.75, outputPerMillion: 3.75, thinkingPerMillion: 3.75),
        "gemini-3.5-flash-lite": Price(inputPerMillion: 0.30, outputPerMillion: 2.50, thinkingPerMillion: 2.50),
    ])
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

    /// The cost of `usage` at `price`; all of it unpriced when `price` is nil.
    public init(_ usage: Usage, at price: Price?) {
        if let price {
            self.init(dollars: price.dollars(for: usage))
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
        let note = "\(tokens) tokens of a model with no price"
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
