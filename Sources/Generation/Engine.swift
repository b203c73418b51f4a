import Foundation
public import Logging
import Synchronization

/// Brings outlines' published folders up to date, paying only for chapters whose key is not yet
/// in the store. One engine per process, shared by every outline (it owns the one scheduler).
///
/// A run: plan (keys, store, hand edits) -> generate what is missing, concurrently, each answer
/// stored durably as it arrives -> publish the whole folder atomically, in outline order, under a
/// lock -> record the manifest.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        /// Where bodies, manifests and locks live.
        public var stateDirectory: String
        public var settings: GenerationSettings

        public init(stateDirectory: String, settings: GenerationSettings = GenerationSettings()) {
            self.stateDirectory = stateDirectory
            self.settings = settings
        }
    }

    /// One outline to bring up to date.
    public struct Job: Sendable {
        /// The outline file.
        public var outlinePath: String
        /// The outline as parsed; parsed from `outlinePath` when nil.
        public var outline: Outline?
        /// The outline's name in logs and status (`team-a/practical-rust`).
        public var name: String
        /// The folder its chapters are published in (absolute).
        public var outputFolder: String
        /// Regenerate and replace hand-edited chapters (the edited file is kept as `NAME.orig`).
        public var force: Bool

        public init(
            outlinePath: String,
            outline: Outline? = nil,
            name: String,
            outputFolder: String,
            force: Bool = false
        ) {
            self.outlinePath = outlinePath
            self.outline = outline
            self.name = name
            self.outputFolder = outputFolder
            self.force = force
        }
    }

    /// Progress of one run, for `systemctl status` and the terminal.
    public struct Progress: Sendable, Hashable {
        public var outline: String
        public var total: Int
        /// Chapters whose text is available (stored or generated in this run).
        public var ready: Int
        public var failed: Int
        /// Chapters waiting to retry after a failed attempt.
        public var retrying: Int
    }

    private let configuration: Configuration
    private let store: BodyStore
    private let manifests: ManifestStore
    private let generations: Generations
    private let locks = FolderLocks()
    private let logger: Logger

    public init(configuration: Configuration, scheduler: Scheduler, logger: Logger) {
        self.configuration = configuration
        let state = StateDirectory(path: configuration.stateDirectory)
        self.store = state.store
        self.manifests = state.manifests
        self.generations = Generations(scheduler: scheduler, store: store)
        self.logger = logger
    }

    public var settings: GenerationSettings { configuration.settings }

    /// Cancels every request in flight (shutdown).
    public func cancelAll() async {
        await generations.cancelAll()
    }

    /// True when `outline` is exactly what was last brought up to date in `folder`, with nothing
    /// failed: a save that changed no parsed field needs no work at all.
    public func isUpToDate(_ outline: Outline, in folder: String) -> Bool {
        guard let manifest = try? manifests.manifest(forFolder: folder), manifest.outlineDigest == outline.digest else {
            return false
        }
        let keys = outline.chapters.map { ChapterKey(settings: settings, outline: outline, chapter: $0).hex }
        return manifest.chapters.map(\.key) == keys
            && manifest.chapters.allSatisfy { entry in
                entry.state != .failed && entry.file.map { FileSystem.kind(of: "\(folder)/\($0)") == .file } == true
            }
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
        let outline = try job.outline ?? OutlineParser.parse(fileAt: job.outlinePath)
        let folder = job.outputFolder
        let logger = self.logger.with(["outline": "\(job.name)"])
        let requests = outline.chapters.map { ChapterRequest(settings: settings, outline: outline, chapter: $0) }

        // Plan: which chapters need a request. A hand-edited chapter needs none without --force.
        let previous = try manifests.manifest(forFolder: folder)
        let edited = job.force ? [] : handEditedTitles(previous, folder: folder)
        var needed: [Int] = []
        for (index, request) in requests.enumerated()
        where !store.contains(request.key) && !edited.contains(Self.identity(outline.chapters[index].title)) {
            needed.append(index)
        }
        let tracker = ProgressTracker(
            Progress(
                outline: job.name,
                total: requests.count,
                ready: requests.count - needed.count,
                failed: 0,
                retrying: 0
            ),
            onProgress: onProgress
        )
        if !needed.isEmpty {
            logger.info("generating chapters", metadata: ["chapters": "\(needed.count)", "total": "\(requests.count)"])
        }

        var tickets: [(index: Int, ticket: Generations.Ticket)] = []
        for index in needed {
            let chapterLogger = logger.with([
                "chapter": "\(index + 1)",
                "chapter_title": "\(outline.chapters[index].title)",
                "cache_id": "\(requests[index].key.short)",
            ])
            let ticket = await generations.join(requests[index], logger: chapterLogger) { event in
                tracker.record(event)
            }
            tickets.append((index, ticket))
        }
        onPlanned()

        // Generate: every missing chapter at once; the scheduler paces them.
        var failures: [Int: GenerationFailure] = [:]
        var generated: Set<Int> = []
        var spent = Usage()
        var requestsMade = 0
        do {
            try await withThrowingTaskGroup(of: (Int, Generations.Outcome).self) { group in
                for (index, ticket) in tickets {
                    group.addTask { (index, try await self.generations.outcome(of: ticket)) }
                }
                for try await (index, outcome) in group {
                    switch outcome {
                    case .success(let generation):
                        generated.insert(index)
                        spent += generation.body.usage
                        requestsMade += generation.attempts
                        tracker.finished(failed: false)
                    case .failure(let failure):
                        failures[index] = failure
                        spent += failure.usage
                        requestsMade += failure.attempts
                        tracker.finished(failed: true)
                    }
                }
            }
        } catch {
            await generations.release(tickets.map(\.ticket))
            throw error
        }
        try Task.checkCancellation()

        // Publish, in outline order, whatever order the answers came in.
        await locks.acquire(folder)
        do {
            let processLock = try await ProcessLock.acquire(
                path: "\(configuration.stateDirectory)/locks/\(sha256Hex(folder.utf8).prefix(32)).lock",
                logger: logger
            )
            defer { processLock.release() }
            let report = try publish(
                job: job,
                outline: outline,
                requests: requests,
                failures: failures,
                generated: generated,
                usage: spent,
                requestsMade: requestsMade,
                logger: logger
            )
            await locks.release(folder)
            return report
        } catch {
            await locks.release(folder)
            throw error
        }
    }

    /// Titles (by identity) of chapters whose published file someone edited.
    private func handEditedTitles(_ manifest: Manifest?, folder: String) -> Set<String> {
        guard let manifest else { return [] }
        return Set(
            manifest.chapters
                .filter { manifest.publishedCopy(of: $0, in: folder)?.edited == true }
                .map { Self.identity($0.title) }
        )
    }

    /// How a chapter is recognised across edits of the outline: its title, case and surrounding
    /// whitespace aside (the parsers refuse two chapters with the same identity).
    static func identity(_ title: String) -> String {
        title.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    private func publish(
        job: Job,
        outline: Outline,
        requests: [ChapterRequest],
        failures: [Int: GenerationFailure],
        generated: Set<Int>,
        usage: Usage,
        requestsMade: Int,
        logger: Logger
    ) throws -> RunReport {
        let folder = job.outputFolder
        let publisher = Publisher(folder: folder)
        // Read again under the lock: another process may have published since planning.
        let previous = try manifests.manifest(forFolder: folder)
        let previousByIdentity = Dictionary(
            (previous?.chapters ?? []).map { (Self.identity($0.title), $0) },
            uniquingKeysWith: { first, _ in first }
        )

        var files: [(name: String, bytes: [UInt8])] = []
        var entries: [Manifest.Chapter] = []
        var outcomes: [RunReport.Chapter] = []
        let count = outline.chapters.count

        for (index, chapter) in outline.chapters.enumerated() {
            let key = requests[index].key
            let name = ChapterFile.name(position: index + 1, count: count, title: chapter.title)
            let earlier = previousByIdentity[Self.identity(chapter.title)]
            let earlierCopy = earlier.flatMap { previous?.publishedCopy(of: $0, in: folder) }
            let earlierBytes = earlierCopy?.bytes
            let earlierEdited = earlierCopy?.edited ?? false
            var entry = Manifest.Chapter(
                title: chapter.title,
                key: key.hex,
                file: nil,
                sha256: nil,
                publishedKey: nil,
                state: .upToDate,
                error: nil
            )
            let outcome: RunReport.Chapter.Outcome

            if earlierEdited, !job.force, let earlierBytes, let earlier {
                files.append((name, earlierBytes))
                entry.file = name
                entry.sha256 = earlier.sha256
                entry.publishedKey = earlier.publishedKey
                entry.state = .handEdited
                outcome = .handEdited
                if earlier.publishedKey != key.hex {
                    logger.warning(
                        "keeping a hand-edited chapter file; its outline entry changed, run with --force to regenerate it",
                        metadata: ["chapter": "\(index + 1)", "file": "\(folder)/\(name)"]
                    )
                } else {
                    logger.notice(
                        "keeping a hand-edited chapter file",
                        metadata: ["chapter": "\(index + 1)", "file": "\(folder)/\(name)"]
                    )
                }
            } else if let body = try store.body(for: key) {
                let bytes = ChapterFile.render(title: chapter.title, body: body.text)
                files.append((name, bytes))
                entry.file = name
                entry.sha256 = sha256Hex(bytes)
                entry.publishedKey = key.hex
                if generated.contains(index) {
                    outcome = .generated
                } else if earlier?.file == name, let earlierBytes, earlierBytes == bytes {
                    outcome = .unchanged
                } else {
                    outcome = .reused
                }
            } else {
                let message = failures[index].map { "\($0)" } ?? "skipped"
                entry.state = .failed
                entry.error = message
                if let earlierBytes, let earlier {
                    // The previous version stays published (renumbered if needed) until a retry works.
                    files.append((name, earlierBytes))
                    entry.file = name
                    entry.sha256 = earlierEdited ? earlier.sha256 : sha256Hex(earlierBytes)
                    entry.publishedKey = earlier.publishedKey
                    if earlierEdited { entry.state = .handEdited }
                    outcome = .failed(message, keptPrevious: true)
                } else {
                    outcome = .failed(message, keptPrevious: false)
                }
            }
            entries.append(entry)
            outcomes.append(
                RunReport.Chapter(position: index + 1, title: chapter.title, file: entry.file, outcome: outcome)
            )
        }

        let summary = ChapterFile.summary(
            zip(outline.chapters, entries).compactMap { chapter, entry in
                entry.file.map { (chapter.title, $0) }
            }
        )
        // A managed file in the folder that coursegen did not write and whose content is not
        // carried into the new version (an edit being replaced with --force, a stray `NN-x.md`)
        // is kept as NAME.orig.
        let keptHashes = Set(files.map { sha256Hex($0.bytes) } + [sha256Hex(summary)])
        var backups: [String] = []
        for name in try publisher.liveManagedNames().sorted() {
            guard let bytes = try FileSystem.read("\(folder)/\(name)") else { continue }
            let hash = sha256Hex(bytes)
            if !(previous?.wrote(hash) ?? false) && !keptHashes.contains(hash) { backups.append(name) }
        }

        var manifest = Manifest(
            outline: job.name,
            source: job.outlinePath,
            folder: folder,
            title: outline.title,
            outlineDigest: outline.digest,
            chapters: entries,
            summarySha256: sha256Hex(summary),
            usage: (previous?.usage ?? Usage()) + usage,
            requests: (previous?.requests ?? 0) + requestsMade,
            lastRun: Date(),
            lastGenerated: generated.isEmpty ? previous?.lastGenerated : Date()
        )
        // Two phases: until the files are in place, the previous version's hashes stay known.
        manifest.transitionalHashes = previous.map { Array($0.allHashes) } ?? []
        try manifests.save(manifest)
        let result = try publisher.publish(
            Publisher.Plan(
                chapters: files,
                summary: summary,
                bookConfiguration: ChapterFile.bookConfiguration(title: outline.title),
                backups: backups
            )
        )
        manifest.transitionalHashes = []
        try manifests.save(manifest)

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
            usage: usage,
            backups: result.backups
        )
        logger.log(
            level: report.isComplete ? .info : .error,
            report.isComplete ? "outline published" : "outline published with failed chapters",
            metadata: [
                "chapters": "\(count)",
                "generated": "\(generated.count)",
                "failed": "\(failures.count)",
                "tokens_in": "\(usage.promptTokens)",
                "tokens_out": "\(usage.outputTokens)",
            ]
        )
        return report
    }
}

