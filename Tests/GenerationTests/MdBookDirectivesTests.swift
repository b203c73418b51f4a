import Foundation
import PropertyBased
import Testing

@testable import Generation

/// One row: what the model wrote, what is published, and which directives mdBook acts on were
/// escaped.
struct DirectiveCase: Sendable, CustomTestStringConvertible {
    var input: String
    var output: String
    var escaped: [String: Int]
    var testDescription: String { input.debugDescription }

    init(_ input: String, _ output: String, _ escaped: [String: Int] = [:]) {
        self.input = input
        self.output = output
        self.escaped = escaped
    }
}

private let directiveCases: [DirectiveCase] = [
    // mdBook's own escape, a backslash before `{{`: shown exactly as written, code included.
    DirectiveCase("See {{#include /etc/hostname}}.", "See \\{{#include /etc/hostname}}.", ["include": 1]),
    DirectiveCase("`{{#include /etc/hostname}}`", "`\\{{#include /etc/hostname}}`", ["include": 1]),
    DirectiveCase(
        "```md\n{{#include ../../../../etc/passwd}}\n```",
        "```md\n\\{{#include ../../../../etc/passwd}}\n```",
        ["include": 1]
    ),
    DirectiveCase("    {{#include /etc/hostname}}", "    \\{{#include /etc/hostname}}", ["include": 1]),
    DirectiveCase("{{#title Hacked}}", "\\{{#title Hacked}}", ["title": 1]),
    DirectiveCase("{{#include file.rs:2:10}}", "\\{{#include file.rs:2:10}}", ["include": 1]),
    DirectiveCase(
        "{{#include file.rs::10}} {{#include file.rs:here}}",
        "\\{{#include file.rs::10}} {{#include file.rs:here}}",
        ["include": 2]
    ),
    DirectiveCase(
        "{{#rustdoc_include ../x.rs:anchor}}",
        "\\{{#rustdoc_include ../x.rs:anchor}}",
        ["rustdoc_include": 1]
    ),
    DirectiveCase(
        "{{#playground /etc/hostname editable}}",
        "\\{{#playground /etc/hostname editable}}",
        ["playground": 1]
    ),
    DirectiveCase("{{#playpen x.rs}}", "\\{{#playpen x.rs}}", ["playpen": 1]),
    DirectiveCase("{{#include   x.rs   }}", "\\{{#include   x.rs   }}", ["include": 1]),
    DirectiveCase("> - **{{#include x}}**", "> - **\\{{#include x}}**", ["include": 1]),
    DirectiveCase("| {{#include x}} | y |", "| \\{{#include x}} | y |", ["include": 1]),
    DirectiveCase("[{{#include x}}]: /url", "[\\{{#include x}}]: /url", ["include": 1]),
    DirectiveCase("<div>{{#include x}}</div>", "<div>\\{{#include x}}</div>", ["include": 1]),
    // One escape covers the rest of its line, up to its last `}}`: one backslash, both shown.
    DirectiveCase(
        "{{#include a}} and {{#include b}}, {{ #title c}}",
        "\\{{#include a}} and {{#include b}}, {{ #title c}}",
        ["include": 2, "title": 1]
    ),
    DirectiveCase("{{{#include x}}}", "{\\{{#include x}}}", ["include": 1]),
    DirectiveCase("}} {{#include x}}", "}} \\{{#include x}}", ["include": 1]),
    DirectiveCase("日本 {{#include x}} 🎉", "日本 \\{{#include x}} 🎉", ["include": 1]),
    // Forms mdBook's escape cannot reach: a backslash between the braces.
    DirectiveCase("{{ #include /etc/hostname }}", "{\\{ #include /etc/hostname }}", ["include": 1]),
    DirectiveCase("{{\t#title X}}", "{\\{\t#title X}}", ["title": 1]),
    DirectiveCase("{{\u{A0}#include x}}", "{\\{\u{A0}#include x}}", ["include": 1]),
    DirectiveCase("{{\u{2003}#include\u{3000}x}}", "{\\{\u{2003}#include\u{3000}x}}", ["include": 1]),
    DirectiveCase("{{\n#include x}}", "{\\{\n#include x}}", ["include": 1]),
    DirectiveCase("{{#include\n/etc/hostname}}", "{\\{#include\n/etc/hostname}}", ["include": 1]),
    DirectiveCase(
        "{{#include /etc/hostname\n\nA paragraph.\n\n}}",
        "{\\{#include /etc/hostname\n\nA paragraph.\n\n}}",
        ["include": 1]
    ),
    DirectiveCase("\\{{#include x\n}}", "\\{\\{#include x\n}}", ["include": 1]),
    // mdBook reads one directive named foo here, and ignores it; both are escaped all the same.
    DirectiveCase("{{ #foo {{#include /etc/hostname}}", "{\\{ #foo \\{{#include /etc/hostname}}"),
    // Names mdBook does not act on are escaped too (shown the same), and not reported.
    DirectiveCase("{{#each items}}x{{/each}}", "\\{{#each items}}x{{/each}}"),
    DirectiveCase("{{#Include x}}", "\\{{#Include x}}"),
    // Already escaped by the model (mdBook shows them less the backslash): left alone.
    DirectiveCase("\\{{#include x}}", "\\{{#include x}}"),
    DirectiveCase("\\{{#include a}} {{#include b}}", "\\{{#include a}} {{#include b}}"),
    DirectiveCase("\\\\{{#include x}}", "\\\\{{#include x}}"),
    // Not directives to mdBook.
    DirectiveCase("{{#include}} {{#include }} {{#title}}", "{{#include}} {{#include }} {{#title}}"),
    DirectiveCase("{{ include x }} {{x}} {#include x} {{#}}", "{{ include x }} {{x}} {#include x} {{#}}"),
    DirectiveCase("{{#include x} } {{#inc-lude x}} {{#include x}", "{{#include x} } {{#inc-lude x}} {{#include x}"),
    DirectiveCase("", ""),
]

