import ArgumentParser
import Foundation
import Generation
import Logging
import Platform
import Outlines

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring one outline's chapters up to date in OUTPUT/<outline name>/.",
        discussion: """
            Chapters whose cache key is already stored are published without a request; the others \
            are generated concurrently. Exits 0 only when every chapter is published; otherwise \
            publishes what succeeded, says which chapters failed and why, and exits 1. A first Ctrl-C \
            (or SIGTERM) sends no new request, stores and publishes the answers in flight (for up to \
            --stop-timeout), then exits 130 (143 for SIGTERM); a second one stops at once.
            """
    )

    @Argument(help: ArgumentHelp("The outline (.md, .yaml, .yml or .json).", valueName: "outline"))
    var outline: String

    @Option(name: Setting.output.flagName, help: Setting.output.help) var output: String?

    @Flag(help: "Regenerate hand-edited chapters too; each edited file is kept beside its replacement as NAME.orig.")
    var force = false

    @Flag(name: Setting.batch.flagName, inversion: .prefixedNo, help: Setting.batch.help) var batch: Bool?

    @Option(name: Setting.stopTimeout.flagName, parsing: .unconditional, help: Setting.stopTimeout.help)
    var stopTimeout: String?

    @OptionGroup(title: "Generation options")
    var options: GenerationOptions

    func validate() throws { try SettingFlags.validate(self) }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let (resolution, stateFolder) = try await orExit(Exit.badConfiguration) {
            let resolution = try SettingSources(command: self, config: options.common.config)
                .resolve(environment: environment, readingTemplates: true)
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
            throw Exit.usage
        }
        let outlinePath = AbsolutePath(outline).string
        let fileName = (outlinePath as NSString).lastPathComponent
        guard let folderName = Outline.folderName(forFile: fileName) else {
            printError(
                "coursegen: \(outline): cannot derive an output folder name from this file name; rename it, e.g. my-course.md"
            )
            throw Exit.badOutline
        }
        guard !StateDirectory(path: stateFolder).wroteFile(at: outlinePath) else {
            printError(
                "coursegen: \(outline): this is a file coursegen wrote (a chapter, SUMMARY.md or a status page), not an outline; give generate the outline the course was made from"
            )
            throw Exit.badOutline
        }
        let parsed = try await orExit(Exit.badOutline) {
            try OutlineParser.parse(fileAt: outlinePath, displayName: outline)
        }
        // The course's own templates and context, beside the outline.
        let generation = try await orExit(Exit.badOutline) {
            try CoursePrompts.settings(for: parsed, at: outlinePath, displayName: outline, base: settings.generation)
        }
        let outputFolder = AbsolutePath(outputRoot).string + "/" + folderName
        try await orExit(Exit.badOutline) {
            try claimFolder(outputFolder, for: outlinePath, state: stateFolder)
        }
        if settings.batch, settings.generation.provider != "gemini" {
            printError("coursegen: --batch needs --provider gemini: only Gemini has a Batch API")
            throw Exit.badConfiguration
        }
        let runtime = try await orExit(Exit.badConfiguration) {
            try Runtime.start(settings: settings, state: stateFolder, environment: environment, logger: logger)
        }
        let job = Engine.Job(
            outlinePath: outlinePath,
            outline: parsed,
            name: folderName,
            outputFolder: outputFolder,
            settings: generation,
            force: force,
            cost: settings.cost,
            batchOver: settings.batch ? 1 : nil
        )
        let engine = runtime.engine
        let (outcome, signal) = await Interruption.run(stopTimeout: settings.stopTimeout, scheduler: runtime.scheduler) {
            try await engine.run(job)
        }
        let stop = await runtime.scheduler.stop
        // The status page beside the chapters, as the daemon keeps it (generate never retries on
        // its own: failed chapters wait for the next run).
        let interrupted = signal != nil
        if case .success = outcome, var status = await runtime.engine.records.courseStatus(in: outputFolder) {
            status.source = outlinePath
            if let stop { status.pause(for: stop) }
            if interrupted { status.stopped(total: parsed.chapters.count) }
            do {
                try await runtime.engine.publishStatus(status)
            } catch {
                logger.warning("cannot write the course's status page", metadata: ["error": "\(error)"])
            }
        }
        if interrupted, case .failure(is CancellationError) = outcome,
            var status = await runtime.engine.records.courseStatus(in: outputFolder)
        {
            // The answers in flight did not arrive within the stop timeout: what was published
            // stays, and the page says the course stopped.
            status.source = outlinePath
            status.stopped(total: parsed.chapters.count)
            try? await runtime.engine.publishStatus(status)
        }
        await runtime.shutdown()
        if let signal {
            if case .success(let report) = outcome { print(report.summary) }
            printError(
                "coursegen: stopped; what was written is published, and the next run asks only for the chapters not written yet"
            )
            throw ExitCode(Interruption.status(after: signal))
        }
        let report = try await orExit(Exit.ioError) { try outcome.get() }
        print(report.summary)
        if let stop {
            switch stop.reason {
            case .refused:
                printError("coursegen: stopped: \(stop.error); no further request was sent")
                throw Exit.badConfiguration
            case .dailyQuota:
                let until = stop.until.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                printError("coursegen: stopped\(until): \(stop.error)")
                throw Exit.quotaExhausted
            }
        }
        if !report.isComplete { throw Exit.someChaptersFailed }
    }

    /// Refuses to publish into a folder that another outline file owns (`course.md` beside
    /// `course.yaml`).
    private func claimFolder(_ folder: String, for outline: String, state: String) throws {
        let directory = (outline as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let fileName = (outline as NSString).lastPathComponent
        let rivals = Outline.rivals(of: fileName, among: names).map { "\(directory)/\($0)" }
        if case .refused(let owner) = try FolderClaims(stateDirectory: state).claim(folder, for: outline, rivals: rivals) {
            throw FolderClash(outline: outline, owner: owner, folder: folder)
        }
    }
}

