import Platform

/// Parses the Markdown outline format.
///
/// - Front matter (optional): YAML between a first line `---` and the next `---` or `...` line,
///   with the keys title, audience, level, language, words, description and budget, read
///   exactly as in a YAML outline. Any other key is an error.
/// - Title: front matter `title:` or the one `#` heading. Both may be given only when they are
///   equal; different titles are an error, since neither should silently win. Two `#`
///   headings, or a `#` heading after the first chapter, are errors.
/// - Description: the text between the `#` heading and the first `##` heading (without a `#`
///   heading: all text before the first `##`). Giving it in front matter as well is an error.
///   Text above the `#` heading belongs to nothing, so it is an error, never dropped.
/// - Chapters: each `##` heading starts one; its closing `#`s and whitespace are stripped as in
///   CommonMark. Under it:
///   - a list item (`-`, `*`, `+`, `1.`, `1)`) indented at most three columns is a point;
///   - an indented line right after an item continues it, joined with one space, so rewrapping
///     a point changes nothing;
///   - a nested list item stays inside its parent point as a Markdown sub-list line, indented
///     two spaces per level with its marker as written ("Collections\n  - Vec"), so the
///     hierarchy reaches the prompt;
///   - everything else, `###` headings, paragraphs, code, prose after a blank line, is the
///     chapter's notes, kept as Markdown. Notes on both sides of a list stay separate paragraphs.
///   An empty list item is dropped: it holds no text.
/// - Fenced code (``` or ~~~, at any indentation) is text: `#` lines inside are no headings.
///   A fence left open is an error, since it would swallow every chapter after it.
/// - HTML comments (`<!-- ... -->`, on one line or many) are removed first, except inside
///   fenced code and code spans; a line holding only comments disappears, so adding or
///   removing a comment never changes the outline. A comment left open is an error.
/// - `##Setup` (no space after the `#`s) is an error rather than silently becoming notes.
struct MarkdownOutlineParser {
    let source: OutlineSource
    private var file: String { source.fileName }

    /// - Throws: `OutlineError` for every rule above that the text breaks, and for everything
    ///   `StructuredOutlineParser` checks in front matter and chapters.
    func parse() throws(OutlineError) -> Outline {
        let lines = source.lines
        if lines.allSatisfy(OutlineText.isBlank) {
            throw OutlineError(
                file: file,
                line: 1,
                message: "the outline is empty: write a `# Title` heading and a `## Chapter` heading for each chapter"
            )
        }
        let (fields, bodyStart) = try frontMatter(lines)
        var assembler = Assembler(file: file)
        for line in try readableLines(lines, from: bodyStart) {
            try assembler.add(line)
        }
        return try assembler.finish(frontMatter: fields)
    }

    private func frontMatter(_ lines: [Substring]) throws(OutlineError) -> (CourseFields, bodyStart: Int) {
        guard let first = lines.first, OutlineText.trailingTrimmed(first) == "---" else {
            return (CourseFields(), 0)
        }
        let end = lines.indices.dropFirst().first { index in
            let line = OutlineText.trailingTrimmed(lines[index])
            return line == "---" || line == "..."
        }
        guard let end else {
            throw OutlineError(
                file: file,
                line: 1,
                message:
                    "the front matter that starts here is never closed: add a `---` line after its last `key: value` line"
            )
        }
        let yaml = lines[1..<end].joined(separator: "\n")
        var fields = CourseFields()
        let root = try YAMLReader.read(
            yaml,
            firstLine: 2,
            fileName: file,
            what: "the front matter"
        )
        guard let root else { return (fields, end + 1) }
        guard case .mapping(let entries) = root.content else {
            throw OutlineError(
                file: file,
                line: root.line,
                message: "the front matter is \(root.kindDescription), not `key: value` lines such as `level: beginner`"
            )
        }
        let reader = StructuredOutlineParser(fileName: file, format: .markdown)
        for entry in entries where try !fields.read(entry, using: reader) {
            var error = reader.unknownKey(entry, known: CourseFields.keys, place: "of front matter")
            if ["chapters", "chapter", "points", "notes"].contains(entry.key) {
                error.message += " (in a Markdown outline a chapter is a `## ` heading, with its points as list items)"
            }
            throw error
        }
        return (fields, end + 1)
    }

