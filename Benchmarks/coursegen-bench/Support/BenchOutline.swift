import Foundation
import Generation
import Providers
import Outlines

/// The outlines the scenarios generate: Markdown, one `##` per chapter with three points, each
/// course titled differently so no two runs share a prompt (the fake draws latencies per prompt).
enum BenchOutline {
    /// An outline of `chapters` chapters titled `title`; `revisions[k]` changes chapter k's
    /// points (an author's edit of that one chapter).
    static func markdown(title: String, chapters: Int, revisions: [Int: Int] = [:]) -> String {
        var text = """
            ---
            audience: developers who know one other language
            level: intermediate
            words: 1500
            ---
            # \(title)
            A course the benchmark generates: one of many, each chapter about one topic.

            """
        for number in 1...max(chapters, 1) {
            let revision = revisions[number].map { " (revision \($0))" } ?? ""
            text += """

                ## Chapter \(number): topic \(number)
                - What topic \(number) is for\(revision)
                - A worked example of topic \(number)
                - Common mistakes with topic \(number)

                """
        }
        return text
    }

    /// Writes `text` to `path` the way most editors save: a temporary file in the same folder,
    /// renamed over the real one.
    static func save(_ text: String, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.\((path as NSString).lastPathComponent).saving"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw BenchError("cannot rename \(temporary) to \(path)") }
    }

    /// The requests coursegen sends for `outline` under the default settings, in chapter order.
    static func requests(for outline: Outline, settings: GenerationSettings = GenerationSettings())
        -> [ChapterRequest]
    {
        outline.chapters.indices.map { ChapterRequest(settings: settings, outline: outline, index: $0) }
    }

    /// Parses `text` as the Markdown outline `fileName`.
    static func parse(_ text: String, fileName: String = "bench.md") throws -> Outline {
        try OutlineParser.parse(Array(text.utf8), format: .markdown, fileName: fileName)
    }
}
