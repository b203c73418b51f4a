public import Platform
import Mustache
import Outlines

/// One Mustache template of the words coursegen sends to the model: the system instruction or a
/// chapter's prompt.
///
/// Its variables are the course's fields and the chapter's entry (see `PromptValues`); what it
/// may name is checked when it is read, so a misspelt `{{chapter.titel}}` is an error naming the
/// line, not a silently empty prompt. Values are inserted as written: prompts are text, not HTML.
///
/// The built-in templates are `Templates/system.mustache` and `Templates/chapter.mustache`,
/// compiled into the binary. Any change to their wording must bump `version`, part of every chapter
/// key made with them, so old text is not mistaken for new. A template of the author's own puts
/// its whole text into the keys of the chapters it shapes instead.
public struct PromptTemplate: Sendable, Hashable, CustomStringConvertible {
    /// Which turn of the request a template writes.
    public enum Role: String, Sendable, Hashable {
        case system
        case chapter
    }

    /// The version of the built-in templates: part of every chapter key made with them.
    public static let version = "1"

    /// The largest template read, in bytes: a prompt is words, not a book.
    public static let maximumBytes = 64 * 1024

    public let role: Role
    /// The template text as written.
    public let text: String
    /// Where it comes from, for messages: a path, or "the built-in chapter template".
    public let origin: String
    public let isBuiltIn: Bool
    private let template: MustacheTemplate

    /// Parses and checks `text`.
    /// - Throws: `PromptTemplateError` naming `origin` and the line: a Mustache syntax error, a
    ///   variable that does not exist where it is used, or a feature prompts cannot use.
    public init(_ text: String, role: Role, origin: String) throws(PromptTemplateError) {
        try self.init(text, role: role, origin: origin, isBuiltIn: false)
    }

    private init(_ text: String, role: Role, origin: String, isBuiltIn: Bool) throws(PromptTemplateError) {
        try PromptTemplateCheck.check(text, origin: origin)
        do {
            // Prompts are plain text: no HTML escaping of `&` or `<`.
            template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
        } catch let error as MustacheTemplate.ParserError {
            throw PromptTemplateError(
                file: origin,
                line: error.context.lineNumber,
                message: "\(Self.explain(error.error)): fix the template"
            )
        } catch {
            throw PromptTemplateError(file: origin, line: nil, message: "\(error): fix the template")
        }
        self.role = role
        self.text = text
        self.origin = origin
        self.isBuiltIn = isBuiltIn
    }

    /// The words for one chapter.
    func render(_ values: PromptValues) -> String {
        template.render(values)
    }

    public var description: String { origin }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.role == rhs.role && lhs.text == rhs.text && lhs.isBuiltIn == rhs.isBuiltIn
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(role)
        hasher.combine(text)
        hasher.combine(isBuiltIn)
    }

    /// `Templates/system.mustache`, as compiled in.
    public static let builtInSystem = builtIn(.system, PackageResources.system_mustache)
    /// `Templates/chapter.mustache`, as compiled in.
    public static let builtInChapter = builtIn(.chapter, PackageResources.chapter_mustache)

    private static func builtIn(_ role: Role, _ bytes: [UInt8]) -> PromptTemplate {
        do {
            return try PromptTemplate(
                String(decoding: bytes, as: UTF8.self),
                role: role,
                origin: "the built-in \(role.rawValue) template",
                isBuiltIn: true
            )
        } catch {
            // The tests read both; a broken one never ships.
            fatalError("the built-in \(role.rawValue) template does not parse: \(error)")
        }
    }

    private static func explain(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "a section is closed with another name than it was opened with"
        case .unfinishedName: "a tag is not finished (a `{{` without its `}}`)"
        case .expectedSectionEnd: "a section is never closed: add its `{{/name}}`"
        case .invalidSetDelimiter: "a delimiter change is badly written"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: "a `{{% ...}}` pragma is not understood"
        default: "\(error)"
        }
    }
}

/// The templates one course's requests are written with.
public struct PromptTemplates: Sendable, Hashable {
    public var system: PromptTemplate
    public var chapter: PromptTemplate

    public init(system: PromptTemplate = .builtInSystem, chapter: PromptTemplate = .builtInChapter) {
        self.system = system
        self.chapter = chapter
    }

    public static let builtIn = PromptTemplates()

    /// Both templates' part of a chapter key: the built-in version, or the text of every template
    /// when one is the author's own.
    func append(to encoder: inout CanonicalEncoder) {
        if system.isBuiltIn && chapter.isBuiltIn {
            encoder.append("template", PromptTemplate.version)
        } else {
            encoder.append("template", "own")
            encoder.append("template.system", system.text)
            encoder.append("template.chapter", chapter.text)
        }
    }
}

/// A template that cannot be used, with where and what to do.
public struct PromptTemplateError: CodedError, Hashable {
    public enum Code: String, ErrorCode {
        /// The template file cannot be read (missing, not a regular file, too large, not UTF-8).
        case cannotRead
        /// Its text is not a usable template (a tag, a section, a variable).
        case invalid
    }

    public var code: Code
    /// The template's path (or "the built-in ... template").
    public var file: String
    public var line: Int?
    public var message: String
    public var origin: SourceOrigin

    public init(
        _ code: Code = .invalid,
        file: String,
        line: Int?,
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
