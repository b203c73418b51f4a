import Foundation
public import Logging

/// Brings outlines' published folders up to date, paying only for chapters whose key is not yet
/// in the store. One engine per process, shared by every outline: it owns the one table of
/// requests in flight and the folder locks, and sends every request through the one scheduler.
/// It decides nothing itself: `Plan` decides, the engine gathers what the plan needs and carries
/// it out.
///
/// A run: gather (manifest, live files, stored texts) -> plan -> join the requests the plan
/// needs, each answer stored durably as it arrives -> gather again under the folder's lock, plan
/// with the answers, publish the folder atomically in outline order -> record the manifest.
/// Blocking file work runs on `BlockingIO`, never on the cooperative pool.
public final class Engine: Sendable {
    /// One outline to bring up to date, and the settings to do it with.
    public struct Job: Sendable {
        /// The outline file.
        public var outlinePath: String
        /// The outline as parsed; parsed from `outlinePath` when nil.
        public var outline: Outline?
        /// The outline's name in logs and status (`team-a/practical-rust`).
        public var name: String
        /// The folder its chapters are published in (absolute).
        public var outputFolder: String
        /// What shapes every request of this run (and so every chapter key).
        public var settings: GenerationSettings
        /// Regenerate and replace hand-edited chapters (the edited file is kept as `NAME.orig`).
        public var force: Bool

        public init(
            outlinePath: String,
            outline: Outline? = nil,
            name: String,
            outputFolder: String,
            settings: GenerationSettings,
            force: Bool = false
        ) {
            self.outlinePath = outlinePath
            self.outline = outline
            self.name = name
            self.outputFolder = outputFolder
            self.settings = settings
            self.force = force
        }
    }

    private let state: StateDirectory
    private let scheduler: Scheduler
    private let requests: RequestTable
    private let locks = FolderLocks()
    private let io: BlockingIO
    private let logger: Logger

    /// - Parameters:
    ///   - stateDirectory: where bodies, manifests and locks live.
    ///   - scheduler: the process's one scheduler.
    public convenience init(stateDirectory: String, scheduler: Scheduler, logger: Logger) {
        self.init(state: StateDirectory(path: stateDirectory), scheduler: scheduler, io: .shared, logger: logger)
    }

    init(state: StateDirectory, scheduler: Scheduler, io: BlockingIO, logger: Logger) {
        self.state = state
        self.scheduler = scheduler
        self.io = io
        self.logger = logger
        requests = RequestTable(perform: RequestTable.generating(through: scheduler, into: state.store, io: io))
    }

    /// Cancels every request in flight and returns once each has ended (shutdown).
    public func cancelAll() async {
        await requests.cancelAll()
    }

    /// Keeps the scheduler's daily-quota stop in the state folder, so a restart does not spend a
    /// request to learn it again.
    private func keepStop() async {
        let stop = await scheduler.stop
        let state = self.state
        do {
            try await io.run { try state.saveStop(stop) }
        } catch {
            logger.warning("cannot keep the daily-quota stop in the state folder", metadata: ["error": "\(error)"])
        }
    }

    /// Removes a kept daily-quota stop (a reload lifted it).
    public func forgetStop() async {
        let state = self.state
        try? await io.run { try state.saveStop(nil) }
    }

    /// True when `outline`, under `settings`, is exactly what was last brought up to date in
    /// `folder`, with nothing failed or pending and every file in place: a save that changed no
    /// parsed field needs no work at all.
    public func isUpToDate(_ outline: Outline, settings: GenerationSettings, in folder: String) async -> Bool {
        let keys = outline.chapters.map { ChapterKey(settings: settings, outline: outline, chapter: $0).hex }
        let state = self.state
        return (try? await io.run {
            guard let manifest = try state.manifests.manifest(forFolder: folder),
                manifest.outlineDigest == outline.digest, manifest.chapters.map(\.key) == keys
            else { return false }
            return manifest.chapters.allSatisfy { entry in
                entry.state != .failed && entry.state != .pending
                    && entry.file.map { state.files.kind(of: "\(folder)/\($0)") == .file } == true
            }
        }) ?? false
    }

