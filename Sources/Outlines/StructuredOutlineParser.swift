import Platform

/// Turns a YAML or JSON outline, already read into `StructuredValue`s, into an `Outline`.
///
/// The document is a mapping with the course keys `title` (required), `audience`, `level`,
/// `language`, `words`, `description`, `budget` and `chapters`, a list of mappings with `title`
/// (required), `points` (a list of text) and `notes` (text). Any other key, at any level, is
/// an error naming it and its line, with a suggestion when it looks like a typo.
///
/// Types: one-line fields accept any scalar as written (`title: 2024` is "2024"); `words` must
/// be a whole number between 50 and 20000 (`words: "1500"`, quoted, is refused), `budget` an
/// amount of US dollars written as a number (`budget: 2.50`, not `"$2.50"`); an empty value
/// or `null` is the same as leaving the key out. Text is normalised as `OutlineText` describes;
/// empty points are dropped, since they hold nothing to lose.
struct StructuredOutlineParser {
    let fileName: String
    /// `.yaml` or `.json`: which notation hints in messages use.
    let format: OutlineFormat

    static let chapterKeys = ["title", "points", "notes"]
    static let rootKeys = CourseFields.keys + ["chapters"]

    /// - Throws: `OutlineError` for a missing or non-mapping root, unknown keys, wrong types,
    ///   no chapters, empty or duplicate chapter titles.
    func outline(from root: StructuredValue?) throws(OutlineError) -> Outline {
        guard let root else {
            throw OutlineError(
                file: fileName,
                line: 1,
                message: "the outline is empty: give it a `title` and a list of `chapters`"
            )
        }
        guard case .mapping(let entries) = root.content else {
            throw OutlineError(
                file: fileName,
                line: root.line,
                message:
                    "the outline is \(root.kindDescription), not a mapping: start with `title:` and `chapters:` keys"
            )
        }
        var fields = CourseFields()
        var chapters: [Outline.Chapter] = []
        var chaptersLine: Int? = nil
        for entry in entries {
            if try fields.read(entry, using: self) { continue }
            guard entry.key == "chapters" else {
                throw unknownKey(entry, known: Self.rootKeys, place: "of an outline")
            }
            chaptersLine = entry.keyLine
            chapters = try readChapters(entry.value)
        }
        guard let title = fields.title else {
            throw OutlineError(file: fileName, line: root.line, message: "the outline has no title: add a `title` key")
        }
        try ChapterListCheck.check(
            chapters: chapters,
            file: fileName,
            emptyLine: chaptersLine ?? root.line,
            hint: chaptersHint
        )
        return Outline(
            title: title,
            audience: fields.audience,
            level: fields.level,
            language: fields.language,
            words: fields.words,
            description: fields.description,
            budget: fields.budget,
            prompt: fields.prompt,
            systemPrompt: fields.systemPrompt,
            context: fields.context,
            serviceTier: fields.serviceTier,
            chapters: chapters
        )
    }

    private var chaptersHint: String {
        switch format {
        case .json: "add \"chapters\": [{\"title\": \"...\", \"points\": [\"...\"]}]"
        default: "add `chapters:` with a `- title: ...` entry for each chapter"
        }
    }

    func unknownKey(_ entry: StructuredValue.Entry, known: [String], place: String) -> OutlineError {
        var message = "unknown key `\(entry.key)`"
        if let suggestion = Spelling.suggestion(for: entry.key, among: known) {
            message += " (did you mean `\(suggestion)`?)"
        }
        message += ": the keys \(place) are " + known.map { "`\($0)`" }.joined(separator: ", ")
        if entry.key == "<<" {
            message += " (YAML merge keys are not supported: write the keys out)"
        }
        return OutlineError(file: fileName, line: entry.keyLine, message: message)
    }