/// An outline refused because another outline file publishes into the same folder.
struct FolderClash: CodedError {
    enum Code: String, ErrorCode {
        /// Another outline publishes into the folder.
        case folderTaken
    }

    let code = Code.folderTaken
    let outline: String
    let owner: String
    let folder: String
    let origin: SourceOrigin

    init(outline: String, owner: String, folder: String, fileID: String = #fileID, line: Int = #line) {
        (self.outline, self.owner, self.folder) = (outline, owner, folder)
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    var message: String {
        "\(outline): not published: \(owner) already publishes into \(folder); "
            + "rename one of the two files (the folder is named after the file name without its extension)"
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
        count("skipped for budget") { if case .skippedForBudget = $0 { true } else { false } }
        count("not written: stopped") { if case .interrupted = $0 { true } else { false } }
        var text = "\(outline): \(counted(chapters.count, "chapter")) in \(folder) (\(counts.joined(separator: ", ")))"
        if usage.promptTokens + usage.outputTokens + usage.thinkingTokens + usage.unreported > 0 {
            text += "; tokens: \(usage.summary)"
            text += "; estimated cost \(cost.summary)"
            if serviceTier != .standard { text += " at the \(serviceTier.rawValue) tier" }
        }
        if let budget { text += " of a budget of \(CostEstimate.format(budget))" }
        for chapter in failedChapters {
            guard case .failed(let message, let kept) = chapter.outcome else { continue }
            text += "\n  chapter \(chapter.position) \"\(chapter.title)\" failed: \(message)"
            text += kept ? " (its previous version stays published)" : " (nothing published for it yet)"
        }
        for chapter in skippedChapters {
            guard case .skippedForBudget(let message, let kept) = chapter.outcome else { continue }
            text += "\n  chapter \(chapter.position) \"\(chapter.title)\" skipped: \(message)"
            text += kept ? " (its previous version stays published)" : " (nothing published for it yet)"
        }
        for (original, backup) in backups.sorted(by: { $0.key < $1.key }) {
            text += "\n  kept \(original) as \(backup) (it was not written by coursegen)"
        }
        return text
    }
}