    /// Brings `job`'s folder up to date.
    ///
    /// - Parameters:
    ///   - onPlanned: called once every request this run needs has been joined (a superseded
    ///     run may be cancelled from then on without dropping requests this run also wants).
    ///   - onProgress: called whenever a chapter becomes ready, fails or starts retrying.
    /// - Returns: what happened to every chapter. Failures of single chapters are in the report,
    ///   not thrown.
    /// - Throws: `OutlineError` for an outline that cannot be read, `FileError` when publishing
    ///   fails (nothing published is lost), `CancellationError` when cancelled before publishing.
    public func run(
        _ job: Job,
        onPlanned: @escaping @Sendable () -> Void = {},
        onProgress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> RunReport {
        let outline: Outline
        if let parsed = job.outline {
            outline = parsed
        } else {
            let path = job.outlinePath
            outline = try await io.run { () throws(OutlineError) -> Outline in try OutlineParser.parse(fileAt: path) }
        }
        let folder = job.outputFolder
        let logger = self.logger.with(["outline": "\(job.name)"])
        let chapterRequests = outline.chapters.map {
            ChapterRequest(settings: job.settings, outline: outline, chapter: $0)
        }
        let chapters = zip(outline.chapters, chapterRequests).map { Plan.Inputs.Chapter(title: $0.title, key: $1.key) }

        // Plan: which chapters need a request.
        var gathered = try await gather(folder: folder, chapters: chapters)
        let plan = Plan.make(gathered.inputs(chapters, force: job.force))
        let needed = plan.requests
        let tracker = ProgressTracker(
            Progress(outline: job.name, total: chapters.count, ready: chapters.count - needed.count),
            onProgress: onProgress
        )
        if !needed.isEmpty {
            logger.info("generating chapters", metadata: ["chapters": "\(needed.count)", "total": "\(chapters.count)"])
        }
        var tickets: [RequestTable.Ticket] = []
        for chapter in needed {
            let chapterLogger = logger.with([
                "chapter": "\(chapter.position)",
                "chapter_title": "\(chapter.title)",
                "cache_id": "\(chapter.key.short)",
            ])
            tickets.append(
                await requests.join(chapterRequests[chapter.position - 1], logger: chapterLogger) { event in
                    tracker.record(event)
                }
            )
        }
        onPlanned()

        // Generate: every missing chapter at once; the scheduler paces them.
        var spent = Usage()
        var requestsMade = 0
        var generated: Set<ChapterKey> = []
        var failed: [ChapterKey: GenerationFailure] = [:]
        do {
            try await withThrowingTaskGroup(of: (ChapterKey, RequestTable.Outcome).self) { group in
                for ticket in tickets {
                    group.addTask { (ticket.key, try await self.requests.outcome(of: ticket)) }
                }
                for try await (key, outcome) in group {
                    switch outcome {
                    case .success(let answer):
                        generated.insert(key)
                        spent += answer.body.usage
                        requestsMade += answer.attempts
                        let title = plan.chapters.first { $0.key == key }?.title ?? ""
                        gathered.rendered[key] = ChapterFile.render(title: title, body: answer.body.text)
                        tracker.finished(failed: false)
                    case .failure(let failure):
                        failed[key] = failure
                        spent += failure.usage
                        requestsMade += failure.attempts
                        tracker.finished(failed: true)
                    }
                }
            }
        } catch {
            await requests.release(tickets)
            throw error
        }
        if failed.values.contains(where: { $0.error.disposition == .dailyQuotaExhausted }) {
            await keepStop()
        }
        try Task.checkCancellation()

        // Publish, in outline order, whatever order the answers came in.
        try await locks.acquire(folder)
        do {
            // A run superseded while it waited for the lock publishes nothing.
            try Task.checkCancellation()
            let processLock = try await ProcessLock.acquire(
                path: "\(state.locks)/\(sha256Hex(folder.utf8).prefix(32)).lock",
                files: state.files,
                logger: logger
            )
            defer { processLock.release() }
            let rendered = gathered.rendered
            let state = self.state
            let (failed, spent, requestsMade, generated) = (failed, spent, requestsMade, generated)
            let (plan, result, manifest) = try await io.run {
                TestHooks.beforePublish()
                // Read again under the lock: another process may have published since planning,
                // and the author may have edited a file meanwhile.
                let current = try Gathered.read(folder: folder, state: state, rendered: rendered)
                var inputs = current.inputs(chapters, force: job.force)
                inputs.failed = failed.mapValues { "\($0)" }
                let plan = Plan.make(inputs)
                let (result, manifest) = try Self.publish(
                    plan,
                    gathered: current,
                    job: job,
                    outline: outline,
                    state: state,
                    spent: spent,
                    requestsMade: requestsMade,
                    generated: !generated.isEmpty
                )
                return (plan, result, manifest)
            }
            await locks.release(folder)
            return report(
                plan: plan,
                result: result,
                manifest: manifest,
                job: job,
                generated: generated,
                spent: spent,
                logger: logger
            )
        } catch {
            await locks.release(folder)
            throw error
        }
    }

    /// What a plan is made from, read from disk.
    private func gather(folder: String, chapters: [Plan.Inputs.Chapter]) async throws -> Gathered {
        let state = self.state
        return try await io.run {
            var gathered = try Gathered.read(folder: folder, state: state, rendered: [:])
            for chapter in chapters {
                guard let body = try state.store.body(for: chapter.key) else { continue }
                gathered.rendered[chapter.key] = ChapterFile.render(title: chapter.title, body: body.text)
            }
            return gathered
        }
    }

    /// Writes the plan's files and the manifest (in two phases: until the files are in place,
    /// the previous version's hashes stay known, so a crash never makes coursegen's own files
    /// look hand-edited).
    private static func publish(
        _ plan: Plan,
        gathered: Gathered,
        job: Job,
        outline: Outline,
        state: StateDirectory,
        spent: Usage,
        requestsMade: Int,
        generated: Bool
    ) throws(FileError) -> (Publisher.Result, Manifest) {
        let previous = gathered.previous
        var chapterFiles: [(name: String, bytes: [UInt8])] = []
        for (name, source) in plan.files {
            switch source {
            case .body(let key): chapterFiles.append((name, gathered.rendered[key] ?? []))
            case .live(let file): chapterFiles.append((name, gathered.live[file] ?? []))
            }
        }
        var manifest = Manifest(
            outline: job.name,
            source: job.outlinePath,
            folder: job.outputFolder,
            title: outline.title,
            outlineDigest: outline.digest,
            chapters: plan.chapters.map(\.entry),
            summarySha256: sha256Hex(plan.summary),
            usage: (previous?.usage ?? Usage()) + spent,
            requests: (previous?.requests ?? 0) + requestsMade,
            lastRun: Date(),
            lastGenerated: generated ? Date() : previous?.lastGenerated
        )
        manifest.transitionalHashes = previous.map { Array($0.allHashes) } ?? []
        try state.manifests.save(manifest)
        let result = try Publisher(folder: job.outputFolder, files: state.files).publish(
            Publisher.Version(
                chapters: chapterFiles,
                unchanged: Set(plan.chapters.filter(\.isUnchanged).map(\.fileName)),
                summary: plan.summary,
                bookConfiguration: ChapterFile.bookConfiguration(title: outline.title),
                backups: plan.backups,
                removals: plan.removals
            )
        )
        manifest.transitionalHashes = []
        try state.manifests.save(manifest)
        return (result, manifest)
    }

    /// The run's report, and its log lines.
    private func report(
        plan: Plan,
        result: Publisher.Result,
        manifest: Manifest,
        job: Job,
        generated: Set<ChapterKey>,
        spent: Usage,
        logger: Logger
    ) -> RunReport {
        let folder = job.outputFolder
        var outcomes: [RunReport.Chapter] = []
        for chapter in plan.chapters {
            let outcome: RunReport.Chapter.Outcome
            switch chapter.action {
            case .publish:
                outcome = generated.contains(chapter.key) ? .generated : chapter.isUnchanged ? .unchanged : .reused
            case .keepHandEdit(let entryChanged):
                outcome = .handEdited
                let metadata: Logger.Metadata = [
                    "chapter": "\(chapter.position)", "file": "\(folder)/\(chapter.fileName)",
                ]
                if entryChanged {
                    logger.warning(
                        "keeping a hand-edited chapter file; its outline entry changed, run with --force to regenerate it",
                        metadata: metadata
                    )
                } else {
                    logger.notice("keeping a hand-edited chapter file", metadata: metadata)
                }
            case .failed(let message):
                outcome = .failed(message, keptPrevious: chapter.source != nil)
            case .generate:
                outcome = .failed("not generated", keptPrevious: chapter.source != nil)
            }
            outcomes.append(
                RunReport.Chapter(
                    position: chapter.position,
                    title: chapter.title,
                    file: chapter.source == nil ? nil : chapter.fileName,
                    outcome: outcome
                )
            )
        }
        for (original, backup) in result.backups.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "kept a file coursegen did not write as a backup",
                metadata: ["file": "\(folder)/\(original)", "backup": "\(folder)/\(backup)"]
            )
        }
        let report = RunReport(
            outline: job.name,
            folder: folder,
            chapters: outcomes,
            usage: spent,
            backups: result.backups
        )
        logger.log(
            level: report.isComplete ? .info : .error,
            report.isComplete ? "outline published" : "outline published with failed chapters",
            metadata: [
                "chapters": "\(plan.chapters.count)",
                "generated": "\(generated.count)",
                "failed": "\(report.failedChapters.count)",
                "tokens_in": "\(spent.promptTokens)",
                "tokens_out": "\(spent.outputTokens)",
            ]
        )
        return report
    }
}

