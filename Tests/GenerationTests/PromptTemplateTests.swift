import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

@Suite("Prompt templates and course context")
struct PromptTemplateTests {
    static let outline = Outline(
        title: "Practical Rust",
        audience: "Python developers",
        level: "intermediate",
        language: "German",
        words: 1500,
        description: "A hands-on course.\n\nBring a laptop.",
        chapters: [
            .init(title: "Getting started", points: ["rustup", "cargo"], notes: "Word counter exercise."),
            .init(title: "Ownership", points: ["moves", "borrows"]),
            .init(title: "Traits & generics", points: []),
            .init(title: "Testing", points: ["cargo test"]),
        ]
    )

    func request(_ index: Int, _ settings: GenerationSettings = .init(), outline: Outline = outline) -> ChapterRequest {
        ChapterRequest(settings: settings, outline: outline, index: index)
    }

    @Test("the built-in templates write exactly the words coursegen sent before templates")
    func builtInWording() {
        let first = request(0)
        #expect(
            first.systemInstruction == """
                You are an experienced technical writer and teacher writing one chapter of a course.
                Write the body of the chapter in Markdown, about 1500 words.
                Do not write the chapter title or a top-level `#` heading: the title is added separately.
                Use `##` and `###` headings for sections, short paragraphs, lists where they help, and fenced code blocks with a language tag for code.
                Cover every point the author lists, in a sensible order, and follow the author's notes.
                Do not refer to chapter numbers or to other chapters by number.
                Reply with the chapter text only: no preamble, no closing remarks.
                Write in this language: German.

                """
        )
        #expect(
            first.prompt == """
                Course: Practical Rust
                Audience: Python developers
                Level: intermediate

                About the course:
                A hands-on course.

                Bring a laptop.

                Chapter to write: Getting started

                Points to cover:
                - rustup
                - cargo

                Author's notes for this chapter:
                Word counter exercise.

                """
        )
        // No escaping: prompts are text, not HTML.
        #expect(
            request(2).prompt
                == "Course: Practical Rust\nAudience: Python developers\nLevel: intermediate\n\nAbout the course:\nA hands-on course.\n\nBring a laptop.\n\nChapter to write: Traits & generics\n"
        )
        let bare = Outline(title: "T", chapters: [.init(title: "Only")])
        #expect(request(0, outline: bare).prompt == "Course: T\n\nChapter to write: Only\n")
        #expect(!request(0, outline: bare).systemInstruction.contains("Write in this language"))
    }

    @Test("context toc lists every title and marks this chapter; neighbours shows the chapters around it")
    func contextWording() {
        var toc = GenerationSettings()
        toc.context = .toc
        let second = request(1, toc).prompt
        #expect(second.contains("- Getting started\n- Ownership  <- this chapter\n- Traits & generics\n- Testing\n"))
        var neighbours = GenerationSettings()
        neighbours.context = .neighbours
        let middle = request(1, neighbours).prompt
        #expect(middle.contains("The chapter before this one: Getting started\nIt covers:\n- rustup\n- cargo\n"))
        #expect(middle.contains("The chapter after this one: Traits & generics\n"))
        #expect(!middle.contains("Word counter"), "notes stay private to their chapter")
        #expect(!request(0, neighbours).prompt.contains("before this one"))
        #expect(!request(3, neighbours).prompt.contains("after this one"))
    }

    @Test("context none keeps the keys of the built-in templates; toc and neighbours change them")
    func contextKeys() {
        let plain = ChapterKey.all(settings: .init(), outline: Self.outline)
        var none = GenerationSettings()
        none.context = .none
        #expect(ChapterKey.all(settings: none, outline: Self.outline) == plain)
        for context in [CourseContext.toc, .neighbours] {
            var settings = GenerationSettings()
            settings.context = context
            #expect(Set(ChapterKey.all(settings: settings, outline: Self.outline)).isDisjoint(with: plain))
        }
    }

    /// Which chapters' keys change between two outlines under `context`.
    func changed(_ before: Outline, _ after: Outline, context: CourseContext) -> [Int] {
        var settings = GenerationSettings()
        settings.context = context
        let old = Set(ChapterKey.all(settings: settings, outline: before))
        return ChapterKey.all(settings: settings, outline: after).enumerated().filter { !old.contains($0.element) }
            .map(\.offset)
    }

    @Test("the documented cost of an edit under each context")
    func editCosts() {
        var retitled = Self.outline
        retitled.chapters[1].title = "Ownership and borrowing"
        #expect(changed(Self.outline, retitled, context: .none) == [1])
        #expect(changed(Self.outline, retitled, context: .toc) == [0, 1, 2, 3])
        #expect(changed(Self.outline, retitled, context: .neighbours) == [0, 1, 2])

        var firstPoints = Self.outline
        firstPoints.chapters[0].points.append("editions")
        #expect(changed(Self.outline, firstPoints, context: .toc) == [0], "toc shows titles only")
        #expect(changed(Self.outline, firstPoints, context: .neighbours) == [0, 1])

        var notes = Self.outline
        notes.chapters[2].notes = "Keep it short."
        for context in CourseContext.allCases {
            #expect(changed(Self.outline, notes, context: context) == [2])
        }

        var inserted = Self.outline
        inserted.chapters.insert(.init(title: "Lifetimes", points: ["'a"]), at: 2)
        #expect(changed(Self.outline, inserted, context: .none) == [2])
        #expect(changed(Self.outline, inserted, context: .neighbours) == [1, 2, 3])
        #expect(changed(Self.outline, inserted, context: .toc) == [0, 1, 2, 3, 4])
    }

    @Test("an own template's text is in the keys of the chapters it writes; the built-in version is not")
    func ownTemplateKeys() throws {
        let plain = ChapterKey.all(settings: .init(), outline: Self.outline)
        var own = GenerationSettings()
        own.templates.chapter = try PromptTemplate(
            "Write about {{chapter.title}}.\n",
            role: .chapter,
            origin: "a.mustache"
        )
        let ownKeys = ChapterKey.all(settings: own, outline: Self.outline)
        #expect(Set(ownKeys).isDisjoint(with: plain))
        var same = GenerationSettings()
        same.templates.chapter = try PromptTemplate(
            "Write about {{chapter.title}}.\n",
            role: .chapter,
            origin: "b.mustache"
        )
        #expect(ChapterKey.all(settings: same, outline: Self.outline) == ownKeys, "the text counts, not where it is")
        var edited = GenerationSettings()
        edited.templates.chapter = try PromptTemplate(
            "Write about {{chapter.title}}!\n",
            role: .chapter,
            origin: "a.mustache"
        )
        #expect(Set(ChapterKey.all(settings: edited, outline: Self.outline)).isDisjoint(with: ownKeys))
        #expect(request(0, own).prompt == "Write about Getting started.\n")
        #expect(request(0, own).systemInstruction == request(0).systemInstruction)
    }

    @Test(
        "a template that would render wrong is refused with its line and what to do",
        arguments: [
            ("Course: {{course.titel}}\n", 1, "did you mean `title`"),
            ("ok\n{{title}}\n", 2, "names nothing a prompt has"),
            ("{{#toc}}\n{{number}}. {{title}}{{#isThis}} *{{/isThis}}\n{{/toc}}\n{{isThis}}\n", 4, "`{{isThis}}`"),
            ("{{#chapter.points}}{{.}} {{points}}{{/chapter.points}}", 1, "`{{points}}`"),
            ("{{> header}}\n", 1, "partials and blocks"),
            ("{{=<% %>=}}\n", 1, "delimiters"),
            ("a\nb\n{{#course.audience}}\nunclosed\n", 3, "add `{{/course.audience}}`"),
            ("{{#previous}}\n{{#hasPoints}}\n{{/previous}}\n", 3, "closes `{{#hasPoints}}` (line 2)"),
            ("{{/chapter}}\n", 1, "never opened"),
            ("{{chapter.title\n", 1, "not finished"),
            ("{{course.words.count}}\n", 1, "no fields"),
        ] as [(String, Int, String)]
    )
    func refused(text: String, line: Int, message: String) {
        #expect {
            _ = try PromptTemplate(text, role: .chapter, origin: "team/style.mustache")
        } throws: { error in
            guard let error = error as? PromptTemplateError else { return false }
            #expect(error.file == "team/style.mustache")
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            return true
        }
    }

    @Test("every name a template may use is accepted where it stands, transforms and comments included")
    func accepted() throws {
        let text = """
            {{! a comment naming {{nothing}} }}
            {{course.title}} {{course.audience}} {{course.level}} {{course.language}} {{course.words}}
            {{{course.description}}} {{&chapter.notes}} {{uppercased(chapter.title)}}
            {{#chapter.hasPoints}}{{#chapter.points}}- {{.}}{{/chapter.points}}{{/chapter.hasPoints}}
            {{^chapter.notes}}no notes{{/chapter.notes}}
            {{#hasTOC}}{{#toc}}{{number}} {{title}} {{course.title}}{{#isThis}}!{{/isThis}}{{/toc}}{{/hasTOC}}
            {{#previous}}{{title}}{{#hasPoints}}{{#points}}{{.}}{{/points}}{{/hasPoints}}{{/previous}}
            {{#next}}{{.title}}{{/next}}
            """
        let template = try PromptTemplate(text, role: .chapter, origin: "all.mustache")
        var settings = GenerationSettings()
        settings.templates.chapter = template
        settings.context = .toc
        let prompt = request(0, settings).prompt
        #expect(prompt.contains("Practical Rust Python developers intermediate German 1500"))
        #expect(prompt.contains("GETTING STARTED"))
        #expect(prompt.contains("- rustup- cargo"))
        #expect(prompt.contains("1 Getting started Practical Rust!2 Ownership"))
    }

    @Test("a course names its own templates beside its outline; they cannot reach outside the inbox")
    func courseTemplates() throws {
        let folder = try TemporaryFolder()
        let inbox = "\(folder.path)/inbox"
        let team = "\(inbox)/team"
        try folder.write("inbox/team/styles/mine.mustache", "Write {{chapter.title}} for {{course.audience}}.\n")
        try folder.write("inbox/team/voice.mustache", "Be brief.\n")
        let outside = try folder.write("outside.mustache", "Outside.\n")
        var outline = Self.outline
        outline.prompt = .init(path: "styles/mine.mustache", line: 3)
        outline.systemPrompt = .init(path: "voice.mustache", line: 4)
        outline.context = .neighbours
        let settings = try CoursePrompts.settings(
            for: outline,
            at: "\(team)/rust.md",
            displayName: "team/rust.md",
            within: inbox,
            base: .init()
        )
        #expect(settings.context == .neighbours)
        #expect(settings.templates.chapter.origin == "team/styles/mine.mustache")
        #expect(request(0, settings).prompt == "Write Getting started for Python developers.\n")
        #expect(request(0, settings).systemInstruction == "Be brief.\n")

        func refusal(_ path: String) -> String {
            var outline = Self.outline
            outline.prompt = .init(path: path, line: 7)
            do {
                _ = try CoursePrompts.settings(
                    for: outline,
                    at: "\(team)/rust.md",
                    displayName: "team/rust.md",
                    within: inbox,
                    base: .init()
                )
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(
            refusal("missing.mustache").hasPrefix("team/rust.md:7: `prompt` names missing.mustache, which is not there")
        )
        try FileManager.default.createSymbolicLink(atPath: "\(team)/escape.mustache", withDestinationPath: outside)
        #expect(refusal("escape.mustache").contains("leads outside the inbox"))
        try folder.write("inbox/team/bad.mustache", "{{chapter.titel}}")
        #expect(refusal("bad.mustache").hasPrefix("team/bad.mustache:1: `{{chapter.titel}}` names nothing"))
        try folder.write("inbox/team/big.mustache", [UInt8](repeating: 0x61, count: PromptTemplate.maximumBytes + 1))
        #expect(refusal("big.mustache").contains("over the limit"))
        try folder.write("inbox/team/binary.mustache", [0xFF, 0xFE, 0x00])
        #expect(refusal("binary.mustache").contains("not UTF-8"))
    }

    @Test(
        "an outline names its templates and context in every format, and bad values say what to write",
        arguments: [
            (
                "course.md",
                "---\nprompt: style.mustache\nsystem-prompt: voice.mustache\ncontext: neighbors\n---\n# T\n\n## A\n",
                nil
            ),
            (
                "course.yaml",
                "title: T\nprompt: style.mustache\nsystem-prompt: voice.mustache\ncontext: neighbours\nchapters:\n  - title: A\n",
                nil
            ),
            (
                "course.json",
                #"{"title": "T", "prompt": "style.mustache", "system-prompt": "voice.mustache", "context": "neighbours", "chapters": [{"title": "A"}]}"#,
                nil
            ),
            (
                "course.yaml", "title: T\ncontext: all\nchapters:\n  - title: A\n",
                "course.yaml:2: `context` is all: write `none`"
            ),
            (
                "course.yaml", "title: T\nprompt: ../style.mustache\nchapters:\n  - title: A\n",
                "course.yaml:2: `prompt` is ../style.mustache: name a template file beside the outline"
            ),
            (
                "course.yaml", "title: T\nprompt: /etc/style.mustache\nchapters:\n  - title: A\n",
                "absolute paths and `..` are refused"
            ),
            (
                "course.yaml", "title: T\nsystem-prompt: style.txt\nchapters:\n  - title: A\n",
                "course.yaml:2: `system-prompt` is style.txt: a template file's name ends in `.mustache`"
            ),
        ] as [(String, String, String?)]
    )
    func outlineKeys(fileName: String, text: String, error: String?) throws {
        let format = try #require(OutlineFormat(fileName: fileName))
        let parsed = Result { () throws(OutlineError) -> Outline in
            try OutlineParser.parse(Array(text.utf8), format: format, fileName: fileName)
        }
        switch parsed {
        case .success(let outline):
            #expect(error == nil, "parsed, but expected \(error ?? "")")
            #expect(outline.prompt?.path == "style.mustache")
            #expect(outline.systemPrompt?.path == "voice.mustache")
            #expect(outline.context == .neighbours)
            var plain = outline
            plain.context = nil
            #expect(
                plain.digest != outline.digest,
                "a new context is a new outline: a run in progress does not cover it"
            )
        case .failure(let thrown):
            let expected = try #require(error, "\(thrown)")
            #expect("\(thrown)".contains(expected), "\(thrown)")
        }
    }
}
