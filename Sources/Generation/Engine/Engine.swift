import Foundation
public import Logging
import Metrics
import NIOConcurrencyHelpers
import Providers
import Outlines
import Platform

/// Brings outlines' published folders up to date, paying only for chapters whose key is not yet
/// in the store. One engine per process, shared by every outline: it owns the one table of
/// requests in flight and the folder locks, and sends every request through the one scheduler.
/// It decides nothing itself: `Plan` decides, `RunState` and `RunReport` compute what follows
/// from the answers; the engine gathers what they need and carries out what they say.
///
/// A run: gather (manifest, live files, stored texts) -> plan -> join the requests the plan
/// needs, each answer stored durably as it arrives -> gather again under the folder's lock, plan
/// with the answers, publish the folder atomically in outline order -> record the manifest.
/// Blocking file work runs on `BlockingIO`, never on the cooperative pool.
public final class Engine: Sendable {
    private let state: StateDirectory
    private let scheduler: Scheduler
    private let requests: RequestTable
    private let locks = FolderLocks()
    /// Answers the state folder could not take, kept until it can.
    private let unstored: UnstoredAnswers
    private let io: BlockingIO
    private let logger: Logger
    /// The staging folders this process published through, removed at shutdown when empty.
    private let stagingFolders = NIOLockedValueBox<Set<String>>([])
    /// What the state folder records of each course: up to date, retry times, status, the stop.
    public let records: CourseRecords

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
        records = CourseRecords(state: state, io: io, logger: logger)
        let unstored = UnstoredAnswers()
        self.unstored = unstored
        requests = RequestTable(
            perform: RequestTable.generating(
                through: scheduler,
                into: state.store,
                keeping: unstored,
                claiming: InFlightChapters(directory: state.inflight),
                io: io
            )
        )
    }

    /// Cancels every request in flight and returns once each has ended (shutdown).
    public func cancelAll() async {
        await requests.cancelAll()
    }

    /// Removes the staging folders (`.coursegen-staging/` beside the courses) this process
    /// published through and left empty (shutdown): nothing of coursegen's stays in the output
    /// tree but the courses. One still holding a replaced version stays until it expires.
    public func removeEmptyStagingFolders() async {
        let folders = stagingFolders.withLockedValue { $0 }
        _ = try? await io.run { for folder in folders { rmdir(folder) } }
    }

    /// Writes `status` where the author and the tools look: `STATUS.md` in the course's folder
    /// (created if the outline never published, so the author finds the page where the chapters
    /// would be), atomically, under the folder's lock, and the same value in the state folder for
    /// `coursegen status --json`.
    /// - Throws: `FileError` when either cannot be written.
    public func publishStatus(_ status: CourseStatus) async throws {
        let folder = status.folder
        let state = self.state
        try await locks.acquire(folder)
        do {
            try await io.run {
                try state.saveCourseStatus(status)
                let publisher = Publisher(folder: folder, files: state.files)
                try state.files.makeDirectory(publisher.stagingRoot)
                self.stagingFolders.withLockedValue { _ = $0.insert(publisher.stagingRoot) }
                try state.files.makeDirectory(folder)
                try state.files.replaceDurably(
                    StatusPage.render(status),
                    at: "\(folder)/\(StatusPage.fileName)",
                    temporaryFolder: publisher.stagingRoot
                )
            }
            await locks.release(folder)
        } catch {
            await locks.release(folder)
            throw error
        }
    }

    /// Brings `job`'s folder up to date, publishing each chapter the moment its text is stored.
    ///
    /// When the outline's numbering changed (an insertion, a deletion, a move), the new numbering
    /// goes out first, in one exchange, with every chapter whose text is already available (the
    /// others keep their previous version, or are drafts in `SUMMARY.md`). Then every arriving
    /// chapter is one atomic rename plus an atomic rewrite of `SUMMARY.md`. A run cancelled
    /// (superseded by a newer save) publishes nothing more; what it was already publishing is
    /// finished first.
    ///
    /// - Parameters:
    ///   - onPlanned: called once every request this run needs that is already in flight has
    ///     been joined (a superseded run may be cancelled from then on without dropping requests
    ///     this run also wants).
    ///   - onProgress: called whenever a chapter becomes ready, fails, starts retrying or
    ///     receives text.
    /// - Returns: what happened to every chapter. Failures of single chapters are in the report,
    ///   not thrown.
    /// - Throws: `OutlineError` for an outline that cannot be read, `FileError` when publishing
    ///   fails (nothing published is lost), `CancellationError` when cancelled.
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
        let logger = self.logger.with(["outline": "\(job.name)"])
        let chapterRequests = outline.chapters.indices.map {
            ChapterRequest(settings: job.settings, outline: outline, index: $0)
        }
        let chapters = zip(outline.chapters, chapterRequests).map { Plan.Inputs.Chapter(title: $0.title, key: $1.key) }

        // Gather, then plan: which chapters need a request.
        var run = RunState(job: job, outline: outline, chapters: chapters)
        try await gather(&run)
        run.begin(now: Date())
        if let takenOver = run.takenOver {
            logger.notice(
                "this outline takes over a folder another outline file published; its costs count from now",
                metadata: ["previous_outline": "\(takenOver.from)", "folder": "\(job.outputFolder)"]
            )
        }
        if let price = run.price {
            logger.debug("estimating costs", metadata: ["model": "\(job.settings.model)", "price": "\(price)"])
        } else {
            logger.notice(
                "no price for the model: costs are not estimated; add it to the prices setting",
                metadata: ["model": "\(job.settings.model)"]
            )
        }
        let spending = Spending(price: run.price, budget: run.budget)
        let plan = Plan.make(run.inputs)
        run.unchangedAtStart = Set(plan.chapters.filter(\.isUnchanged).map(\.key))
        let needed = plan.requests
        let tracker = ProgressTracker(
            Progress(outline: job.name, total: chapters.count, ready: chapters.count - needed.count),
            onProgress: onProgress
        )
        if !needed.isEmpty {
            logger.info("generating chapters", metadata: ["chapters": "\(needed.count)", "total": "\(chapters.count)"])
        }

        // Execute: join the requests, publish the answers as they arrive.
        let join = { (chapter: Plan.Chapter, onlyInFlight: Bool) async -> RequestTable.Ticket? in
            let request = chapterRequests[chapter.position - 1]
            let chapterLogger = logger.with([
                "chapter": "\(chapter.position)",
                "chapter_title": "\(chapter.title)",
                "cache_id": "\(chapter.key.short)",
            ])
            let onEvent: @Sendable (Scheduler.Event) -> Void = { tracker.record($0, for: chapter.key) }
            return onlyInFlight
                ? await self.requests.joinIfInFlight(request, logger: chapterLogger, onEvent: onEvent)
                : await self.requests.join(request, logger: chapterLogger, spending: spending, onEvent: onEvent)
        }
        // A large regeneration nobody waits for goes as Batch API jobs (`Job.batchOver`).
        let takesBatches = await scheduler.batchProvider != nil
        let batching = takesBatches && job.batchOver.map { needed.count >= $0 } == true
        // Requests already in flight (for an older version of this outline) are joined at once;
        // new ones only once the outline has settled.
        var tickets: [RequestTable.Ticket] = []
        var waiting: [Plan.Chapter] = []
        for chapter in needed where !batching {
            if let ticket = await join(chapter, job.settle > .zero) {
                tickets.append(ticket)
            } else {
                waiting.append(chapter)
            }
        }
        onPlanned()
        do {
            if !waiting.isEmpty || (batching && !needed.isEmpty) {
                try await Task.sleep(for: job.settle)
                for chapter in waiting {
                    if let ticket = await join(chapter, false) { tickets.append(ticket) }
                }
            }
            // A new numbering goes out at once, with what is available.
            if !plan.removals.isEmpty {
                try await publish(&run, logger: logger)
            }
            var feeds: [Feed] = tickets.map { ticket in
                { deliver in
                    do {
                        deliver(ticket.key, .success(try await self.requests.outcome(of: ticket)))
                    } catch {
                        deliver(ticket.key, .failure(error))
                    }
                }
            }
            if batching && !needed.isEmpty {
                let batch = BatchRun(
                    scheduler: scheduler, state: state, unstored: unstored, io: io, logger: logger, spending: spending
                )
                let requests = needed.map { chapterRequests[$0.position - 1] }
                feeds = [
                    { deliver in
                        await batch.run(requests, outline: job.name, folder: job.outputFolder) { key, event in
                            tracker.record(event, for: key)
                        } deliver: { key, outcome in
                            deliver(key, .success(outcome))
                        }
                    }
                ]
            }
            let expected = batching ? needed.count : tickets.count
            try await collect(feeds, expecting: expected, into: &run, tracker: tracker, logger: logger)
        } catch {
            await requests.release(tickets)
            throw error
        }
        if run.failed.values.contains(where: { $0.error.disposition == .dailyQuotaExhausted }) {
            await records.keepStop(await scheduler.stop)
        }
        // The last publish records the failures (and is all there is when nothing was needed).
        let last = try await publish(&run, logger: logger)
        let report = RunReport(plan: last, run: run)
        report.log(last, generated: run.generated.count, to: logger)
        return report
    }

    /// What a plan is made from, read from disk: the manifest, the folder's managed files and the
    /// stored text of every chapter (with the tokens it took).
    private func gather(_ run: inout RunState) async throws {
        let (state, unstored) = (self.state, self.unstored)
        let (folder, chapters, allowHTML) = (run.job.outputFolder, run.chapters, run.job.settings.allowHTML)
        let logger = self.logger
        run.folder = try await io.run {
            // Answers the state folder could not take before are stored first (space may be
            // back), and used from memory while it still cannot take them.
            if unstored.count > 0 {
                do {
                    try unstored.store(into: state.store)
                    logger.notice("stored the answers that the state folder could not take before")
                } catch {
                    logger.warning(
                        "the state folder still cannot take the answers kept in memory",
                        metadata: ["error": "\(error)", "kept_in_memory": "\(unstored.count)"]
                    )
                }
            }
            var gathered = try Gathered.read(folder: folder, state: state, reusing: Gathered())
            for chapter in chapters {
                guard let body = try state.store.body(for: chapter.key) ?? unstored.body(for: chapter.key) else {
                    continue
                }
                gathered.texts[chapter.key] = Gathered.Text(body, title: chapter.title, allowHTML: allowHTML)
            }
            return gathered
        }
    }

    /// Hands each of its chapters' outcomes to `deliver`, once each: a joined request's, or a
    /// batch job's.
    typealias Feed = @Sendable (_ deliver: @escaping Delivery) async -> Void
    typealias Delivery = @Sendable (ChapterKey, Result<RequestTable.Outcome, any Error>) -> Void

    /// Takes in the `count` outcomes `feeds` give as they arrive, in whatever order they come,
    /// and publishes each batch: answers that arrive while a publish is under way go out together
    /// in the next one. The scheduler paces the requests.
    private func collect(
        _ feeds: [Feed],
        expecting count: Int,
        into run: inout RunState,
        tracker: ProgressTracker,
        logger: Logger
    ) async throws {
        let arrivals = Arrivals<(ChapterKey, Result<RequestTable.Outcome, any Error>)>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for feed in feeds {
                group.addTask { await feed { arrivals.add(($0, $1)) } }
            }
            var signals = arrivals.makeSignals()
            var remaining = count
            // A publish that fails (a full or read-only output folder) does not stop the run:
            // the answers still to come are stored, so none is paid for twice, and publishing
            // is tried again as they arrive; the last publish says whether it failed for good.
            var publishFailed = false
            while remaining > 0 {
                let batch = try await arrivals.next(&signals)
                remaining -= batch.count
                var stored = false
                for (key, result) in batch {
                    let (end, counted) = run.take(try result.get(), for: key)
                    tracker.finished(key, end)
                    if let counted {
                        Counter(label: MetricName.chapters, dimensions: [("outcome", counted)]).increment()
                    }
                    stored = stored || end == .ready
                }
                guard stored else { continue }
                do {
                    try await publish(&run, logger: logger)
                    publishFailed = false
                } catch let error as FileError {
                    if !publishFailed {
                        logger.error(
                            "cannot publish; the chapters still to come are generated and stored, and publishing is tried again as they arrive",
                            metadata: ["error": "\(error)"]
                        )
                    }
                    publishFailed = true
                }
            }
        }
    }

    /// Plans with what is known now and publishes it, under the folder's locks (this process's
    /// and other processes'), reading the folder again there: another process may have published
    /// since, and the author may have edited a file meanwhile.
    /// - Returns: the plan published.
    /// - Throws: `CancellationError` when the run was cancelled (superseded) before the locks
    ///   were taken: it publishes nothing more.
    @discardableResult
    private func publish(_ run: inout RunState, logger: Logger) async throws -> Plan {
        let folder = run.job.outputFolder
        try await locks.acquire(folder)
        do {
            try Task.checkCancellation()
            let processLock = try await ProcessLock.acquire(
                path: "\(state.locks)/\(sha256Hex(folder.utf8).prefix(32)).lock",
                io: io,
                logger: logger
            )
            defer { processLock.release() }
            let (state, snapshot) = (self.state, run)
            let stagingRoot = Publisher(folder: folder, files: state.files).stagingRoot
            stagingFolders.withLockedValue { _ = $0.insert(stagingRoot) }
            let (plan, result, gathered) = try await io.run {
                TestHooks.beforePublish()
                var run = snapshot
                run.folder = try Gathered.read(folder: folder, state: state, reusing: snapshot.folder)
                let plan = Plan.make(run.inputs)
                // Two phases: until the files are in place, the manifest also knows the previous
                // version's hashes, so a crash never makes coursegen's own files look hand-edited.
                var manifest = run.manifest(for: plan, now: Date())
                try state.manifests.save(manifest)
                let result = try Publisher(folder: folder, files: state.files).publish(run.version(of: plan))
                manifest.transitionalHashes = []
                try state.manifests.save(manifest)
                return (plan, result, run.folder)
            }
            run.folder = gathered
            run.backups.merge(result.backups) { first, _ in first }
            logger.debug(
                "folder published",
                metadata: [
                    "chapters": "\(plan.chapters.count)",
                    "changed": "\(plan.chapters.count { !$0.isUnchanged })",
                ]
            )
            for chapter in plan.chapters where !chapter.isUnchanged {
                guard case .body(let key) = chapter.source, let found = gathered.texts[key]?.neutralised, !found.isEmpty
                else { continue }
                logger.warning(
                    "neutralised what the model wrote that could run script or make mdbook read a file; --allow-html keeps HTML, never mdBook directives",
                    metadata: [
                        "chapter": "\(chapter.position)", "chapter_title": "\(chapter.title)",
                        "neutralised": "\(found)",
                    ]
                )
            }
            await locks.release(folder)
            return plan
        } catch {
            await locks.release(folder)
            throw error
        }
    }
}
