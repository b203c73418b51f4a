/// The words coursegen sends to the model for one chapter.
///
/// The prompt names the course and this chapter only: not its position, not the other chapters.
/// That is what lets a reorder, an insertion or a deletion reuse every other chapter's text
/// (numbering and the `# title` heading are rendered by the publisher). Any change to the wording
/// must bump `version`, which is part of every chapter key, so old text is not mistaken for new.
public enum PromptTemplate {
    /// Part of every chapter key.
    public static let version = "1"

    /// The system instruction: the writer's role and the output rules.
    static func systemInstruction(for outline: Outline) -> String {
        let words = outline.words ?? GenerationSettings.defaultWords
        var lines = [
            "You are an experienced technical writer and teacher writing one chapter of a course.",
            "Write the body of the chapter in Markdown, about \(words) words.",
            "Do not write the chapter title or a top-level `#` heading: the title is added separately.",
            "Use `##` and `###` headings for sections, short paragraphs, lists where they help, and "
                + "fenced code blocks with a language tag for code.",
            "Cover every point the author lists, in a sensible order, and follow the author's notes.",
            "Do not refer to chapter numbers or to other chapters by number.",
            "Reply with the chapter text only: no preamble, no closing remarks.",
        ]
        if let language = outline.language {
            lines.append("Write in this language: \(language).")
        }
        return lines.joined(separator: "\n")
    }

    /// The user turn: the course's fields and this chapter's entry.
    static func prompt(for outline: Outline, chapter: Outline.Chapter) -> String {
        var text = "Course: \(outline.title)\n"
        if let audience = outline.audience { text += "Audience: \(audience)\n" }
        if let level = outline.level { text += "Level: \(level)\n" }
        if let description = outline.description { text += "\nAbout the course:\n\(description)\n" }
        text += "\nChapter to write: \(chapter.title)\n"
        if !chapter.points.isEmpty {
            text += "\nPoints to cover:\n"
            for point in chapter.points { text += "- \(point)\n" }
        }
        if let notes = chapter.notes {
            text += "\nAuthor's notes for this chapter:\n\(notes)\n"
        }
        return text
    }
}