    private func readChapters(_ value: StructuredValue) throws(OutlineError) -> [Outline.Chapter] {
        switch value.content {
        case .scalar(_, .null):
            return []
        case .list(let elements):
            var chapters: [Outline.Chapter] = []
            for (offset, element) in elements.enumerated() {
                chapters.append(try readChapter(element, number: offset + 1))
            }
            return chapters
        default:
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "`chapters` is \(value.kindDescription), not a list: \(chaptersHint)"
            )
        }
    }

    private func readChapter(_ value: StructuredValue, number: Int) throws(OutlineError) -> Outline.Chapter {
        guard case .mapping(let entries) = value.content else {
            let example =
                format == .json ? "{\"title\": \"...\", \"points\": [...]}" : "`- title: ...` with `points:` below it"
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "chapter \(number) is \(value.kindDescription), not a mapping: write it as \(example)"
            )
        }
        var title: String? = nil
        var points: [String] = []
        var notes: String? = nil
        for entry in entries {
            switch entry.key {
            case "title":
                title = try OutlineText.singleLine(
                    try scalarText(entry, name: "the title of chapter \(number)"),
                    name: "the title of chapter \(number)",
                    isTitle: true,
                    line: entry.value.line,
                    file: fileName
                )
            case "points":
                points = try readPoints(entry.value, chapter: number)
            case "notes":
                notes = try OutlineText.multiLine(
                    try scalarText(entry, name: "`notes` of chapter \(number)"),
                    name: "`notes` of chapter \(number)",
                    line: entry.value.line,
                    file: fileName
                )
            default:
                throw unknownKey(entry, known: Self.chapterKeys, place: "of a chapter")
            }
        }
        guard let title else {
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "chapter \(number) has an empty title: give it a `title`"
            )
        }
        return Outline.Chapter(title: title, points: points, notes: notes, line: value.line)
    }

    private func readPoints(_ value: StructuredValue, chapter: Int) throws(OutlineError) -> [String] {
        switch value.content {
        case .scalar(_, .null):
            return []
        case .scalar:
            let hint =
                format == .json
                ? "write a list, even of one point: \"points\": [\"...\"]"
                : "write each point on its own line starting with `- `, even a single one"
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "`points` of chapter \(chapter) is a single text, not a list: \(hint)"
            )
        case .mapping:
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "`points` of chapter \(chapter) is a mapping, not a list: start each point with `- `"
            )
        case .list(let elements):
            var points: [String] = []
            for (offset, element) in elements.enumerated() {
                let name = "point \(offset + 1) of chapter \(chapter)"
                guard case .scalar(let text, let kind) = element.content else {
                    let hint =
                        format == .json
                        ? "points are strings"
                        : "a `: ` inside a point makes YAML read `key: value`; put the point in quotes"
                    throw OutlineError(
                        file: fileName,
                        line: element.line,
                        message: "\(name) is \(element.kindDescription), not text: \(hint)"
                    )
                }
                guard kind != .null else { continue }
                if let point = try OutlineText.multiLine(text, name: name, line: element.line, file: fileName) {
                    points.append(point)
                }
            }
            return points
        }
    }

    /// The text of a scalar value as written, "" for null.
    /// - Throws: `OutlineError` when the value is a list or mapping.
    func scalarText(_ entry: StructuredValue.Entry, name: String) throws(OutlineError) -> String {
        switch entry.value.content {
        case .scalar(_, .null):
            return ""
        case .scalar(let text, _):
            return text
        default:
            throw OutlineError(
                file: fileName,
                line: entry.value.line,
                message: "\(name) is \(entry.value.kindDescription), not text: write it as one value"
                    + (format == .json ? "" : " (for several lines use `\(entry.key): |` and indent them)")
            )
        }
    }
}

/// The course-level fields, shared by YAML, JSON and Markdown front matter.
struct CourseFields {
    static let keys = [
        "title", "audience", "level", "language", "words", "description", "budget", "prompt", "system-prompt",
        "context", "service-tier",
    ]
    /// Sane bounds for `words`, per chapter.
    static let wordRange = 50...20000
    /// Sane bounds for `budget`, in US dollars per run.
    static let budgetRange = 0.0...1_000_000

    var title: String?
    var titleLine: Int?
    var audience: String?
    var level: String?
    var language: String?
    var words: Int?
    var description: String?
    var descriptionLine: Int?
    var budget: Double?
    var prompt: Outline.TemplateReference?
    var systemPrompt: Outline.TemplateReference?
    var context: CourseContext?
    var serviceTier: String?