    /// The body's lines with HTML comments removed and fenced code marked.
    private func readableLines(_ lines: [Substring], from start: Int) throws(OutlineError) -> [MarkdownLine] {
        var result: [MarkdownLine] = []
        var fence: MarkdownSyntax.Fence? = nil
        var openComment: Int? = nil
        for index in lines.indices.dropFirst(start) {
            let number = index + 1
            var text = lines[index]
            if let open = fence {
                result.append(MarkdownLine(number: number, text: String(text), isCode: true))
                if MarkdownSyntax.closes(open, text) { fence = nil }
                continue
            }
            var hadComment = false
            if openComment != nil {
                hadComment = true
                guard let end = text.firstRange(of: "-->") else { continue }
                text = text[end.upperBound...]
                openComment = nil
            } else if let opening = MarkdownSyntax.openingFence(text, number: number) {
                fence = opening
                result.append(MarkdownLine(number: number, text: String(text), isCode: true))
                continue
            }
            let (kept, stillOpen, removed) = MarkdownSyntax.removingComments(text)
            if stillOpen { openComment = number }
            if removed { hadComment = true }
            if hadComment && OutlineText.isBlank(kept) { continue }
            result.append(MarkdownLine(number: number, text: kept, isCode: false))
        }
        if let fence {
            let marker = String(repeating: fence.marker, count: fence.length)
            throw OutlineError(
                file: file,
                line: fence.line,
                message: "the code fence \(marker) opened here is never closed: add a closing \(marker) line "
                    + "where the code ends"
            )
        }
        if let openComment {
            throw OutlineError(
                file: file,
                line: openComment,
                message: "the HTML comment `<!--` opened here is never closed: add `-->` where the comment ends"
            )
        }
        return result
    }
}

/// A body line after comment removal, with its line number in the file.
struct MarkdownLine {
    var number: Int
    var text: String
    /// Inside fenced code, fences included: never a heading, point or comment.
    var isCode: Bool
}

/// Collects the title, description and chapters line by line.
private struct Assembler {
    let file: String
    var titleHeading: (text: Substring, line: Int)? = nil
    var beforeTitle: [MarkdownLine] = []
    var afterTitle: [MarkdownLine] = []
    var chapters: [ChapterDraft] = []

    init(file: String) {
        self.file = file
    }

    mutating func add(_ line: MarkdownLine) throws(OutlineError) {
        if line.isCode {
            if chapters.isEmpty {
                addToPreamble(line)
            } else {
                chapters[chapters.count - 1].addNote(line.text)
            }
            return
        }
        if let heading = MarkdownSyntax.atxHeading(line.text) {
            switch heading.level {
            case 1:
                try addTitleHeading(heading.text, line: line.number)
            case 2:
                let title = try OutlineText.singleLine(
                    heading.text,
                    name: "the chapter title",
                    isTitle: true,
                    line: line.number,
                    file: file
                )
                guard let title else {
                    throw OutlineError(
                        file: file,
                        line: line.number,
                        message: "empty chapter title: write the chapter's title after `## `"
                    )
                }
                chapters.append(ChapterDraft(title: title, line: line.number))
            default:
                if chapters.isEmpty {
                    addToPreamble(line)
                } else {
                    chapters[chapters.count - 1].addNote(line.text)
                }
            }
            return
        }
        if let level = MarkdownSyntax.headingWithoutSpace(line.text), level == 2 || (level == 1 && chapters.isEmpty) {
            let hashes = String(repeating: "#", count: level)
            throw OutlineError(
                file: file,
                line: line.number,
                message: "this looks like a heading but has no space after `\(hashes)`: write `\(hashes) Title` "
                    + "(or `\\#` if the `#` is meant as text)"
            )
        }
        if chapters.isEmpty {
            addToPreamble(line)
        } else {
            chapters[chapters.count - 1].add(line.text)
        }
    }

    private mutating func addTitleHeading(_ text: Substring, line: Int) throws(OutlineError) {
        if let first = chapters.first {
            throw OutlineError(
                file: file,
                line: line,
                message: "a `#` heading after the first chapter (line \(first.line)): the course title goes above "
                    + "the chapters; use `##` for a chapter or `###` for a heading in a chapter's notes"
            )
        }
        if let title = titleHeading {
            throw OutlineError(
                file: file,
                line: line,
                message: "a second `#` title heading (the first is on line \(title.line)): an outline has one title; "
                    + "make this one a `##` chapter or a `###` heading"
            )
        }
        titleHeading = (text, line)
    }

    private mutating func addToPreamble(_ line: MarkdownLine) {
        if titleHeading == nil {
            beforeTitle.append(line)
        } else {
            afterTitle.append(line)
        }
    }

