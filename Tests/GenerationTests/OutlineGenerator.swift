import PropertyBased

@testable import Generation
@testable import Outlines
import Platform

/// Random outlines for property tests, already in the form the parsers give (trimmed, one space
/// between words, NFC), and expressible in all three formats through `OutlineWriter`.
///
/// The words are chosen to trip each format: YAML indicators, JSON escapes, Markdown markup,
/// paths, right-to-left text, emoji sequences, letters that fold (ß, Σ). Only words that start no
/// Markdown construct begin a line or a title.
enum OutlineGenerator {
    static let words = [
        "Rust", "ownership", "and", "of", "C#", "C++", "&mut", "*args", "**kwargs", "!important", "?", "a/b",
        "../../etc/passwd", "/root", "{x}", "[1]:", "key:", "value,", "50%", "naïve", "Straße", "ΟΔΟΣ", "😀",
        "👩‍💻", "שלום", "\u{200F}", "日本語", "\"quoted\"", "'single'", "back\\slash", "<b>", "`code`", "#hash",
        "- dash", "1.", "~tilde", "|pipe", ">", "@at", "%percent", "null", "true", "1500", "-0", "1e3",
        "\u{5C}u0041",
    ]
    static let leadingWords = ["Rust", "Ownership", "naïve", "Straße", "ΟΔΟΣ", "日本語", "שלום", "Café", "x", "Zed"]

    static func line(_ rng: inout any SeededRandomNumberGenerator, words count: ClosedRange<Int>) -> String {
        let rest = (0..<Int.random(in: count, using: &rng)).map { _ in words.randomElement(using: &rng)! }
        return ([leadingWords.randomElement(using: &rng)!] + rest).joined(separator: " ")
    }

    /// Paragraphs separated by one blank line, each of one to three lines.
    static func text(_ rng: inout any SeededRandomNumberGenerator) -> String {
        (0..<Int.random(in: 1...3, using: &rng)).map { _ in
            (0..<Int.random(in: 1...3, using: &rng)).map { _ in line(&rng, words: 0...8) }.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    static func outline(_ rng: inout any SeededRandomNumberGenerator) -> Outline {
        func maybe(_ make: (inout any SeededRandomNumberGenerator) -> String) -> String? {
            Bool.random(using: &rng) ? make(&rng) : nil
        }
        var chapters: [Outline.Chapter] = []
        var identities: Set<ChapterIdentity> = []
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let title = line(&rng, words: 0...5)
            guard identities.insert(ChapterIdentity(title: title)).inserted else { continue }
            chapters.append(
                Outline.Chapter(
                    title: title,
                    points: (0..<Int.random(in: 0...4, using: &rng)).map { _ in line(&rng, words: 0...10) },
                    notes: maybe(text)
                )
            )
        }
        return Outline(
            title: line(&rng, words: 0...6),
            audience: maybe { line(&$0, words: 0...6) },
            level: maybe { line(&$0, words: 0...1) },
            language: maybe { line(&$0, words: 0...1) },
            words: Bool.random(using: &rng) ? Int.random(in: CourseFields.wordRange, using: &rng) : nil,
            description: maybe(text),
            chapters: chapters
        )
    }

    /// Smaller outlines that may still fail a property: one chapter, point, field or note fewer,
    /// or a title cut to its first word. Never the outline itself.
    static func smaller(_ outline: Outline) -> [Outline] {
        var result: [Outline] = []
        func with(_ change: (inout Outline) -> Void) {
            var copy = outline
            change(&copy)
            if copy != outline { result.append(copy) }
        }
        if outline.chapters.count > 1 {
            for index in outline.chapters.indices { with { $0.chapters.remove(at: index) } }
        }
        for index in outline.chapters.indices {
            for point in outline.chapters[index].points.indices { with { $0.chapters[index].points.remove(at: point) } }
            with { $0.chapters[index].notes = nil }
            with { $0.chapters[index].title = String($0.chapters[index].title.split(separator: " ")[0]) }
        }
        with { $0.audience = nil }
        with { $0.level = nil }
        with { $0.language = nil }
        with { $0.words = nil }
        with { $0.description = nil }
        with { $0.title = String($0.title.split(separator: " ")[0]) }
        // Cutting a title can make two chapters one identity; such an outline is not valid input.
        return result.filter { Set($0.chapters.map(\.identity)).count == $0.chapters.count }
    }

    static let outlines = Generator<Outline, [Outline]>(run: { rng in outline(&rng) }, shrink: { smaller($0) })
}
