public import Outlines
public import Providers
import Platform

extension ChapterRequest {
    /// Builds the request for chapter `index` (0-based) of `outline` under `settings`.
    public init(settings: GenerationSettings, outline: Outline, index: Int) {
        let values = PromptValues(outline: outline, index: index, context: settings.context)
        let sent = settings.sent
        self.init(
            key: ChapterKey(settings: settings, outline: outline, index: index, values: values),
            model: settings.model,
            systemInstruction: settings.templates.system.render(values),
            prompt: settings.templates.chapter.render(values),
            temperature: sent.temperature,
            maxOutputTokens: settings.outputTokenBudget(words: outline.words ?? GenerationSettings.defaultWords),
            thinkingBudget: sent.thinkingBudget,
            thinkingLevel: sent.thinkingLevel
        )
        serviceTier = settings.serviceTier
    }
}
