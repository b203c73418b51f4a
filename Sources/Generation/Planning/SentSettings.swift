public import Providers

/// The sampling and thinking settings a request carries, decided from the provider and the
/// model: what is sent, not what was set. Chapter keys hold these, so a setting the model does
/// not take never changes a key.
///
/// | provider | model family | temperature | thinkingBudget | thinkingLevel |
/// | --- | --- | --- | --- | --- |
/// | gemini | Gemini 3 (`gemini-3…`) | not sent | not sent | the setting's, when set |
/// | gemini | 2.5 and older | sent | sent | not sent |
/// | openai | any | sent | kept in the key, not sent (`OpenAIWire`) | not sent |
public struct SentSettings: Sendable, Hashable {
    public var temperature: Double?
    public var thinkingBudget: Int?
    public var thinkingLevel: ThinkingLevel?

    public init(temperature: Double? = nil, thinkingBudget: Int? = nil, thinkingLevel: ThinkingLevel? = nil) {
        self.temperature = temperature
        self.thinkingBudget = thinkingBudget
        self.thinkingLevel = thinkingLevel
    }

    /// What a request to `model` through `provider` carries, given the settings.
    public static func decide(
        provider: String,
        model: String,
        temperature: Double,
        thinkingBudget: Int,
        thinkingLevel: ThinkingLevel?
    ) -> SentSettings {
        switch (provider, GeminiFamily(model: model)) {
        case ("gemini", .gemini3):
            SentSettings(thinkingLevel: thinkingLevel)
        default:
            SentSettings(temperature: temperature, thinkingBudget: thinkingBudget)
        }
    }
}

extension GenerationSettings {
    /// What each request under these settings carries (see `SentSettings`).
    public var sent: SentSettings {
        SentSettings.decide(
            provider: provider,
            model: model,
            temperature: temperature,
            thinkingBudget: thinkingBudget,
            thinkingLevel: thinkingLevel
        )
    }
}
