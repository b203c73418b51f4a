import FakeGemini
import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// The published folder built by the real `mdbook` and, for the hostile corpus, opened in a real
/// browser: what the model wrote must not run script, include a file of the machine or change
/// the page's title once the book is built. Skipped, loudly, where `mdbook` or `chromium` is
/// missing; `.ci/run` installs both and sets `COURSEGEN_RENDER_TESTS=required`, which makes a
/// missing tool a failure instead.
@Suite("The published book, built by the real mdBook and opened in headless Chromium", .serialized)
struct RenderedBookTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile-chapters")

    @Test(
        "a chapter's {{#include}} in prose, a code span and a code block, and its {{#title}}, are shown as text by mdbook, include no file and keep the title",
        .enabled(if: RenderTools.found.runs(browser: false), RenderTools.found.comment(browser: false)),
        .timeLimit(.minutes(5))
    )
    func directivesShownAsText() async throws {
        let tools = try RenderTools.found.required(browser: false)
        let temp = try TemporaryFolder()
        let secret = try Secret(in: temp)
        let answer = """
            Prose {{#include \(secret.path)}}, a span `{{#include \(secret.path)}}`, and {{#include \(secret.relative)}}.

            ```
            {{#include \(secret.path)}}
            {{#include ../../../../../../../../../../etc/hostname}}
            ```

            {{#title Hacked}}
            """
        let harness = try await EngineHarness(temp: temp, reply: { _ in .success(text: answer) })
        try await harness.generate(markdownOutline(title: "Directives book", chapters: [("Directives", ["one"])]))
        try await harness.shutdown()
        let folder = "\(harness.output)/course"
        let built = try await tools.build(folder, into: "\(temp.path)/html", home: temp.path)
        let page = try String(contentsOfFile: "\(temp.path)/html/01-directives.html", encoding: .utf8)

        #expect(built.status == 0, "\(built.errors)")
        #expect(
            page.contains(
                "<p>Prose {{#include \(secret.path)}}, a span <code>{{#include \(secret.path)}}</code>, and {{#include \(secret.relative)}}.</p>"
            )
        )
        #expect(
            page.contains(
                "<pre><code>{{#include \(secret.path)}}\n{{#include ../../../../../../../../../../etc/hostname}}\n</code></pre>"
            )
        )
        #expect(page.contains("<p>{{#title Hacked}}</p>"))
        #expect(page.contains("<title>Directives - Directives book</title>"))
        #expect(try secret.foundIn(folder: "\(temp.path)/html").isEmpty)
        if let hostname = MachineFiles.hostname { #expect(!page.contains(hostname)) }

        // The same chapter without the escapes: mdbook includes the file and takes the title, so
        // the checks above do see an inclusion.
        try temp.write("control/book.toml", try #require(temp.read("out/course/book.toml")))
        try temp.write("control/SUMMARY.md", try #require(temp.read("out/course/SUMMARY.md")))
        let published = try #require(temp.read("out/course/01-directives.md"))
        try temp.write("control/01-directives.md", published.replacingOccurrences(of: "\\{{", with: "{{"))
        _ = try await tools.build("\(temp.path)/control", into: "\(temp.path)/control-html", home: temp.path)
        let control = try String(contentsOfFile: "\(temp.path)/control-html/01-directives.html", encoding: .utf8)
        #expect(control.contains(secret.token))
        #expect(control.contains("<title>Hacked</title>"))
    }

    @Test(
        "a stray </p> in a paragraph, after emphasis or in a quote is shown as text, so mdbook builds the book (mdBook 0.5 panics on it); one in a code span or an HTML block stays",
        .enabled(if: RenderTools.found.runs(browser: false), RenderTools.found.comment(browser: false)),
        .timeLimit(.minutes(5))
    )
    func strayParagraphEnd() async throws {
        let tools = try RenderTools.found.required(browser: false)
        let temp = try TemporaryFolder()
        let answer = """
            Some text a</p> more.

            *Emphasis*</P>

            > A quote</p >

            A span `</p>` is code.

            <p>An HTML block</p>
            """
        let harness = try await EngineHarness(temp: temp, reply: { _ in .success(text: answer) })
        try await harness.generate(markdownOutline(title: "Stray tags", chapters: [("Stray", ["one"])]))
        try await harness.shutdown()
        let built = try await tools.build("\(harness.output)/course", into: "\(temp.path)/html", home: temp.path)
        let page = try String(contentsOfFile: "\(temp.path)/html/01-stray.html", encoding: .utf8)

        #expect(built.status == 0, "\(built.errors)")
        #expect(page.contains("<p>Some text a&lt;/p&gt; more.</p>"))
        #expect(page.contains("<code>&lt;/p&gt;</code>"))
        #expect(page.contains("<p>An HTML block</p>"))

        // The same chapter as the model wrote it: mdbook fails on it, so the build above does test
        // the escape.
        try temp.write("control/book.toml", try #require(temp.read("out/course/book.toml")))
        try temp.write("control/SUMMARY.md", try #require(temp.read("out/course/SUMMARY.md")))
        try temp.write("control/01-stray.md", "# Stray\n\n" + answer + "\n")
        let control = try await tools.build("\(temp.path)/control", into: "\(temp.path)/control-html", home: temp.path)
        #expect(control.status != 0)
    }

    @Test(
        "no hostile chapter of the corpus runs script, loads anything, shows a file of the machine or changes its title in a real browser",
        .enabled(if: RenderTools.found.runs(browser: true), RenderTools.found.comment(browser: true)),
        .timeLimit(.minutes(10))
    )
    func hostileCorpus() async throws {
        let tools = try RenderTools.found.required(browser: true)
        let temp = try TemporaryFolder()
        let secret = try Secret(in: temp)
        var answers: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        where name.hasSuffix(".md") && name != "README.md" {
            let text = try String(contentsOf: Self.corpus.appendingPathComponent(name), encoding: .utf8)
            answers[String(name.dropLast(3))] = secret.substituted(in: text)
        }
        try #require(answers.count >= 5)
        // A harmless chapter: what mdBook's own page holds around any chapter.
        let harmless = "harmless"
        answers[harmless] = "A harmless chapter.\n\n```rust\nfn main() {}\n```\n"
        let titles = answers.keys.sorted()
        let replies = answers
        let harness = try await EngineHarness(
            temp: temp,
            reply: { request in .success(text: replies[Self.chapterTitle(in: request.prompt)] ?? "unknown chapter") }
        )
        let outlineText = markdownOutline(title: "Hostile corpus", chapters: titles.map { ($0, ["the point"]) })
        let report = try await harness.generate(outlineText)
        #expect(report.failedChapters.isEmpty)
        let folder = "\(harness.output)/course"
        let built = try await tools.build(folder, into: "\(temp.path)/html", home: temp.path)
        if let keep = ProcessInfo.processInfo.environment["COURSEGEN_RENDER_KEEP"] {
            // For whoever adds to the corpus: the published folder, to build and open by hand.
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: folder, toPath: keep)
        }
        #expect(built.status == 0, "\(built.errors)")
        let files = try OutlineParser.parse(fileAt: "\(harness.inbox)/course.md").chapterFileNames
        let pages = Dictionary(uniqueKeysWithValues: zip(titles, files.map { $0.dropLast(3) + ".html" }))

        let baseline = try await tools.open("\(temp.path)/html/\(pages[harmless]!)", profile: "\(temp.path)/chromium")
        #expect(baseline.dangers(inMain: true).isEmpty, "\(baseline.dangers(inMain: true))")
        let chrome = Set(baseline.dangers(inMain: false))
        for title in titles where title != harmless {
            let page = try await tools.open("\(temp.path)/html/\(pages[title]!)", profile: "\(temp.path)/chromium")
            var problems = page.dangers(inMain: true)
            problems += page.dangers(inMain: false).filter { !chrome.contains($0) }.map { "outside <main>: \($0)" }
            if page.title != "\(title) - Hostile corpus" { problems.append("title: \(page.title ?? "none")") }
            for element in page.elements where element.attributes.contains(where: { $0.name == "data-pwned" }) {
                problems.append("a vector ran: \(element.tag)")
            }
            problems += secret.found(in: page.serialized).map { "a file of the machine: \($0)" }
            if let hostname = MachineFiles.hostname, page.mainText.contains(hostname) {
                problems.append("a file of the machine: /etc/hostname")
            }
            // The page's own scripts ran (mdBook marks the root `js`), and the chapter is there.
            let root = page.elements.first { $0.name == "html" }
            if root?.attributes.first(where: { $0.name == "class" })?.value.split(separator: " ").contains("js") != true
            {
                problems.append("the page's own scripts did not run: \(root?.tag ?? "no <html>")")
            }
            if !page.mainText.contains(title) { problems.append("no chapter in <main>") }
            #expect(problems.isEmpty, "\(title): \(problems.joined(separator: "\n"))")
        }

        // The same prose chapter published with --allow-html does run script: the checks above
        // see a vector that runs.
        var allowing = harness.settings
        allowing.allowHTML = true
        try await harness.generate(outlineText, settings: allowing)
        let requests = harness.requests
        try await harness.shutdown()
        _ = try await tools.build(folder, into: "\(temp.path)/html-allowed", home: temp.path)
        let allowed = try await tools.open(
            "\(temp.path)/html-allowed/\(pages["prose"]!)",
            profile: "\(temp.path)/chromium"
        )
        let ran =
            allowed.title == "PWNED" || allowed.elements.contains { $0.attributes.contains { $0.name == "data-pwned" } }
        #expect(ran)
        #expect(!allowed.dangers(inMain: true).isEmpty)
        #expect(requests == titles.count)
    }

    /// The chapter a prompt asks for, from its `Chapter to write:` line.
    static func chapterTitle(in prompt: String) -> String {
        let line = prompt.split(separator: "\n").first { $0.hasPrefix("Chapter to write: ") }
        return line.map { String($0.dropFirst("Chapter to write: ".count)) } ?? ""
    }
}

/// A file outside the book that no page may show: a random token, a script vector (were it
/// included, it would run) and an mdBook anchor, so every form of `{{#include}}` reads it.
struct Secret {
    let path: String
    /// `path` from the published chapter's folder (`out/course`).
    let relative = "../../secret/sentinel.txt"
    let token = "SENTINEL-\(UUID().uuidString)"

    init(in temp: TemporaryFolder) throws {
        path = try temp.write(
            "secret/sentinel.txt",
            """
            \(token) first line
            <img src=x onerror="document.documentElement.dataset.pwned='included'">
            // ANCHOR: here
            \(token) anchored
            // ANCHOR_END: here

            """
        )
    }

    func substituted(in text: String) -> String {
        text.replacingOccurrences(of: "@SENTINEL_RELATIVE@", with: relative)
            .replacingOccurrences(of: "@SENTINEL@", with: path)
    }

    /// What of this file or `/etc/passwd` is in `text`.
    func found(in text: String) -> [String] {
        [token, "root:x:0:0"].filter { text.contains($0) }
    }

    /// The files under `folder` that hold any of it.
    func foundIn(folder: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var files: [String] = []
        while let file = enumerator?.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: "\(folder)/\(file)") else { continue }
            if !found(in: String(decoding: data, as: UTF8.self)).isEmpty { files.append(file) }
        }
        return files
    }
}

enum MachineFiles {
    /// This machine's name, when it is distinctive enough to look for in a page.
    static let hostname: String? = {
        guard let data = FileManager.default.contents(atPath: "/etc/hostname") else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.count >= 6 && name != "localhost" ? name : nil
    }()
}