    func finish(frontMatter fields: CourseFields) throws(OutlineError) -> Outline {
        let title: String
        let descriptionLines: [MarkdownLine]
        if let heading = titleHeading {
            let headingTitle = try OutlineText.singleLine(
                heading.text,
                name: "the course title",
                isTitle: true,
                line: heading.line,
                file: file
            )
            guard let headingTitle else {
                throw OutlineError(
                    file: file,
                    line: heading.line,
                    message: "the `#` title heading is empty: write the course title after `# `"
                )
            }
            if let stray = beforeTitle.first(where: { !OutlineText.isBlank($0.text) }) {
                throw OutlineError(
                    file: file,
                    line: stray.number,
                    message: "text above the `# \(headingTitle)` heading belongs to no field: move it below the "
                        + "heading (it becomes the course description) or wrap it in <!-- -->"
                )
            }
            if let frontTitle = fields.title, frontTitle != headingTitle {
                throw OutlineError(
                    file: file,
                    line: heading.line,
                    message: "two different titles: front matter `title:` on line \(fields.titleLine ?? 1) says "
                        + "\"\(frontTitle)\" and this heading says \"\(headingTitle)\"; keep only one of them"
                )
            }
            title = headingTitle
            descriptionLines = afterTitle
        } else {
            guard let frontTitle = fields.title else {
                var message =
                    "the outline has no title: add a `# Title` heading above the chapters "
                    + "(or `title:` in front matter)"
                if beforeTitle.contains(where: { MarkdownLine.isSetextUnderline($0.text) }) {
                    message += "; a line underlined with `===` is not read as the title"
                }
                throw OutlineError(file: file, line: 1, message: message)
            }
            title = frontTitle
            descriptionLines = beforeTitle
        }

        var description = OutlineText.block(descriptionLines.map { Substring($0.text) })
        if description != nil, fields.description != nil {
            let line = descriptionLines.first(where: { !OutlineText.isBlank($0.text) })?.number
            throw OutlineError(
                file: file,
                line: line,
                message: "the description is given twice, in front matter `description:` (line "
                    + "\(fields.descriptionLine ?? 1)) and as text under the title here: remove one of them"
            )
        } else if description == nil {
            description = fields.description
        }

        let finished = chapters.map { $0.chapter() }
        try ChapterListCheck.check(
            chapters: finished,
            file: file,
            emptyLine: titleHeading?.line ?? 1,
            hint: "add a `## Chapter title` heading for each chapter, with its points as `- ` list items below it"
        )
        return Outline(
            title: title,
            audience: fields.audience,
            level: fields.level,
            language: fields.language,
            words: fields.words,
            description: description,
            budget: fields.budget,
            prompt: fields.prompt,
            systemPrompt: fields.systemPrompt,
            context: fields.context,
            serviceTier: fields.serviceTier,
            chapters: finished
        )
    }
}

extension MarkdownLine {
    /// `===` under a line makes a CommonMark heading the outline format does not read.
    static func isSetextUnderline(_ text: String) -> Bool {
        let trimmed = OutlineText.trimmed(text)
        return !trimmed.isEmpty && trimmed.allSatisfy { $0 == "=" }
    }
}

/// One chapter while its lines are being read.
private struct ChapterDraft {
    /// A point: its own text first, then nested items.
    struct Point {
        var items: [(depth: Int, marker: Substring, text: String)]

        /// The point's text, nil when it holds nothing.
        var text: String? {
            var lines: [String] = []
            for item in items where !item.text.isEmpty {
                if item.depth == 0 {
                    lines.append(item.text)
                } else {
                    lines.append(String(repeating: "  ", count: item.depth) + item.marker + " " + item.text)
                }
            }
            return lines.isEmpty ? nil : lines.joined(separator: "\n")
        }
    }

    /// The list the last lines belong to, for nesting and continuation lines.
    struct OpenList {
        /// Content columns of the open items, the top-level point first.
        var columns: [Int]
        /// Indentation of the top-level point's marker.
        var markerIndent: Int
        var afterBlank = false
    }

    let title: String
    let line: Int
    var points: [Point] = []
    var notes: [Substring] = []
    var list: OpenList? = nil

    init(title: String, line: Int) {
        self.title = title
        self.line = line
    }

    mutating func addNote(_ text: String) {
        notes.append(Substring(text))
        list = nil
    }

    mutating func add(_ text: String) {
        if OutlineText.isBlank(text) {
            notes.append("")
            list?.afterBlank = true
            return
        }
        if MarkdownSyntax.isThematicBreak(text) {
            addNote(text)
            return
        }
        if let item = MarkdownSyntax.listItem(text) {
            addItem(item, line: text)
            return
        }
        if let open = list, !open.afterBlank, MarkdownSyntax.indentColumns(text) > open.markerIndent {
            let continuation = OutlineText.trimmed(text)
            let last = points[points.count - 1].items.count - 1
            let previous = points[points.count - 1].items[last].text
            points[points.count - 1].items[last].text =
                previous.isEmpty ? String(continuation) : previous + " " + continuation
            return
        }
        addNote(text)
    }

    private mutating func addItem(_ item: MarkdownSyntax.ListItem, line: String) {
        guard var open = list else {
            if item.indent <= 3 {
                startPoint(item)
            } else {
                addNote(line)
            }
            return
        }
        var depth = open.columns.count
        while depth > 0 && item.indent < open.columns[depth - 1] { depth -= 1 }
        if depth == 0 && item.indent > 3 { depth = 1 }
        guard depth > 0 else {
            startPoint(item)
            return
        }
        open.columns = Array(open.columns.prefix(depth)) + [item.contentColumn]
        open.afterBlank = false
        list = open
        points[points.count - 1].items.append((depth, item.marker, String(item.text)))
    }

    private mutating func startPoint(_ item: MarkdownSyntax.ListItem) {
        // Keeps the notes before and after a list from running into one paragraph.
        notes.append("")
        points.append(Point(items: [(0, item.marker, String(item.text))]))
        list = OpenList(columns: [item.contentColumn], markerIndent: item.indent)
    }

    func chapter() -> Outline.Chapter {
        Outline.Chapter(
            title: title,
            points: points.compactMap(\.text),
            notes: OutlineText.block(notes),
            line: line
        )
    }
}
