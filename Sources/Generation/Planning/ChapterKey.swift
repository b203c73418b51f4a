import Crypto
public import Outlines
public import Providers
import Platform

extension ChapterKey {
    /// The key of chapter `index` (0-based) of `outline`.
    public init(settings: GenerationSettings, outline: Outline, index: Int) {
        self.init(
            settings: settings,
            outline: outline,
            index: index,
            values: PromptValues(outline: outline, index: index, context: settings.context)
        )
    }

    init(settings: GenerationSettings, outline: Outline, index: Int, values: PromptValues) {
        var encoder = CanonicalEncoder(domain: "coursegen.chapter-key.v1")
        encoder.append("provider", settings.provider)
        encoder.append("model", settings.model)
        settings.templates.append(to: &encoder)
        // What is sent, not what was set: a setting the model does not take changes no key. For a
        // 2.5 model the fields are those of earlier releases, so their keys stay as they were.
        let sent = settings.sent
        if let temperature = sent.temperature { encoder.append("temperature", temperature) }
        encoder.append("max-output-tokens", settings.maxOutputTokens)
        if let thinkingBudget = sent.thinkingBudget { encoder.append("thinking-budget", thinkingBudget) }
        if let thinkingLevel = sent.thinkingLevel { encoder.append("thinking-level", thinkingLevel.rawValue) }
        encoder.appendCourse(outline)
        encoder.appendChapter(outline.chapters[index])
        values.appendContext(to: &encoder)
        self.init(digest: encoder.hexDigest())
    }

    /// The key of every chapter of `outline`, in order.
    public static func all(settings: GenerationSettings, outline: Outline) -> [ChapterKey] {
        outline.chapters.indices.map { ChapterKey(settings: settings, outline: outline, index: $0) }
    }
}
