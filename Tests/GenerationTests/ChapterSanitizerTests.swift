import TestSupport
import Testing

@testable import Generation
@testable import Providers
@testable import Outlines

/// One row: what the model wrote, what is published, and what the warning names ("" when
/// nothing is neutralised).
struct SanitizerCase: Sendable, CustomTestStringConvertible {
    var input: String
    var output: String
    var neutralised: String
    var testDescription: String { input.debugDescription }

    init(_ input: String, _ output: String, _ neutralised: String = "") {
        self.input = input
        self.output = output
        self.neutralised = neutralised
    }
}

private let hostileCases: [SanitizerCase] = [
    SanitizerCase("Some text a</p> more.", "Some text a&lt;/p> more.", "a stray </p> tag"),
    SanitizerCase("> quote</P >\n\n*x*</p>", "> quote&lt;/P >\n\n*x*&lt;/p>", "2 stray </p> tags"),
    SanitizerCase("Hi <script>alert(1)</script>", "Hi &lt;script&gt;alert(1)&lt;/script&gt;", "a <script> element"),
    SanitizerCase("<ScRiPt>x</sCrIpT>", "&lt;ScRiPt&gt;x&lt;/sCrIpT&gt;", "a <script> element"),
    SanitizerCase("a < script>x", "a &lt; script>x", "a <script> element"),
    SanitizerCase(
        "<script\nsrc=//evil.example></script>",
        "&lt;script\nsrc=//evil.example&gt;&lt;/script&gt;",
        "a <script> element"
    ),
    SanitizerCase("<iframe src=x></iframe>", "&lt;iframe src=x&gt;&lt;/iframe&gt;", "an <iframe> element"),
    SanitizerCase("<object data=x>", "&lt;object data=x&gt;", "an <object> element"),
    SanitizerCase("<embed src=x>", "&lt;embed src=x&gt;", "an <embed> element"),
    SanitizerCase(
        "<style>body{display:none}</style>",
        "&lt;style&gt;body{display:none}&lt;/style&gt;",
        "a <style> element"
    ),
    SanitizerCase("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", "an on...= attribute"),
    SanitizerCase("<img src=\"x\"onerror=alert(1)>", "&lt;img src=\"x\"onerror=alert(1)&gt;", "an on...= attribute"),
    SanitizerCase("<img/src/onError = alert(1)>", "&lt;img/src/onError = alert(1)&gt;", "an on...= attribute"),
    SanitizerCase(
        "<b onclick=a() onmouseover=b()>x</b>",
        "&lt;b onclick=a() onmouseover=b()&gt;x</b>",
        "2 on...= attributes"
    ),
    SanitizerCase("<p title='>' onclick=x>", "&lt;p title='>' onclick=x&gt;", "an on...= attribute"),
    SanitizerCase("<svg><script>x</script></svg>", "<svg>&lt;script&gt;x&lt;/script&gt;</svg>", "a <script> element"),
    SanitizerCase(
        "<a href=\"javascript:alert(1)\">x</a>",
        "&lt;a href=\"javascript:alert(1)\"&gt;x</a>",
        "a javascript: URL"
    ),
    SanitizerCase(
        "<a href=\"&#x6A;avascript:x\">x</a>",
        "&lt;a href=\"&#x6A;avascript:x\"&gt;x</a>",
        "a javascript: URL"
    ),
    SanitizerCase("<a href=\" JaVaScRiPt:x\">x</a>", "&lt;a href=\" JaVaScRiPt:x\"&gt;x</a>", "a javascript: URL"),
    SanitizerCase("<a href='vbscript:x'>x</a>", "&lt;a href='vbscript:x'&gt;x</a>", "a vbscript: URL"),
    SanitizerCase("<a href=\"data:text/html,<b>\">x</a>", "&lt;a href=\"data:text/html,<b>\"&gt;x</a>", "a data: URL"),
    SanitizerCase("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;", "a javascript: URL"),
    SanitizerCase("[x](javascript:alert(1))", "[x](unsafe:javascript:alert(1))", "a javascript: URL"),
    SanitizerCase("![x](JAVASCRIPT:alert(1))", "![x](unsafe:JAVASCRIPT:alert(1))", "a javascript: URL"),
    SanitizerCase("[x](java&#115;cript:alert(1))", "[x](unsafe:java&#115;cript:alert(1))", "a javascript: URL"),
    SanitizerCase("[x](<jav\tascript:alert(1)>)", "[x](<unsafe:jav\tascript:alert(1)>)", "a javascript: URL"),
    SanitizerCase("[x](javascript&colon;alert(1))", "[x](unsafe:javascript&colon;alert(1))", "a javascript: URL"),
    SanitizerCase("[x](javascript\\:alert(1))", "[x](unsafe:javascript\\:alert(1))", "a javascript: URL"),
    SanitizerCase("[x](\n  javascript:alert(1))", "[x](\n  unsafe:javascript:alert(1))", "a javascript: URL"),
    SanitizerCase("[x]: javascript:alert(1)", "[x]: unsafe:javascript:alert(1)", "a javascript: URL"),
    // A fence inside an HTML block is no fence: its content is HTML.
    SanitizerCase(
        "<div>\n```\n<script>x</script>\n```\n</div>",
        "<div>\n```\n&lt;script&gt;x&lt;/script&gt;\n```\n</div>",
        "a <script> element"
    ),
    // A fence in a list item ends with the item.
    SanitizerCase(
        "- a\n  ```\n  x\n<script>y</script>\n```",
        "- a\n  ```\n  x\n&lt;script&gt;y&lt;/script&gt;\n```",
        "a <script> element"
    ),
    // Four spaces in a list item are the item's paragraph (here an HTML block), not code.
    SanitizerCase("- a\n\n    <script>x</script>", "- a\n\n    &lt;script&gt;x&lt;/script&gt;", "a <script> element"),
    // A lazy line keeps the item open: the next indented line is not code.
    SanitizerCase(
        "- a\nlazy\n\n    <script>x</script>",
        "- a\nlazy\n\n    &lt;script&gt;x&lt;/script&gt;",
        "a <script> element"
    ),
    // A code span may cross lines: the pairing of the next line is not trusted.
    SanitizerCase("a `b\nc` <script>` d`", "a `b\nc` &lt;script&gt;` d`", "a <script> element"),
    // A tag wins over a backtick inside it.
    SanitizerCase("<img title=\"`\" onerror=x>`", "&lt;img title=\"`\" onerror=x&gt;`", "an on...= attribute"),
    // In a table, a pipe ends the cell and the would-be span.
    SanitizerCase("| `a | <script>` |", "| `a | &lt;script&gt;` |", "a <script> element"),
    SanitizerCase("\\`<script>`", "\\`&lt;script&gt;`", "a <script> element"),
    SanitizerCase(
        "> ```\n> <script>x</script>\n> ```",
        "> ```\n> &lt;script&gt;x&lt;/script&gt;\n> ```",
        "a <script> element"
    ),
]

