/// How hard a Gemini 3 model thinks before it answers: `generationConfig.thinkingConfig.thinkingLevel`.
/// Gemini 3 models take a level instead of a token budget (each model a subset: Flash takes
/// low, medium and high, Pro low and high). The raw value is the setting's word; the wire
/// carries the enum's name, as python-genai's `ThinkingLevel` does (`MINIMAL`, `LOW`, ...).
public enum ThinkingLevel: String, Sendable, Hashable, CaseIterable, Codable {
    case minimal, low, medium, high

    /// The name the API's JSON takes (the proto enum value).
    public var wireName: String { rawValue.uppercased() }
}

/// Gemini's service tiers for `generateContent` (the request's top-level `serviceTier`, in
/// python-genai's spelling, lowercase): the same call, at another price and speed.
public enum ServiceTier: String, Sendable, Hashable, CaseIterable, Codable {
    /// The default: not sent.
    case standard
    /// Half price; answers within minutes, and requests may be shed under load.
    case flex
    /// Dearer, served first.
    case priority
}

/// What an answer is billed at: the tier it ran at, or the Batch API (half price).
public enum BillingTier: String, Sendable, Hashable, CaseIterable, Codable {
    case standard, flex, priority, batch

    public init(_ tier: ServiceTier) {
        switch tier {
        case .standard: self = .standard
        case .flex: self = .flex
        case .priority: self = .priority
        }
    }
}

/// The generations of Gemini models that differ in what their requests may carry.
public enum GeminiFamily: Sendable, Hashable {
    /// Gemini 3 (`gemini-3…`): thinking by `thinkingLevel`; a `thinkingBudget` is refused (400
    /// when both are sent), and `temperature`, `topP` and `topK` are deprecated.
    case gemini3
    /// Gemini 2.5 and older: thinking by `thinkingBudget`, sampling by `temperature`.
    case earlier

    /// The family of the model named `model` ("gemini-3.8-flash", or "models/gemini-3.8-flash").
    public init(model: String) {
        let name = model.hasPrefix("models/") ? model.dropFirst("models/".count) : Substring(model)
        self = name.hasPrefix("gemini-3") ? .gemini3 : .earlier
    }
}

/// One model as `GET /v1beta/models` lists it.
public struct GeminiModel: Sendable, Hashable, Codable {
    /// The name requests use, without the `models/` prefix ("gemini-3.8-flash").
    public var name: String
    /// The name people read ("Gemini 3.8 Flash"); the name when the API gives none.
    public var displayName: String
    /// What the model serves (`supportedGenerationMethods`: "generateContent", "countTokens", ...).
    public var supportedActions: [String]

    public init(name: String, displayName: String? = nil, supportedActions: [String]) {
        self.name = name.hasPrefix("models/") ? String(name.dropFirst("models/".count)) : name
        self.displayName = displayName ?? self.name
        self.supportedActions = supportedActions
    }

    /// Whether chapters can be written with it.
    public var generatesContent: Bool { supportedActions.contains("generateContent") }
}
