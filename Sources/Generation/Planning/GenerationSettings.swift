public import Outlines
public import Providers

/// What shapes a chapter besides the outline itself: the provider, the model, the sampling
/// settings, the prompt templates and the course context, which are part of each chapter's cache key (changing any of them regenerates every
/// chapter), and how the stored answer is published (`allowHTML`, not in the key: switching it
/// republishes from the store without a request). Pacing and retry settings are not here: they
/// change when a request is sent, not what it asks for.
public struct GenerationSettings: Sendable, Hashable {
    /// The provider's name ("gemini").
    public var provider: String
    /// The model to ask (`defaultModel` unless set).
    public var model: String
    /// Sampling temperature, 0...2; not sent to Gemini 3 models (see `sent`).
    public var temperature: Double
    /// Output budget per request, in tokens, thinking included. Raised automatically for long
    /// chapters (see `outputTokenBudget(words:)`) and on a retry after an empty MAX_TOKENS answer.
    public var maxOutputTokens: Int
    /// Thinking budget in tokens: 0 turns thinking off, -1 lets the model decide, at most 24576.
    /// Sent to Gemini 2.5 models only (see `sent`); Gemini 3 models still count it in the output
    /// budget, as an allowance for their thinking.
    public var thinkingBudget: Int
    /// Thinking level for Gemini 3 models; nil sends none (the model's default).
    public var thinkingLevel: ThinkingLevel?
    /// Publish raw HTML and script links the model wrote as they are (`--allow-html`); off, the
    /// publisher neutralises them (`ChapterSanitizer`). Not part of the cache key.
    public var allowHTML: Bool
    /// The templates requests are written with: the built-in ones, the installation's
    /// (`system-template`, `chapter-template`), or a course's own (`prompt:`, `system-prompt:`,
    /// resolved per course by `CoursePrompts`). Their text is part of the key when not built in.
    public var templates: PromptTemplates
    /// How much of the rest of the course a chapter's prompt shows; part of the key.
    public var context: CourseContext
    /// Gemini's service tier (`--service-tier`, or an outline's `service-tier:`): the price and
    /// the wait, not the answer, so not part of the key.
    public var serviceTier: ServiceTier

    /// The Gemini model used when none is set: the latest Flash. It changes with releases of
    /// coursegen as Google retires models; every chapter's key changes with it.
    public static let defaultModel = "gemini-3.8-flash"

    /// Words per chapter when the outline does not say.
    public static let defaultWords = 1200

    public init(
        provider: String = "gemini",
        model: String = GenerationSettings.defaultModel,
        temperature: Double = 0.7,
        maxOutputTokens: Int = 8192,
        thinkingBudget: Int = 1024,
        thinkingLevel: ThinkingLevel? = nil,
        allowHTML: Bool = false,
        templates: PromptTemplates = .builtIn,
        context: CourseContext = .none,
        serviceTier: ServiceTier = .standard
    ) {
        self.provider = provider
        self.model = model
        self.temperature = temperature
        self.maxOutputTokens = maxOutputTokens
        self.thinkingBudget = thinkingBudget
        self.thinkingLevel = thinkingLevel
        self.allowHTML = allowHTML
        self.templates = templates
        self.context = context
        self.serviceTier = serviceTier
    }

    /// The output budget for a chapter of `words` words: the configured budget, or more when the
    /// chapter cannot fit in it (about 1.5 tokens per word of Markdown, plus the thinking budget
    /// and a margin), capped at the model's 65,536-token limit.
    public func outputTokenBudget(words: Int) -> Int {
        let thinking = max(thinkingBudget, 0)
        let needed = words * 3 / 2 + thinking + 1024
        return min(max(maxOutputTokens, needed), Self.outputTokenLimit)
    }

    /// The largest output budget Gemini Flash models accept.
    public static let outputTokenLimit = 65_536
}
