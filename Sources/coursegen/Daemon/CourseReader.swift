import Foundation
import Generation
import Logging
import Watcher
import Platform
import Outlines

#if canImport(Glibc)
    import Glibc
#endif

/// Reads an outline of the inbox for the coordinator: whether it is one (not a file coursegen
/// wrote, still inside the inbox once symbolic links are resolved), its text, its own templates
/// and context, its folder's claim, and what the state folder says of it. Every blocking call
/// runs on `io`, never on the coordinator's actor: an inbox on a share that hangs holds a
/// thread of the blocking pool, not the daemon's event loop (and so not the watchdog).
struct CourseReader: Sendable {
    let inbox: String
    let output: String
    let claims: FolderClaims
    let state: StateDirectory
    let engine: Engine
    let io: BlockingIO
    /// Runs on the blocking pool once the outline is read (a test seam: it can stand for a share
    /// that hangs, or hold a read of an older text while a newer one goes ahead).
    let whileReading: @Sendable (InboxFile) -> Void
    /// `batch-over`: a run that needs at least this many chapters goes as Batch API jobs, when
    /// the decision allows it (`CourseDecision.start`'s `batches`); nil never.
    let batchOver: Int?

    init(
        inbox: String,
        output: String,
        state: String,
        engine: Engine,
        io: BlockingIO = .shared,
        batchOver: Int? = nil,
        whileReading: @escaping @Sendable (InboxFile) -> Void = { _ in }
    ) {
        self.inbox = inbox
        self.output = output
        self.claims = FolderClaims(stateDirectory: state)
        self.state = StateDirectory(path: state)
        self.engine = engine
        self.io = io
        self.whileReading = whileReading
        self.batchOver = batchOver
    }

    /// What a read gave: the decision's input, and what a run needs.
    struct Result: Sendable {
        var read: CourseDecision.Read
        var outline: Outline?
        var settings: GenerationSettings?
        /// Why it cannot be read, as the journal says it (`FILE:LINE: what is wrong`).
        var error: String?
    }

    /// The folder `file` publishes into, `OUTPUT/<its folder in the inbox>/<its name>`; nil when
    /// its name gives none.
    func folder(of file: InboxFile) -> String? {
        guard let name = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent) else {
            return nil
        }
        let relativeFolder = (file.relativePath as NSString).deletingLastPathComponent
        return [output, relativeFolder, name].filter { !$0.isEmpty }.joined(separator: "/")
    }

    func read(_ file: InboxFile, base: GenerationSettings) async -> Result {
        guard let folder = folder(of: file) else {
            let message = "cannot derive an output folder name from this file name; rename the file"
            return Result(
                read: .unreadable(.init(file: file.relativePath, line: nil, message: message, text: nil)),
                error: "\(file.path): \(message)"
            )
        }
        let (claims, state, inbox, whileReading) = (self.claims, self.state, self.inbox, self.whileReading)
        let parsed: Result
        do {
            parsed = try await io.run { () throws -> Result in
                guard !state.wroteFile(at: file.path) else { return Result(read: .writtenByCoursegen) }
                // The watcher refuses symlinks leading out of the inbox; this checks again right
                // before reading, in case a link was swapped in since.
                guard let real = AbsolutePath(file.path).real, AbsolutePath(inbox).resolved.contains(real) else {
                    return Result(read: .outsideInbox)
                }
                let outline = try OutlineParser.parse(fileAt: file.path)
                whileReading(file)
                let settings = try CoursePrompts.settings(
                    for: outline,
                    at: file.path,
                    displayName: file.relativePath,
                    within: inbox,
                    base: base
                )
                let directory = (file.path as NSString).deletingLastPathComponent
                let fileName = (file.path as NSString).lastPathComponent
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                let rivals = Outline.rivals(of: fileName, among: names).map { "\(directory)/\($0)" }
                if case .refused(let owner) = try claims.claim(folder, for: file.path, rivals: rivals) {
                    return Result(read: .refused(owner: owner))
                }
                return Result(
                    read: .parsed(digest: "", isUpToDate: false, keptRetry: nil),
                    outline: outline,
                    settings: settings
                )
            }
        } catch {
            return Result(read: .unreadable(await problem(error, in: file)), error: "\(error)")
        }
        guard let outline = parsed.outline, let settings = parsed.settings else { return parsed }
        async let isUpToDate = engine.records.isUpToDate(outline, settings: settings, in: folder)
        async let keptRetry = engine.records.retry(for: outline, settings: settings, in: folder)
        return Result(
            read: .parsed(
                digest: Self.digest(outline, settings),
                isUpToDate: await isUpToDate,
                keptRetry: await keptRetry
            ),
            outline: outline,
            settings: settings
        )
    }

    /// Ends the claim of `file`, removed, on its folder: another outline may have it now.
    func releaseFolder(of file: InboxFile, logger: Logger) async {
        guard let folder = folder(of: file) else { return }
        let claims = self.claims
        do {
            try await io.run { try claims.release(folder, from: file.path) }
        } catch {
            logger.warning("cannot release the removed outline's folder", metadata: ["error": "\(error)"])
        }
    }

    /// What a run of `outline` asks: the outline, and the templates and context it is written
    /// with (a template saved while a run is in progress is a new run, like a save of the outline).
    static func digest(_ outline: Outline, _ settings: GenerationSettings) -> String {
        [outline.digest, settings.context.rawValue, settings.templates.system.text, settings.templates.chapter.text]
            .joined(separator: "\u{0}")
    }

    /// A parse error as the page shows it: the file, the line, the message and the line's text.
    private func problem(_ error: any Error, in file: InboxFile) async -> CourseStatus.OutlineProblem {
        if let error = error as? PromptTemplateError {
            // The template's own line, read from the template beside the outline.
            let text = await line(error.line, of: "\(inbox)/\(error.origin)")
            return .init(file: error.file, line: error.line, message: error.message, text: text)
        }
        guard let error = error as? OutlineError else {
            return .init(file: file.relativePath, line: nil, message: "\(error)", text: nil)
        }
        return .init(
            file: file.relativePath,
            line: error.line,
            message: error.message,
            text: await line(error.line, of: file.path)
        )
    }

    /// Line `line` (from 1) of the file at `path`, at most 500 characters; nil when there is none,
    /// or when it is not text (a binary file's bytes never reach the author's page).
    private func line(_ line: Int?, of path: String) async -> String? {
        guard let line else { return nil }
        return
            (try? await io.run { () -> String? in
                guard let bytes = try? SmallFile.read(path, limit: OutlineParser.maximumFileSize) else { return nil }
                let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                guard line >= 1 && line <= lines.count,
                    let text = String(validating: lines[line - 1], as: UTF8.self),
                    !text.unicodeScalars.contains(where: {
                        $0.properties.generalCategory == .control && $0 != "\t" && $0 != "\r"
                    })
                else { return nil }
                return String(text.prefix(500))
            }) ?? nil
    }
}

extension CourseReader.Result {
    /// The job that brings `course` up to date as it was read; nil when it was not parsed.
    func job(
        for course: Course,
        folder: String,
        settle: Duration,
        cost: CostPolicy,
        retriesBudgetSkips: Bool,
        batchOver: Int? = nil
    ) -> Engine.Job? {
        guard let outline, let settings else { return nil }
        return Engine.Job(
            outlinePath: course.file.path,
            outline: outline,
            name: course.name,
            outputFolder: folder,
            settings: settings,
            settle: settle,
            cost: cost,
            retriesBudgetSkips: retriesBudgetSkips,
            batchOver: batchOver
        )
    }
}