@Suite("mdBook directives in what the model wrote")
struct MdBookDirectivesTests {
    @Test("every directive mdBook's grammar matches is escaped, in every context", arguments: directiveCases)
    func table(_ row: DirectiveCase) {
        let result = MdBookDirectives.escape(row.input)
        #expect(result.text == row.output)
        #expect(result.escaped == row.escaped)
        #expect(MdBookGrammar.expansions(in: result.text).isEmpty)
    }

    @Test("what mdBook shows of an escaped line is what the model wrote")
    func shownAsWritten() {
        let written = "A {{#include /etc/hostname}} and `{{#title X}}` and {{#playground a.rs editable}}"
        let published = MdBookDirectives.escape(written).text
        #expect(MdBookGrammar.expansions(in: written).count == 3)
        #expect(MdBookGrammar.preprocessed(published) == written)
    }

    @Test(
        "on random text of braces, hashes, names, backslashes and spaces, nothing expands and only backslashes are added"
    )
    func randomText() async {
        let pieces = [
            "{{", "}}", "{", "}", "#", "include", "title", "x", " ", "\t", "\n", "\\", "\u{A0}", "/etc/hostname", ":2",
            "`", "```\n",
        ]
        await propertyCheck(count: 2000, input: Gen<String?>.element(of: pieces).map { $0! }.array(of: 0...40)) {
            parts in
            let written = parts.joined()
            let published = MdBookDirectives.escape(written).text
            #expect(MdBookGrammar.expansions(in: published).isEmpty, "\(published.debugDescription)")
            #expect(published.filter { $0 != "\\" } == written.filter { $0 != "\\" })
            #expect(MdBookDirectives.escape(published).text == published)
        }
    }

    @Test("a megabyte of directives, closed or not, is escaped in one pass")
    func flood() {
        let unclosed = String(repeating: "{{#include x ", count: 80_000)
        #expect(MdBookDirectives.escape(unclosed).text == unclosed)
        #expect(MdBookDirectives.escape(unclosed + "}}").text == "\\" + unclosed + "}}")
        let spanning = String(repeating: "{{#include x\n", count: 80_000) + "}}"
        let escaped = MdBookDirectives.escape(spanning)
        #expect(escaped.text == spanning.replacingOccurrences(of: "{{", with: "{\\{"))
        // To mdBook, all of it is one directive: the first `{{` up to the only `}}`.
        #expect(escaped.escaped == ["include": 1])
    }
}

/// mdBook's `links` preprocessor (`links.rs`, 0.4 and 0.5) as a reference: its regular
/// expression, rewritten for ICU (`.` and `\s` spelt out as Rust's regex reads them).
enum MdBookGrammar {
    private static let pattern = try! NSRegularExpression(
        pattern: #"\\\{\{#[^\n]*\}\}|\{\{\p{White_Space}*#([a-zA-Z0-9_]+)\p{White_Space}+([^}]+)\}\}"#
    )
    private static let actedOn = ["include", "rustdoc_include", "playground", "playpen", "title"]

    /// The directives mdBook would expand in `text` (name and matched text).
    static func expansions(in text: String) -> [(name: String, text: String)] {
        let string = text as NSString
        return pattern.matches(in: text, range: NSRange(location: 0, length: string.length)).compactMap { match in
            guard match.range(at: 1).location != NSNotFound else { return nil }
            let name = string.substring(with: match.range(at: 1))
            return actedOn.contains(name) ? (name, string.substring(with: match.range)) : nil
        }
    }

    /// `text` as mdBook's preprocessor leaves it when it expands nothing: each escaped directive
    /// less its backslash.
    static func preprocessed(_ text: String) -> String {
        let string = text as NSString
        var result = ""
        var last = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: string.length))
        where match.range(at: 1).location == NSNotFound {
            result += string.substring(with: NSRange(location: last, length: match.range.location - last))
            result += string.substring(
                with: NSRange(location: match.range.location + 1, length: match.range.length - 1)
            )
            last = match.range.location + match.range.length
        }
        return result + string.substring(from: last)
    }
}

@Suite("Directives in a chapter's title")
struct TitleDirectiveTests {
    @Test(
        "a title from the outline cannot make mdBook read a file, alone or with the body's first line",
        arguments: [
            ("Intro {{#include /etc/passwd}}", "Fine."),
            ("Intro {{#include ", "/etc/passwd}} and more"),
            ("{{#title Owned}}", "Fine."),
        ]
    )
    func titles(title: String, body: String) {
        let text = String(decoding: ChapterFile.render(title: title, body: body), as: UTF8.self)
        #expect(MdBookDirectives.escape(text).escaped.isEmpty, "no directive left in \(text)")
        #expect(text.hasPrefix("# "))
    }

    @Test("a title without braces is written as it is")
    func plainTitle() {
        #expect(ChapterFile.render(title: "Ownership", body: "Text.") == Array("# Ownership\n\nText.\n".utf8))
    }
}
