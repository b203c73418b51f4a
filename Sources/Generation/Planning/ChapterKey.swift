import Crypto

/// The identity of a chapter's generated text: a SHA-256 over a canonical encoding of everything
/// that shapes its request, and nothing else.
///
/// In the key: provider, model, the prompt templates (the built-in version, or the text of the
/// author's own), generation settings, the course-level fields (title, audience, level, language,
/// words, description), the chapter's own entry (title, points, notes) and what its course context
/// shows of the other chapters (nothing by default). Not in the key: the chapter's position
/// (unless `context: toc` shows it), the outline's file name, pacing and retry settings. So by
/// default reordering, inserting or deleting chapters, or renaming the outline file, costs no
/// request for the chapters that stay.
public struct ChapterKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    /// The key of chapter `index` (0-based) of `outline`.
    public init(settings: GenerationSettings, outline: Outline, index: Int) {
        self.init(settings: settings, outline: outline, index: index, values: PromptValues(outline: outline, index: index, context: settings.context))
    }

    init(settings: GenerationSettings, outline: Outline, index: Int, values: PromptValues) {
        var encoder = CanonicalEncoder(domain: "coursegen.chapter-key.v1")
        encoder.append("provider", settings.provider)
        encoder.append("model", settings.model)
        settings.templates.append(to: &encoder)
        encoder.append("temperature", settings.temperature)
        encoder.append("max-output-tokens", settings.maxOutputTokens)
        encoder.append("thinking-budget", settings.thinkingBudget)
        encoder.appendCourse(outline)
        encoder.appendChapter(outline.chapters[index])
        values.appendContext(to: &encoder)
        self.hex = encoder.hexDigest()
    }

    /// The key of every chapter of `outline`, in order.
    public static func all(settings: GenerationSettings, outline: Outline) -> [ChapterKey] {
        outline.chapters.indices.map { ChapterKey(settings: settings, outline: outline, index: $0) }
    }

    /// A key read back from state; nil unless `hex` is 64 lowercase hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.hex = hex
    }

    public var description: String { hex }

    /// The first 12 hex digits, enough to tell keys apart in a log line.
    public var short: String { String(hex.prefix(12)) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.hex < rhs.hex }
}

extension Outline {
    /// A SHA-256 over every parsed field in order (course fields and every chapter): equal for two
    /// files that differ only in whitespace or formatting that changes no field.
    public var digest: String {
        var encoder = CanonicalEncoder(domain: "coursegen.outline.v1")
        encoder.appendCourse(self)
        // Only when given, so that outlines without one keep the digest they had before budgets.
        if let budget { encoder.append("budget", budget) }
        if let prompt { encoder.append("prompt", prompt.path) }
        if let systemPrompt { encoder.append("system-prompt", systemPrompt.path) }
        if let context { encoder.append("context", context.rawValue) }
        encoder.append("chapters", chapters.count)
        for chapter in chapters { encoder.appendChapter(chapter) }
        return encoder.hexDigest()
    }
}

/// Length-prefixed `name=value` records, so no two different inputs encode to the same bytes,
/// and nil is distinct from "".
struct CanonicalEncoder {
    private var hasher = SHA256()

    init(domain: String) {
        append("domain", domain)
    }

    mutating func append(_ name: String, _ value: String?) {
        var record = Array(name.utf8)
        if let value {
            let bytes = Array(value.utf8)
            record += Array("=\(bytes.count):".utf8) + bytes
        } else {
            record += Array("-".utf8)
        }
        record.append(0x0A)
        hasher.update(data: record)
    }

    mutating func append(_ name: String, _ value: Int?) {
        append(name, value.map { String($0) })
    }

    mutating func append(_ name: String, _ value: Double) {
        // Shortest round-tripping form: stable across runs and platforms.
        append(name, "\(value)")
    }

    mutating func appendCourse(_ outline: Outline) {
        append("title", outline.title)
        append("audience", outline.audience)
        append("level", outline.level)
        append("language", outline.language)
        append("words", outline.words)
        append("description", outline.description)
    }

    mutating func appendChapter(_ chapter: Outline.Chapter) {
        append("chapter.title", chapter.title)
        append("chapter.points", chapter.points.count)
        for point in chapter.points { append("chapter.point", point) }
        append("chapter.notes", chapter.notes)
    }

    func hexDigest() -> String {
        hasher.finalize().hexString
    }
}
