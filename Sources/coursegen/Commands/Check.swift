import ArgumentParser
import Foundation
import Generation
import Platform
import Providers
import Outlines

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse outlines and print the plan: course fields and numbered chapters with their points.",
        discussion: "Exits 65 with FILE:LINE: what is wrong, for the first problem of each invalid outline."
    )

    @Argument(help: ArgumentHelp("Outlines to check (.md, .yaml, .yml or .json).", valueName: "file"))
    var files: [String]

    @Flag(
        help: ArgumentHelp(
            "Also print what the model is asked for the first chapter: the system instruction and the prompt, "
                + "written with the templates and context the course would use (its own, else the installation's)."
        )
    )
    var showPrompt = false

    @Option(
        help: ArgumentHelp(
            "With --show-prompt: the settings file whose templates and context apply (default: as generate finds it).",
            valueName: "file"
        )
    )
    var config: String?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one outline file") }
    }

    func run() async throws {
        let installation: GenerationSettings? =
            showPrompt
            ? try await orExit(Exit.badConfiguration) {
                try SettingSources(command: self, config: config)
                    .resolve(environment: ProcessInfo.processInfo.environment, readingTemplates: true).settings.generation
            } : nil
        var failed = false
        for (index, file) in files.enumerated() {
            if index > 0 { print("") }
            do {
                let outline = try OutlineParser.parse(fileAt: file)
                // The course's own templates are read and checked whatever is printed: a missing
                // or broken one would stop every run of the course.
                let settings = try CoursePrompts.settings(
                    for: outline,
                    at: AbsolutePath(file).string,
                    displayName: file,
                    base: installation ?? GenerationSettings()
                )
                print(Self.plan(outline, file: file))
                if installation != nil { print(Self.prompt(outline, settings: settings)) }
            } catch {
                printError("\(error)")
                failed = true
            }
        }
        if failed { throw Exit.badOutline }
    }

    /// What the model is asked for the first chapter, and with what.
    static func prompt(_ outline: Outline, settings: GenerationSettings) -> String {
        let request = ChapterRequest(settings: settings, outline: outline, index: 0)
        return [
            "",
            "What the model is asked for chapter 1 (\(settings.provider) \(settings.model), context: \(settings.context)):",
            "--- system instruction (\(settings.templates.system.origin)) ---",
            request.systemInstruction.trimmingCharacters(in: .newlines),
            "--- prompt (\(settings.templates.chapter.origin)) ---",
            request.prompt.trimmingCharacters(in: .newlines),
            "---",
        ].joined(separator: "\n")
    }

    static func plan(_ outline: Outline, file: String) -> String {
        var lines = ["\(file): \(outline.title)"]
        if let folder = Outline.folderName(forFile: (file as NSString).lastPathComponent) {
            lines.append("  publishes to: OUTPUT/\(folder)/")
        }
        let fields: [(String, String?)] = [
            ("audience", outline.audience), ("level", outline.level), ("language", outline.language),
            ("words", outline.words.map { "\($0) per chapter" }), ("description", outline.description),
        ]
        for (name, value) in fields {
            guard let value else { continue }
            let flat = value.split(whereSeparator: \.isNewline).joined(separator: " ")
            lines.append("  \(name): \(flat.count > 100 ? flat.prefix(99) + "…" : flat)")
        }
        lines.append("  \(outline.chapters.count) chapter\(outline.chapters.count == 1 ? "" : "s"):")
        let names = outline.chapterFileNames
        let width = String(outline.chapters.count).count
        for (index, chapter) in outline.chapters.enumerated() {
            let number = String(index + 1)
            let pad = String(repeating: " ", count: width - number.count)
            lines.append("  \(pad)\(number). \(chapter.title)  -> \(names[index])")
            for point in chapter.points { lines.append("  \(String(repeating: " ", count: width))   - \(point)") }
            if let notes = chapter.notes {
                let count = notes.split(whereSeparator: \.isNewline).count
                lines.append(
                    "  \(String(repeating: " ", count: width))   (notes: \(count) line\(count == 1 ? "" : "s"))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}