/// What the engine read from disk for a plan: the manifest, the managed files in the folder and
/// the stored texts rendered for their chapters.
struct Gathered: Sendable {
    var previous: Manifest?
    /// Managed files in the folder now: name -> bytes.
    var live: [String: [UInt8]]
    /// Chapter keys whose text is available -> the file that text renders to.
    var rendered: [ChapterKey: [UInt8]]

    /// Reads the manifest and the folder's managed files; `rendered` is carried as given.
    static func read(folder: String, state: StateDirectory, rendered: [ChapterKey: [UInt8]]) throws(FileError)
        -> Gathered
    {
        let previous = try state.manifests.manifest(forFolder: folder)
        var live: [String: [UInt8]] = [:]
        for name in try state.files.entries(of: folder) where Publisher.isManaged(name) {
            guard state.files.kind(of: "\(folder)/\(name)") == .file else { continue }
            live[name] = try state.files.read("\(folder)/\(name)")
        }
        return Gathered(previous: previous, live: live, rendered: rendered)
    }

    func inputs(_ chapters: [Plan.Inputs.Chapter], force: Bool) -> Plan.Inputs {
        Plan.Inputs(
            chapters: chapters,
            previous: previous,
            live: live.mapValues { sha256Hex($0) },
            available: rendered.mapValues { sha256Hex($0) },
            force: force
        )
    }
}

extension Logger {
    /// A copy with `metadata` added.
    public func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
