/// The checks every format applies to an outline's finished list of chapters.
enum ChapterListCheck {
    /// - Parameters:
    ///   - emptyLine: the line to name when there are no chapters.
    ///   - hint: how to add a chapter in this format.
    /// - Throws: `OutlineError` for no chapters, or for two chapters with the same
    ///   `ChapterIdentity` (titles equal but for case and spacing), on the second one's line,
    ///   naming the first one's, since neither could be told apart from the other across edits.
    static func check(chapters: [Outline.Chapter], file: String, emptyLine: Int?, hint: String) throws(OutlineError) {
        guard !chapters.isEmpty else {
            throw OutlineError(file: file, line: emptyLine, message: "the outline has no chapters: \(hint)")
        }
        var seen: [ChapterIdentity: Outline.Chapter] = [:]
        for chapter in chapters {
            let identity = chapter.identity
            if let first = seen[identity] {
                let firstLine = first.line.map { " on line \($0)" } ?? ""
                let message =
                    first.title == chapter.title
                    ? "two chapters are titled \"\(chapter.title)\" (the first\(firstLine))"
                    : "two chapters are titled \"\(first.title)\" (the first\(firstLine)) and \"\(chapter.title)\", "
                        + "which differ only in case or spacing"
                throw OutlineError(file: file, line: chapter.line, message: message + ": rename one, or merge them")
            }
            seen[identity] = chapter
        }
    }
}
