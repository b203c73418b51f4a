public import Platform

/// A course outline as its author wrote it: course-level fields and an ordered list of chapters.
///
/// Values are normalised by the parsers (trimmed, one-line fields single-spaced, runs of blank
/// lines collapsed, Unicode NFC), so two files that differ only in whitespace that changes no
/// field parse to equal outlines with equal digests.
public struct Outline: Sendable, Hashable {
    /// The course title, from front matter `title:` or the single `#` heading.
    public var title: String
    /// Who the course is for ("Python developers new to systems programming").
    public var audience: String?
    /// "beginner", "intermediate", ... free text.
    public var level: String?
    /// The language to write in, as the author gave it ("en", "German").
    public var language: String?
    /// Target length of each chapter, in words.
    public var words: Int?
    /// What the course is about, in the author's words.
    public var description: String?
    /// The most one run of this outline may spend, in US dollars (`budget: 2.50`). It shapes no
    /// request, so it is in no chapter's key.
    public var budget: Double?
    /// The course's own chapter prompt template (`prompt: style.mustache`), a file beside the
    /// outline; nil for the installation's.
    public var prompt: TemplateReference?
    /// The course's own system instruction template (`system-prompt: voice.mustache`).
    public var systemPrompt: TemplateReference?
    /// How much of the rest of the course each chapter's prompt shows (`context: toc`); nil for
    /// the installation's setting.
    public var context: CourseContext?
    /// Gemini's service tier for this course (`service-tier: flex`), one of `serviceTiers`; nil
    /// for the installation's setting. It changes the price and the wait, not the chapters.
    public var serviceTier: String?
    /// The chapters, in the order they are published.
    public var chapters: [Chapter]

    public init(
        title: String,
        audience: String? = nil,
        level: String? = nil,
        language: String? = nil,
        words: Int? = nil,
        description: String? = nil,
        budget: Double? = nil,
        prompt: TemplateReference? = nil,
        systemPrompt: TemplateReference? = nil,
        context: CourseContext? = nil,
        serviceTier: String? = nil,
        chapters: [Chapter]
    ) {
        self.title = title
        self.audience = audience
        self.level = level
        self.language = language
        self.words = words
        self.description = description
        self.budget = budget
        self.prompt = prompt
        self.systemPrompt = systemPrompt
        self.context = context
        self.serviceTier = serviceTier
        self.chapters = chapters
    }

    /// The words `service-tier:` takes (Gemini's tiers, as the `service-tier` setting).
    public static let serviceTiers = ["standard", "flex", "priority"]
}

extension Outline {
    /// A template file an outline names, relative to the outline's folder, and the line naming it.
    public struct TemplateReference: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var line: Int?

        public init(path: String, line: Int? = nil) {
            self.path = path
            self.line = line
        }

        public var description: String { path }

        public static func == (lhs: Self, rhs: Self) -> Bool { lhs.path == rhs.path }
        public func hash(into hasher: inout Hasher) { hasher.combine(path) }
    }

    /// One chapter's entry in the outline: what the author asked for, not the generated text.
    public struct Chapter: Sendable, Hashable {
        /// The chapter title (the `##` heading), never empty, single-spaced. `identity` says
        /// which titles name the same chapter.
        public var title: String
        /// The points the chapter must cover (the list items under its heading), in order.
        public var points: [String]
        /// Free text under the chapter: `###` headings, paragraphs, anything that is not a point.
        public var notes: String?
        /// The 1-based line in the outline file where the chapter starts, for messages only:
        /// it takes no part in equality, hashing or cache keys.
        public var line: Int?

        public init(title: String, points: [String] = [], notes: String? = nil, line: Int? = nil) {
            self.title = title
            self.points = points
            self.notes = notes
            self.line = line
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.title == rhs.title && lhs.points == rhs.points && lhs.notes == rhs.notes
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(title)
            hasher.combine(points)
            hasher.combine(notes)
        }
    }
}

/// Why an outline could not be read, located in its file.
///
/// `description` is `FILE:LINE: message` (or `FILE: message` when no line applies), where the
/// message says what is wrong and how to fix it.
public struct OutlineError: CodedError, Hashable {
    public enum Code: String, ErrorCode {
        /// The file cannot be opened or read as an outline file (missing, unreadable, not a
        /// regular file, too large, a name with no outline extension).
        case cannotRead
        /// The file's text is not a usable outline (syntax, keys, values, chapters).
        case invalid
    }

    public var code: Code
    /// The outline's path as the user named it.
    public var file: String
    /// The 1-based line the problem is on, when there is one.
    public var line: Int?
    /// What is wrong and how to fix it, one sentence or two, no trailing newline.
    public var message: String
    public var origin: SourceOrigin

    public init(
        _ code: Code = .invalid,
        file: String,
        line: Int? = nil,
        message: String,
        fileID: String = #fileID,
        codeLine: Int = #line
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.message = message
        self.origin = SourceOrigin(fileID: fileID, line: codeLine)
    }

    public var description: String {
        if let line { "\(file):\(line): \(message)" } else { "\(file): \(message)" }
    }
}
