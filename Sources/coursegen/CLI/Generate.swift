import ArgumentParser
import Foundation
import Generation
import Logging

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring one outline's chapters up to date in OUTPUT/<outline name>/.",
        discussion: """
            Chapters whose cache key is already stored are published without a request; the others \
            are generated concurrently. Exits 0 only when every chapter is published; otherwise \
            publishes what succeeded, says which chapters failed and why, and exits 1.
            """
    )

    @Argument(help: ArgumentHelp("The outline (.md, .yaml, .yml or .json).", valueName: "outline"))
    var outline: String

    @Option(name: Setting.output.flagName, help: Setting.output.help) var output: String?

    @Flag(help: "Regenerate hand-edited chapters too; each edited file is kept beside its replacement as NAME.orig.")
    var force = false

    @OptionGroup(title: "Generation options")
    var options: GenerationOptions

    func validate() throws { try SettingFlags.validate(self) }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let (resolution, stateFolder) = try await orExit(Exit.badConfiguration) {
            let resolution = try SettingSources(command: self, config: options.common.config)
                .resolve(environment: environment)
            return (resolution, try stateDirectory(resolution.settings.state, environment: environment))
        }
        let settings = resolution.settings
        LogOutput.bootstrap(level: settings.logLevel, environment: environment)
        let logger = Logger(label: "coursegen")
        for warning in resolution.warnings { warning.log(to: logger) }

        guard let outputRoot = settings.output else {
            printError(
                "coursegen: no output folder: pass --output DIR (or set COURSEGEN_OUTPUT, or output: in the config file)"
            )
            throw Exit.badConfiguration
        }
        let outlinePath = absolutePath(outline)
        guard let folderName = Outline.folderName(forFile: (outlinePath as NSString).lastPathComponent) else {
            printError(
                "coursegen: \(outline): cannot derive an output folder name from this file name; rename it, e.g. my-course.md"
            )
            throw Exit.badOutline
        }
        let parsed = try await orExit(Exit.badOutline) {
            try OutlineParser.parse(fileAt: outlinePath, displayName: outline)
        }
        let runtime = try await orExit(Exit.badConfiguration) {
            try Runtime.start(settings: settings, state: stateFolder, environment: environment, logger: logger)
        }
        let job = Engine.Job(
            outlinePath: outlinePath,
            outline: parsed,
            name: folderName,
            outputFolder: absolutePath(outputRoot) + "/" + folderName,
            force: force
        )
        let outcome: Result<RunReport, any Error>
        do {
            outcome = .success(try await runtime.engine.run(job))
        } catch {
            outcome = .failure(error)
        }
        await runtime.shutdown()
        let report = try await orExit(Exit.ioError) { try outcome.get() }
        print(report.summary)
        if !report.isComplete { throw Exit.someChaptersFailed }
    }
}

extension RunReport {
    /// What a run did, for the terminal: one line, then one line per failed chapter.
    var summary: String {
        var counts: [String] = []
        func count(_ label: String, _ match: (Chapter.Outcome) -> Bool) {
            let n = chapters.filter { match($0.outcome) }.count
            if n > 0 { counts.append("\(n) \(label)") }
        }
        count("generated") { $0 == .generated }
        count("reused from the cache") { $0 == .reused }
        count("unchanged") { $0 == .unchanged }
        count("hand-edited, kept") { $0 == .handEdited }
        count("failed") { if case .failed = $0 { true } else { false } }
        var text = "\(outline): \(chapters.count) chapters in \(folder) (\(counts.joined(separator: ", ")))"
        if usage.promptTokens + usage.outputTokens > 0 {
            text += "; tokens: \(usage.promptTokens) in, \(usage.outputTokens) out, \(usage.thinkingTokens) thinking"
        }
        for chapter in failedChapters {
            guard case .failed(let message, let kept) = chapter.outcome else { continue }
            text += "\n  chapter \(chapter.position) \"\(chapter.title)\" failed: \(message)"
            text += kept ? " (its previous version stays published)" : " (nothing published for it yet)"
        }
        for (original, backup) in backups.sorted(by: { $0.key < $1.key }) {
            text += "\n  kept \(original) as \(backup) (it was not written by coursegen)"
        }
        return text
    }
}