    /// Reads `entry` if its key is a course field.
    /// - Returns: false when the key is not a course field (the caller decides what it is).
    /// - Throws: `OutlineError` when the value has the wrong type or bad content.
    mutating func read(
        _ entry: StructuredValue.Entry,
        using reader: StructuredOutlineParser
    ) throws(OutlineError) -> Bool {
        let fileName = reader.fileName
        let line = entry.value.line
        switch entry.key {
        case "title":
            let name = "the course title"
            title = try OutlineText.singleLine(
                try reader.scalarText(entry, name: name),
                name: name,
                isTitle: true,
                line: line,
                file: fileName
            )
            titleLine = line
        case "audience", "level", "language":
            let value = try Self.oneLine(entry, using: reader)
            switch entry.key {
            case "audience": audience = value
            case "level": level = value
            default: language = value
            }
        case "words":
            words = try Self.words(entry.value, fileName: fileName)
        case "budget":
            budget = try Self.budget(entry.value, fileName: fileName)
        case "prompt", "system-prompt":
            let text = try Self.oneLine(entry, using: reader)
            let reference = try text.map { (text) throws(OutlineError) in
                try Self.templateReference(text, key: entry.key, line: line, fileName: fileName)
            }
            if entry.key == "prompt" { prompt = reference } else { systemPrompt = reference }
        case "context":
            if let text = try Self.oneLine(entry, using: reader) {
                guard let value = CourseContext(word: text) else {
                    throw OutlineError(
                        file: fileName,
                        line: line,
                        message: "`context` is \(text): write `none` (each chapter alone), `toc` (every "
                            + "chapter's title: any title change regenerates every chapter) or `neighbours` "
                            + "(the chapters before and after: a change regenerates at most three)"
                    )
                }
                context = value
            }
        case "service-tier":
            if let text = try Self.oneLine(entry, using: reader) {
                guard Outline.serviceTiers.contains(text) else {
                    throw OutlineError(
                        file: fileName,
                        line: line,
                        message: "`service-tier` is \(text): write `standard`, `flex` (half price, answers within "
                            + "minutes) or `priority` (dearer, served first)"
                    )
                }
                serviceTier = text
            }
        case "description":
            let name = "the description"
            description = try OutlineText.multiLine(
                try reader.scalarText(entry, name: name),
                name: name,
                line: line,
                file: fileName
            )
            descriptionLine = line
        default:
            return false
        }
        return true
    }

    /// The one-line text of the field `entry` (nil when empty), named in messages by its key.
    private static func oneLine(
        _ entry: StructuredValue.Entry,
        using reader: StructuredOutlineParser
    ) throws(OutlineError) -> String? {
        let name = "`\(entry.key)`"
        return try OutlineText.singleLine(
            try reader.scalarText(entry, name: name),
            name: name,
            isTitle: false,
            line: entry.value.line,
            file: reader.fileName
        )
    }

    /// A template file named by `prompt:` or `system-prompt:`: a `.mustache` file in the outline's
    /// folder or below it, so the watcher sees it and it cannot reach outside the inbox.
    private static func templateReference(
        _ text: String,
        key: String,
        line: Int?,
        fileName: String
    ) throws(OutlineError) -> Outline.TemplateReference {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard !text.hasPrefix("/"), !parts.contains(".."), !parts.contains(""), !parts.contains("."),
            !text.contains("\\"), !text.unicodeScalars.contains(where: { $0.value < 0x20 })
        else {
            throw OutlineError(
                file: fileName,
                line: line,
                message: "`\(key)` is \(text): name a template file beside the outline (or in a folder "
                    + "below it), like `\(key): style.mustache`; absolute paths and `..` are refused"
            )
        }
        guard text.lowercased().hasSuffix(".mustache"), text.count > ".mustache".count else {
            throw OutlineError(
                file: fileName,
                line: line,
                message: "`\(key)` is \(text): a template file's name ends in `.mustache` (the daemon "
                    + "watches those), like `\(key): style.mustache`"
            )
        }
        return Outline.TemplateReference(path: text, line: line)
    }

    private static func budget(_ value: StructuredValue, fileName: String) throws(OutlineError) -> Double? {
        let range = "from 0 to \(Int(budgetRange.upperBound))"
        switch value.content {
        case .scalar(_, .null):
            return nil
        case .scalar(let text, .integer), .scalar(let text, .number):
            guard let dollars = Double(text), dollars.isFinite, budgetRange.contains(dollars) else {
                throw OutlineError(
                    file: fileName,
                    line: value.line,
                    message: "`budget` is \(text): the most one run may spend must be \(range) US dollars"
                )
            }
            return dollars
        default:
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "`budget` must be an amount of US dollars \(range), like `budget: 2.50`, "
                    + "without quotes, units or a currency sign; found \(value.kindDescription)"
            )
        }
    }

    private static func words(_ value: StructuredValue, fileName: String) throws(OutlineError) -> Int? {
        let range = "between \(wordRange.lowerBound) and \(wordRange.upperBound)"
        switch value.content {
        case .scalar(_, .null):
            return nil
        case .scalar(let text, .integer):
            guard let words = Int(text), wordRange.contains(words) else {
                throw OutlineError(
                    file: fileName,
                    line: value.line,
                    message: "`words` is \(text): the target length of a chapter must be \(range) words"
                )
            }
            return words
        default:
            throw OutlineError(
                file: fileName,
                line: value.line,
                message: "`words` must be a whole number \(range), like `words: 1500`, "
                    + "without quotes or units; found \(value.kindDescription)"
            )
        }
    }
}