/// What one run did.
public struct RunReport: Sendable {
    public struct Chapter: Sendable, Hashable {
        public enum Outcome: Sendable, Hashable {
            /// Written by a request made in this run.
            case generated
            /// Taken from the store (no request), published anew (new file, new position, new title).
            case reused
            /// Already published exactly so; nothing written.
            case unchanged
            /// Someone edited the file; it was kept.
            case handEdited
            /// Could not be generated; the previous version stayed published if there was one.
            case failed(String, keptPrevious: Bool)
        }
        public var position: Int
        public var title: String
        /// The published file name, nil when nothing is published for this chapter.
        public var file: String?
        public var outcome: Outcome
    }

    public var outline: String
    public var folder: String
    public var chapters: [Chapter]
    /// Tokens spent in this run.
    public var usage: Usage
    /// Backups made of files coursegen did not write: original name -> backup name.
    public var backups: [String: String]

    /// True when every chapter is published with its current text (or kept as hand-edited).
    public var isComplete: Bool {
        chapters.allSatisfy { if case .failed = $0.outcome { false } else { true } }
    }

    public var failedChapters: [Chapter] {
        chapters.filter { if case .failed = $0.outcome { true } else { false } }
    }
}

/// Counts for `Engine.Progress`, updated from many tasks.
final class ProgressTracker: Sendable {
    private let state: Mutex<Engine.Progress>
    private let onProgress: @Sendable (Engine.Progress) -> Void

    init(_ initial: Engine.Progress, onProgress: @escaping @Sendable (Engine.Progress) -> Void) {
        state = Mutex(initial)
        self.onProgress = onProgress
        onProgress(initial)
    }

    func record(_ event: Scheduler.Event) {
        let snapshot = state.withLock { progress in
            switch event {
            case .retrying: progress.retrying += 1
            case .submitted(let attempt) where attempt > 1: progress.retrying = max(progress.retrying - 1, 0)
            case .submitted: break
            }
            return progress
        }
        onProgress(snapshot)
    }

    func finished(failed: Bool) {
        let snapshot = state.withLock { progress in
            if failed { progress.failed += 1 } else { progress.ready += 1 }
            return progress
        }
        onProgress(snapshot)
    }
}

extension Logger {
    /// A copy with `metadata` added.
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