private let harmlessCases: [SanitizerCase] = [
    SanitizerCase("A span `</p>` and a </pre> or </param> tag stay.", "A span `</p>` and a </pre> or </param> tag stay."),
    SanitizerCase("<p>An HTML block</p>", "<p>An HTML block</p>"),
    SanitizerCase(
        "Use `<script>` for scripts and `onclick=` for clicks.",
        "Use `<script>` for scripts and `onclick=` for clicks."
    ),
    SanitizerCase("``a ` <iframe> b``", "``a ` <iframe> b``"),
    SanitizerCase(
        "```html\n<script>alert(1)</script>\n<a href=\"javascript:x\">\n```",
        "```html\n<script>alert(1)</script>\n<a href=\"javascript:x\">\n```"
    ),
    SanitizerCase("~~~~\n<script>\n~~~\n</script>\n~~~~", "~~~~\n<script>\n~~~\n</script>\n~~~~"),
    SanitizerCase(
        "Intro:\n\n    <script>alert(1)</script>\n\n    [x](javascript:y)",
        "Intro:\n\n    <script>alert(1)</script>\n\n    [x](javascript:y)"
    ),
    SanitizerCase(
        "1. Step:\n\n   ```html\n   <iframe src=x></iframe>\n   ```",
        "1. Step:\n\n   ```html\n   <iframe src=x></iframe>\n   ```"
    ),
    SanitizerCase(
        "<b>bold</b> <img src=\"a.png\" alt=\"A\"> <a href=\"https://x.example\">x</a>",
        "<b>bold</b> <img src=\"a.png\" alt=\"A\"> <a href=\"https://x.example\">x</a>"
    ),
    SanitizerCase("<img src=\"data:image/png;base64,AAAA\">", "<img src=\"data:image/png;base64,AAAA\">"),
    SanitizerCase(
        "[x](https://example.com/javascript:y) and (javascript: is a scheme)",
        "[x](https://example.com/javascript:y) and (javascript: is a scheme)"
    ),
    SanitizerCase("2 < 3 and 3 > 2; x<y", "2 < 3 and 3 > 2; x<y"),
    SanitizerCase("Reading online is fine; onion = vegetable.", "Reading online is fine; onion = vegetable."),
]

private let structureCases: [SanitizerCase] = [
    SanitizerCase("---\ntitle: Ownership\ntags:\n  - rust\n---\n\nBody", "Body"),
    SanitizerCase("# Ownership\n\nBody", "Body"),
    SanitizerCase("---\ntitle: x\n---\n# Ownership\nBody", "Body"),
    SanitizerCase("Ownership\n=========\n\nBody", "Body"),
    SanitizerCase("Body\n\n# Part\n\n#\n\n## Kept", "Body\n\n## Part\n\n##\n\n## Kept"),
    SanitizerCase("Body\n> # Quoted", "Body\n> ## Quoted"),
    SanitizerCase("Body\n\nPart\n====", "Body\n\nPart\n----"),
    SanitizerCase(
        "Body\n\n```sh\n# a comment\n```\n\n    # also code",
        "Body\n\n```sh\n# a comment\n```\n\n    # also code"
    ),
    SanitizerCase("Body\n\n#hashtag", "Body\n\n#hashtag"),
    // A thematic break, then text: no front matter.
    SanitizerCase("---\nJust a sentence.\n---\nMore", "---\nJust a sentence.\n---\nMore"),
]

@Suite("Chapter sanitizer")
struct ChapterSanitizerTests {
    @Test(
        "HTML and links that can run script are escaped outside code, and the warning says what",
        arguments: hostileCases
    )
    func neutralises(row: SanitizerCase) {
        let result = ChapterSanitizer.sanitize(row.input, allowHTML: false)
        #expect(result.text == row.output)
        #expect(result.neutralised.description == row.neutralised)
    }

    @Test("code and harmless HTML stay exactly as written", arguments: harmlessCases)
    func keeps(row: SanitizerCase) {
        let result = ChapterSanitizer.sanitize(row.input, allowHTML: false)
        #expect(result.text == row.output)
        #expect(result.neutralised.isEmpty)
    }

    @Test("front matter and a leading title are dropped, other top-level headings demoted", arguments: structureCases)
    func structure(row: SanitizerCase) {
        for allowHTML in [false, true] {
            #expect(ChapterSanitizer.sanitize(row.input, allowHTML: allowHTML).text == row.output)
        }
    }

    @Test("with HTML allowed the model's HTML and links are kept as written", arguments: hostileCases)
    func allowed(row: SanitizerCase) {
        let result = ChapterSanitizer.sanitize(row.input, allowHTML: true)
        #expect(result.text == row.input)
        #expect(result.neutralised.isEmpty)
    }

    @Test(
        "a megabyte of hostile text is sanitized in time linear in its size, every tag in it escaped",
        .timeLimit(.minutes(2 * TestTime.factor))
    )
    func flood() {
        let size = 1 << 20
        let tags = ChapterSanitizer.sanitize(String(repeating: "<a ", count: size / 3), allowHTML: false)
        #expect(!tags.text.contains("<a"))
        #expect(tags.neutralised.uncheckedTags == size / 3)
        let links = ChapterSanitizer.sanitize(
            String(repeating: "[x](javascript:y) ", count: size / 18),
            allowHTML: false
        )
        #expect(links.neutralised.urls == ["javascript:": size / 18])
        let fences = ChapterSanitizer.sanitize(
            String(repeating: "- a\n  ```\n<b onclick=x>\n", count: size / 24),
            allowHTML: false
        )
        #expect(!fences.text.contains("<b onclick"))
    }

    @Test("what was neutralised is counted per kind in one sentence")
    func description() {
        let result = ChapterSanitizer.sanitize(
            "<script>a</script><script>b</script> <img src=x onerror=a onload=b> [x](javascript:y)",
            allowHTML: false
        )
        #expect(result.neutralised.description == "2 <script> elements, 2 on...= attributes, a javascript: URL")
    }

    @Test("mdBook directives are escaped everywhere whether HTML is allowed or not, and the warning names them")
    func directives() {
        let body = """
            {{#title Hacked}}
            Read {{#include /etc/hostname}} and `{{#include /etc/hostname}}`.

            ```
            {{#include /etc/hostname}}
            ```
            <script>{{ #include /etc/hostname }}</script>
            """
        let escaped = """
            \\{{#title Hacked}}
            Read \\{{#include /etc/hostname}} and `{{#include /etc/hostname}}`.

            ```
            \\{{#include /etc/hostname}}
            ```
            """
        let strict = ChapterSanitizer.sanitize(body, allowHTML: false)
        let allowed = ChapterSanitizer.sanitize(body, allowHTML: true)
        #expect(strict.text == escaped + "\n&lt;script&gt;{\\{ #include /etc/hostname }}&lt;/script&gt;")
        #expect(allowed.text == escaped + "\n<script>{\\{ #include /etc/hostname }}</script>")
        #expect(
            strict.neutralised.description
                == "a <script> element, 4 mdBook {{#include}} directives, an mdBook {{#title}} directive"
        )
        #expect(allowed.neutralised.description == "4 mdBook {{#include}} directives, an mdBook {{#title}} directive")
    }

    @Test("the rendered file carries the title once and the sanitized body")
    func rendered() {
        let rendered = ChapterFile.render(title: "T", body: "# T\n\n# Part\n<script>x</script>\n", allowHTML: false)
        #expect(String(decoding: rendered.bytes, as: UTF8.self) == "# T\n\n## Part\n&lt;script&gt;x&lt;/script&gt;\n")
        #expect(rendered.neutralised.elements == ["script": 1])
    }

    @Test("allowing HTML is not part of a chapter's cache key")
    func notInKey() throws {
        let outline = try OutlineParser.parse(
            Array("# Course\n\n## One\n- a point\n".utf8),
            format: .markdown,
            fileName: "course.md"
        )
        var allowed = GenerationSettings()
        allowed.allowHTML = true
        #expect(
            ChapterKey(settings: allowed, outline: outline, index: 0)
                == ChapterKey(settings: GenerationSettings(), outline: outline, index: 0)
        )
    }
}
