import Foundation
import Generation
import Logging
import Metrics
import Watcher

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's event loop: which outline is generating, superseding older runs, which folder
/// each outline owns, when failed chapters are tried again, and the one-line status systemd
/// shows. Every task it starts (runs, the retry timer) is kept until it has ended, superseded
/// and cancelled runs included, so `drain` can wait for all of them.
actor RunCoordinator {
    private struct ActiveRun {
        let id: UInt64
        /// The outline's name in the status.
        let name: String
        /// What the run asks for: the outline's digest, its context and its templates.
        let digest: String
        let task: Task<Void, Never>
        var progress: Engine.Progress?
    }

    /// Why an outline is not up to date.
    private enum Problem: Equatable {
        /// It cannot be read or parsed (or its name gives no folder): where and why.
        case unreadable(CourseStatus.OutlineProblem)
        /// Its last run left chapters failed; `needsAuthor` when some failed for a reason only
        /// the author can fix (a blocked prompt), not one that may pass with time.
        case failedChapters(needsAuthor: Bool)
        /// Another outline, `owner`, owns its folder.
        case folderOwned(owner: String, folder: String)
        /// Its last run skipped chapters because its budget would not cover them (and failed
        /// none): a save, a higher budget or other prices try them again, not the retry timer.
        case overBudget
    }

    /// Why an outline is looked at.
    enum Reason: Sendable {
        /// The start-up catch-up (or a rescan before it completed): nothing waits, and a retry
        /// time kept from before a restart is honoured.
        case catchUp
        /// A save: requests wait for the outline to settle, and the retry schedule starts afresh.
        case save
        /// Its failed chapters' retry time came.
        case retry
        /// A reload: new settings, or a key that may have been fixed.
        case reload
    }

    private let engine: Engine
    private let scheduler: Scheduler
    private let io: BlockingIO
    private var settings: GenerationSettings
    private var cost: CostPolicy
    private var settle: Duration
    private let inbox: String
    private let output: String
    private let claims: FolderClaims
    private let logger: Logger
    private let onStatus: @Sendable (String) -> Void
    private var runs: [String: ActiveRun] = [:]
    /// Runs superseded by a newer save or whose outline was removed: cancelled, still ending.
    private var ending: [UInt64: Task<Void, Never>] = [:]
    /// Outlines seen in the inbox, by path, for status and for a reload's catch-up.
    private var known: [String: InboxFile] = [:]
    private var problems: [String: Problem] = [:]
    /// The next try of each outline whose chapters failed for a reason that may pass.
    private var retries: [String: RetryTime] = [:]
    /// The timer that brings the earliest retry; replaced whenever the schedule changes.
    private var retryTimer: (id: UInt64, task: Task<Void, Never>)?
    /// Why submissions are stopped, as the scheduler last said.
    private var stop: SubmissionStop?
    /// The in-flight limit (lowered while the API is overloaded) and `--concurrency`.
    private var inFlightLimit: (current: Int, maximum: Int)?
    /// The API found unavailable by the scheduler's circuit breaker, as it last said.
    private var outage: APIOutage?
    private var nextID: UInt64 = 0
    private var scanned = false
    private var draining = false
    /// `drain` waiting for every run to end.
    private var idleWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    /// What each course's status page says now, and when it was written.
    private var pages: [String: (status: CourseStatus, written: Date)] = [:]
    /// Outlines just removed, while their page says so.
    private var removed: [String: InboxFile] = [:]
    /// Told when a course finishes or fails (desktop notifications), if set.
    private let notify: (@Sendable (CourseStatus) -> Void)?

    init(
        engine: Engine,
        scheduler: Scheduler,
        settings: GenerationSettings,
        cost: CostPolicy = CostPolicy(),
        settle: Duration = .zero,
        inbox: String,
        output: String,
        state: String,
        io: BlockingIO = .shared,
        logger: Logger,
        notify: (@Sendable (CourseStatus) -> Void)? = nil,
        onStatus: @escaping @Sendable (String) -> Void
    ) {
        self.notify = notify
        self.engine = engine
        self.scheduler = scheduler
        self.settings = settings
        self.cost = cost
        self.settle = settle
        self.inbox = inbox
        self.output = output
        self.claims = FolderClaims(stateDirectory: state)
        self.io = io
        self.logger = logger
        self.onStatus = onStatus
    }

    /// Answers at once when the loop is responsive (the watchdog's health check).
    func isResponsive() -> Bool { true }

    /// An outline was saved (or found by a scan); or a prompt template.
    func outlineChanged(_ file: InboxFile) async {
        guard !Self.isTemplate(file) else {
            await templateChanged(file)
            return
        }
        await consider(file, reason: scanned ? .save : .catchUp)
    }

    /// Whether `file` is a prompt template (`prompt: style.mustache`), watched beside outlines.
    static func isTemplate(_ file: InboxFile) -> Bool {
        file.relativePath.lowercased().hasSuffix(".mustache")
    }

    /// A template was saved, added or removed: every outline in its folder or above it is looked
    /// at again, as after a save. Those that do not use it find their chapters up to date, which
    /// costs no request; those that do regenerate exactly the chapters it writes.
    private func templateChanged(_ file: InboxFile) async {
        guard scanned, !draining else { return }
        let folder = (file.path as NSString).deletingLastPathComponent
        let outlines = known.values.filter { outline in
            let outlineFolder = (outline.path as NSString).deletingLastPathComponent
            return folder == outlineFolder || folder.hasPrefix(outlineFolder + "/")
        }
        for outline in outlines.sorted(by: { $0.path < $1.path }) where known[outline.path] != nil {
            await consider(outline, reason: .save)
        }
    }

    private func consider(_ file: InboxFile, reason: Reason) async {
        guard !draining else { return }
        known[file.path] = file
        if case .save = reason { retries.removeValue(forKey: file.path) }
        let name = Self.name(of: file)
        let logger = self.logger.with(["outline": "\(name)", "file": "\(file.path)"])
        let fileName = (file.relativePath as NSString).lastPathComponent
        guard let folderName = Outline.folderName(forFile: fileName) else {
            let message = "cannot derive an output folder name from this file name; rename the file"
            logger.error("\(file.path): \(message)")
            problems[file.path] = .unreadable(.init(file: file.relativePath, line: nil, message: message, text: nil))
            updateStatus()
            return
        }
        guard isInsideInbox(file.path) else {
            logger.warning("ignoring an outline that now resolves outside the inbox")
            return
        }
        let folder = self.folder(of: file, named: folderName)
        let claims = self.claims
        let base = settings
        let inbox = self.inbox
        let parsed: Result<(Outline, GenerationSettings, FolderClaims.Decision), any Error>
        do {
            let path = file.path
            let displayName = file.relativePath
            parsed = .success(
                try await io.run {
                    let outline = try OutlineParser.parse(fileAt: path)
                    let settings = try CoursePrompts.settings(
                        for: outline,
                        at: path,
                        displayName: displayName,
                        within: inbox,
                        base: base
                    )
                    let directory = (path as NSString).deletingLastPathComponent
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                    let rivals = Outline.rivals(of: fileName, among: names).map { "\(directory)/\($0)" }
                    return (outline, settings, try claims.claim(folder, for: path, rivals: rivals))
                }
            )
        } catch {
            parsed = .failure(error)
        }
        // Saves are handled one at a time, but a reload, a retry or a removal may have run meanwhile.
        guard !draining, known[file.path] != nil else { return }
        let outline: Outline
        let settings: GenerationSettings
        switch parsed {
        case .failure(let error):
            logger.error("\(error)", metadata: ["path": "\(file.path)"])
            problems[file.path] = .unreadable(await problem(error, in: file))
            updateStatus()
            if await publishPage(of: file.path), let notify, let page = pages[file.path]?.status { notify(page) }
            return
        case .success((_, _, .refused(let owner))):
            logger.error(
                "\(file.path): not published: \(owner) already publishes into \(folder); rename one of the two files (the folder is named after the file name without its extension)"
            )
            problems[file.path] = .folderOwned(owner: owner, folder: folder)
            if let run = runs.removeValue(forKey: file.path) { retire(run) }
            updateStatus()
            await publishPage(of: owner)
            return
        case .success((let value, let courseSettings, .granted)):
            outline = value
            settings = courseSettings
        }
        // What the run would ask: the outline, and the templates and context it is written with
        // (a template saved while a run is in progress is a new run, like a save of the outline).
        let digest = [
            outline.digest, settings.context.rawValue, settings.templates.system.text, settings.templates.chapter.text,
        ].joined(separator: "\u{0}")

        if let current = runs[file.path], current.digest == digest {
            logger.debug("outline saved again unchanged while generating; the run in progress covers it")
            return
        }
        if runs[file.path] == nil, await engine.isUpToDate(outline, settings: settings, in: folder) {
            guard runs[file.path] == nil else { return }
            logger.debug("outline unchanged; nothing to do")
            problems.removeValue(forKey: file.path)
            await setRetry(nil, for: file.path, folder: folder)
            updateStatus()
            await publishPage(of: file.path)
            return
        }
        if case .catchUp = reason, runs[file.path] == nil,
            let retry = await engine.retry(for: outline, settings: settings, in: folder), retry.at > Date()
        {
            // A restart in the middle of the retry schedule continues it.
            guard runs[file.path] == nil else { return }
            logger.info(
                "failed chapters are tried again at their time",
                metadata: ["retry_at": "\(Self.time(retry.at))", "failed_tries": "\(retry.failedTries)"]
            )
            problems[file.path] = .failedChapters(needsAuthor: false)
            retries[file.path] = retry
            scheduleRetryTimer()
            updateStatus()
            await publishPage(of: file.path)
            return
        }
        let waits: Bool = if case .save = reason { true } else { false }
        start(
            Engine.Job(
                outlinePath: file.path,
                outline: outline,
                name: name,
                outputFolder: folder,
                settings: settings,
                settle: waits ? settle : .zero,
                cost: cost,
                // Only a save spends a fresh budget on chapters an earlier run skipped for it.
                retriesBudgetSkips: waits
            ),
            file: file,
            digest: digest,
            logger: logger
        )
    }

    private func start(_ job: Engine.Job, file: InboxFile, digest: String, logger: Logger) {
        nextID += 1
        let id = nextID
        let superseded = runs[file.path]
        let engine = self.engine
        let scheduler = self.scheduler
        let planned = AsyncStream<Void>.makeStream()
        let progress = AsyncStream<Engine.Progress>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await update in progress.stream { await self.record(update, for: file.path, run: id) }
                }
                if let superseded {
                    // Cancel the older run only once this one has joined the requests it wants,
                    // so that those keep going.
                    group.addTask {
                        for await _ in planned.stream {}
                        superseded.task.cancel()
                    }
                }
                let end: RunEnd
                do {
                    end = .completed(
                        try await engine.run(
                            job,
                            onPlanned: { planned.continuation.finish() },
                            onProgress: { progress.continuation.yield($0) }
                        )
                    )
                } catch is CancellationError {
                    end = .cancelled
                } catch {
                    logger.error("\(error)")
                    end = .failed
                }
                planned.continuation.finish()
                progress.continuation.finish()
                await group.waitForAll()
                let stop = await scheduler.stop
                await self.finished(file.path, folder: job.outputFolder, run: id, end: end, stop: stop)
            }
        }
        if let superseded {
            // Cancelled once the new run has planned; kept until it has ended.
            ending[superseded.id] = superseded.task
            logger.info("a newer save supersedes the run in progress")
        }
        runs[file.path] = ActiveRun(id: id, name: job.name, digest: digest, task: task)
        problems.removeValue(forKey: file.path)
        updateStatus()
    }

    /// Cancels `run` and keeps it until it has ended.
    private func retire(_ run: ActiveRun) {
        run.task.cancel()
        ending[run.id] = run.task
    }

    private func record(_ progress: Engine.Progress, for path: String, run id: UInt64) async {
        let limit = await scheduler.inFlightLimit
        inFlightLimit = limit
        outage = await scheduler.outage
        guard runs[path]?.id == id else { return }
        let before = runs[path]?.progress
        runs[path]?.progress = progress
        updateStatus()
        // The page follows every chapter that is done, fails or waits to retry; the word count
        // alone refreshes it at most every two seconds.
        let counts = { (p: Engine.Progress?) in [p?.ready, p?.failed, p?.retrying, p?.writing, p?.requested] }
        if counts(before) != counts(progress) || (pages[path]?.written ?? .distantPast).timeIntervalSinceNow < -2 {
            await publishPage(of: path)
        }
    }

    /// How a run ended.
    private enum RunEnd: Sendable {
        case completed(RunReport)
        /// Superseded, removed or stopped: it says nothing about the outline.
        case cancelled
        /// It could not publish at all (the folder could not be written): tried again later.
        case failed
    }

    private func finished(_ path: String, folder: String, run id: UInt64, end: RunEnd, stop: SubmissionStop?) async {
        ending.removeValue(forKey: id)
        self.stop = stop
        // The run stays in `runs` until its outcome is recorded (a retry time written to the
        // state folder included): `drain` waits for it until then.
        var again = false
        if runs[path]?.id == id {
            switch end {
            case .cancelled:
                break
            case .completed(let report) where report.isComplete:
                problems.removeValue(forKey: path)
                await setRetry(nil, for: path, folder: folder)
            case .completed(let report) where report.failedChapters.isEmpty:
                // Only chapters skipped for the budget: no retry would fit them in it either.
                problems[path] = .overBudget
                await setRetry(nil, for: path, folder: folder)
            case .completed(let report):
                let needsAuthor = report.chapters.contains(where: \.needsAuthor)
                problems[path] = .failedChapters(needsAuthor: needsAuthor)
                for chapter in report.chapters where chapter.needsAuthor {
                    logger.error(
                        "a chapter only its author can fix: change its title, points or notes, then save",
                        metadata: [
                            "outline": "\(report.outline)", "chapter": "\(chapter.position)",
                            "chapter_title": "\(chapter.title)",
                            "error": "\(chapter.failure.map { "\($0)" } ?? "")",
                        ]
                    )
                }
                // Stopped by a refused key that a reload has lifted since: try again at once.
                again = stop == nil && report.chapters.contains { $0.failure?.disposition == .stopEverything }
                let mayPass = report.chapters.contains(where: \.mayPassWithTime)
                if !again { await scheduleRetry(path, folder: folder, mayPass: mayPass, stop: stop) }
            case .failed:
                problems[path] = .failedChapters(needsAuthor: false)
                await scheduleRetry(path, folder: folder, mayPass: true, stop: stop)
            }
            if runs[path]?.id == id { runs.removeValue(forKey: path) }
        }
        // A save meanwhile may have marked this run as superseded; it has ended all the same.
        ending.removeValue(forKey: id)
        updateStatus()
        if case .cancelled = end {} else {
            if await publishPage(of: path), let notify, let page = pages[path]?.status { notify(page) }
        }
        if again, let file = known[path] {
            await consider(file, reason: .reload)
        }
        if isIdle {
            for waiter in idleWaiters.values { waiter.resume() }
            idleWaiters = [:]
        }
    }

    // MARK: - Trying failed chapters again

    /// After a run that left chapters failed for a reason that may pass (and no stop that only
    /// the configuration can lift), schedules the next try: after the retry schedule's wait, and
    /// not before the daily quota's reset.
    private func scheduleRetry(_ path: String, folder: String, mayPass: Bool, stop: SubmissionStop?) async {
        guard mayPass, stop?.reason != .refused else {
            // Only the author can fix what failed, or only a fixed key and a reload help (the
            // reload tries again).
            await setRetry(nil, for: path, folder: folder)
            return
        }
        let failedTries = (retries[path]?.failedTries ?? 0) + 1
        var at = Date().addingTimeInterval(
            RetrySchedule.delay(afterFailedTries: failedTries, unit: Double.random(in: 0..<1)).seconds
        )
        if let until = stop?.until, stop?.reason == .dailyQuota { at = max(at, until) }
        logger.notice(
            "failed chapters will be tried again",
            metadata: ["file": "\(path)", "retry_at": "\(Self.time(at))", "failed_tries": "\(failedTries)"]
        )
        await setRetry(RetryTime(at: at, failedTries: failedTries), for: path, folder: folder)
    }

    /// Records (or clears) `path`'s next try, keeps it in the manifest (a restart continues the
    /// schedule) and resets the timer.
    private func setRetry(_ retry: RetryTime?, for path: String, folder: String) async {
        guard retries[path] != retry else { return }
        retries[path] = retry
        scheduleRetryTimer()
        await engine.recordRetry(retry, in: folder)
    }

    /// One timer for the earliest retry (none when nothing is scheduled: an idle daemon with
    /// nothing failed has no timer at all).
    private func scheduleRetryTimer() {
        retryTimer?.task.cancel()
        retryTimer = nil
        guard !draining, let earliest = retries.values.map(\.at).min() else { return }
        nextID += 1
        let id = nextID
        let wait = max(earliest.timeIntervalSinceNow, 0)
        let task = Task {
            guard (try? await Task.sleep(for: .seconds(wait))) != nil else { return }
            await self.retryDue(timer: id)
        }
        retryTimer = (id, task)
    }

    private func retryDue(timer id: UInt64) async {
        guard retryTimer?.id == id else { return }
        retryTimer = nil
        let now = Date()
        let due = retries.filter { $0.value.at <= now.addingTimeInterval(0.5) }.keys.sorted()
        for path in due {
            guard let file = known[path] else {
                retries.removeValue(forKey: path)
                continue
            }
            logger.info("trying failed chapters again", metadata: ["file": "\(path)"])
            await consider(file, reason: .retry)
        }
        if retryTimer == nil { scheduleRetryTimer() }
    }

    // MARK: - Status pages

    /// The course `path` stands for, as its status page and `coursegen status --json` show it:
    /// what its manifest says, with what the daemon knows on top (a run in progress, a parse
    /// error, a retry time, outlines refused for its folder, a stop, a removal).
    private func course(_ path: String) async -> CourseStatus? {
        guard let file = known[path] ?? removed[path] else { return nil }
        let fileName = (file.relativePath as NSString).lastPathComponent
        guard let folderName = Outline.folderName(forFile: fileName) else { return nil }
        if case .folderOwned? = problems[path] { return nil }  // Reported on the owner's page.
        let folder = self.folder(of: file, named: folderName)
        var status =
            await engine.courseStatus(in: folder)
            ?? CourseStatus(outline: Self.name(of: file), source: file.path, folder: folder, phase: .upToDate)
        status.outline = Self.name(of: file)
        status.source = file.path
        status.updated = Date()
        status.nextTry = retries[path]?.at
        if let run = runs[path] {
            status.phase = .generating
            if let progress = run.progress {
                status.chapters = progress.total
                status.upToDate = progress.ready
                status.progress = .init(
                    ready: progress.ready,
                    writing: progress.writing,
                    words: progress.words,
                    retrying: progress.retrying,
                    requested: progress.requested
                )
            }
        } else {
            status.phase = CourseStatus.phase(failed: status.failed, nextTry: status.nextTry, pending: false)
            if let stop { status.pause(for: stop) }
        }
        if case .unreadable(let problem)? = problems[path] {
            status.phase = .unreadable
            status.outlineError = problem
        }
        if removed[path] != nil { status.phase = .removed }
        status.refused = problems.compactMap { rival, problem in
            guard case .folderOwned(let owner, _) = problem, owner == path else { return nil }
            return .init(
                file: rival,
                advice: "it maps to this same folder, which this outline owns; nothing of it is published until it is renamed (the folder is named after the file name without its extension)"
            )
        }.sorted { $0.file < $1.file }
        return status
    }

    /// Writes `path`'s status page if what it says changed; true when it did.
    @discardableResult
    private func publishPage(of path: String) async -> Bool {
        guard !draining || runs[path] != nil, let status = await course(path) else { return false }
        var comparable = status
        comparable.updated = .distantPast
        if let page = pages[path] {
            var previous = page.status
            previous.updated = .distantPast
            if previous == comparable { return false }
        }
        pages[path] = (status, Date())
        do {
            try await engine.publishStatus(status)
        } catch {
            logger.warning("cannot write the course's status page", metadata: ["file": "\(path)", "error": "\(error)"])
        }
        return true
    }

    /// A parse error as the page shows it: the file, the line, the message and the line's text.
    private func problem(_ error: any Error, in file: InboxFile) async -> CourseStatus.OutlineProblem {
        if let error = error as? PromptTemplateError {
            // The template's own line, read from the template beside the outline.
            let text = await Self.line(error.line, of: "\(inbox)/\(error.origin)", io: io)
            return .init(file: error.origin, line: error.line, message: error.message, text: text)
        }
        guard let error = error as? OutlineError else {
            return .init(file: file.relativePath, line: nil, message: "\(error)", text: nil)
        }
        return .init(
            file: file.relativePath,
            line: error.line,
            message: error.message,
            text: await Self.line(error.line, of: file.path, io: io)
        )
    }

    /// Line `line` (from 1) of the file at `path`, at most 500 characters; nil when there is none.
    private static func line(_ line: Int?, of path: String, io: BlockingIO) async -> String? {
        guard let line else { return nil }
        return (try? await io.run { () -> String? in
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            return line >= 1 && line <= lines.count ? String(lines[line - 1].prefix(500)) : nil
        }) ?? nil
    }

    // MARK: - Removals, scans, reloads

    func outlineRemoved(_ file: InboxFile) async {
        guard !Self.isTemplate(file) else {
            await templateChanged(file)
            return
        }
        removed[file.path] = file
        known.removeValue(forKey: file.path)
        problems.removeValue(forKey: file.path)
        if retries.removeValue(forKey: file.path) != nil { scheduleRetryTimer() }
        if let run = runs.removeValue(forKey: file.path) { retire(run) }
        logger.notice(
            "outline removed from the inbox; its published chapters stay",
            metadata: ["outline": "\(Self.name(of: file))", "file": "\(file.path)"]
        )
        updateStatus()
        // Its folder is free for another outline now.
        guard let folderName = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent)
        else { return }
        let folder = self.folder(of: file, named: folderName)
        let claims = self.claims
        let path = file.path
        do {
            try await io.run { try claims.release(folder, from: path) }
        } catch {
            logger.warning("cannot release the removed outline's folder", metadata: ["error": "\(error)"])
        }
        await publishPage(of: path)
        removed.removeValue(forKey: path)
        pages.removeValue(forKey: path)
        // An outline refused for this folder may have it now.
        for (rival, problem) in problems {
            guard case .folderOwned(let owner, _) = problem, owner == path, let file = known[rival] else { continue }
            await consider(file, reason: .save)
        }
    }

    func scanCompleted() {
        scanned = true
        updateStatus()
    }

    /// Applies reloaded settings. With new generation settings every known outline is brought up
    /// to date under them; with the same, the outlines a stop left incomplete are (the reload may
    /// have fixed the key or lifted the quota), and, with a new budget or prices, those over budget
    /// (the engine tries their skipped chapters if the budget or the price changed for them).
    func reloaded(settings: GenerationSettings, cost: CostPolicy, settle: Duration) async {
        let changed = settings != self.settings
        let costChanged = cost != self.cost
        self.settings = settings
        self.cost = cost
        self.settle = settle
        let wasStopped = stop != nil
        stop = nil
        let files = known.values.filter { file in
            if changed { return true }
            switch problems[file.path] {
            case .failedChapters: return wasStopped
            case .overBudget: return costChanged
            default: return false
            }
        }
        for file in files.sorted(by: { $0.path < $1.path }) { await consider(file, reason: .reload) }
        updateStatus()
    }

    // MARK: - Stopping

    /// Stops taking work; waits up to `timeout` for runs in progress, then cancels them and waits
    /// for every run to end, superseded ones included (they stop at once: publishing is atomic
    /// and short, and one that started finishes first).
    func drain(timeout: Duration) async {
        draining = true
        if let timer = retryTimer {
            retryTimer = nil
            timer.task.cancel()
            await timer.task.value
        }
        guard !isIdle else { return }
        let idleInTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.waitUntilIdle()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        guard !idleInTime else { return }
        let tasks = runs.values.map(\.task) + ending.values
        logger.warning(
            "runs still in progress at the stop timeout are cancelled",
            metadata: ["runs": "\(tasks.count)"]
        )
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    private var isIdle: Bool { runs.isEmpty && ending.isEmpty }

    /// Returns once no run is in progress or ending, or when the calling task is cancelled.
    private func waitUntilIdle() async {
        guard !isIdle else { return }
        nextID += 1
        let id = nextID
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    idleWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.stopWaitingUntilIdle(id) }
        }
    }

    private func stopWaitingUntilIdle(_ id: UInt64) {
        idleWaiters.removeValue(forKey: id)?.resume()
    }

    // MARK: - Status

    /// One human line for `systemctl status`.
    private func updateStatus() {
        Gauge(label: MetricName.outlinesWatched).record(known.count)
        let active = runs.values.sorted { $0.name < $1.name }
        var text: String
        if active.isEmpty {
            let inInbox = problems.filter { known[$0.key] != nil }
            let total = known.count
            let upToDate = total - inInbox.count
            text = "Watching \(inbox): \(upToDate) course\(upToDate == 1 ? "" : "s") up to date"
            let waiting = retries.filter { known[$0.key] != nil }
            if let next = waiting.values.map(\.at).min() {
                text += ", \(waiting.count) to retry (next at \(Self.time(next)))"
            }
            let needAuthor = inInbox.values.filter { problem in
                switch problem {
                case .unreadable, .folderOwned, .failedChapters(needsAuthor: true): true
                case .failedChapters(needsAuthor: false), .overBudget: false
                }
            }.count
            if needAuthor > 0 { text += ", \(needAuthor) need their author (see journalctl)" }
            let overBudget = inInbox.values.filter { $0 == .overBudget }.count
            if overBudget > 0 {
                text += ", \(overBudget) over budget (see coursegen status; save or raise the budget)"
            }
            let other = inInbox.count - needAuthor - overBudget - waiting.count
            if other > 0 { text += ", \(other) with problems (see journalctl)" }
        } else {
            text = active.map { run in
                // A run reports progress once it has planned; until then it is generating all the
                // same, not up to date.
                guard let progress = run.progress else { return "Generating \(run.name): planning" }
                return Self.describe(progress)
            }.joined(separator: "; ")
            if let outage {
                text += " (API unavailable: probing every \(outage.probeInterval.components.seconds) s)"
            } else if let limit = inFlightLimit, limit.current < limit.maximum {
                text += " (API overloaded: \(limit.current) of \(limit.maximum) requests in flight)"
            }
        }
        if let stop {
            switch stop.reason {
            case .refused:
                text = "Stopped: \(stop.error); fix the key or model, then reload (systemctl reload coursegen). " + text
            case .dailyQuota:
                let until = stop.until.map { " until \(Self.time($0))" } ?? ""
                text = "Paused\(until): daily quota used up. " + text
            }
        }
        onStatus(text)
    }

    /// "Generating practical-rust: 7/12 chapters, 3 writing (2.1k words so far), 1 retrying".
    static func describe(_ progress: Engine.Progress) -> String {
        var line = "Generating \(progress.outline): \(progress.ready)/\(progress.total) chapters"
        if progress.writing > 0 { line += ", \(progress.writing) writing (\(words(progress.words)) words so far)" }
        if progress.retrying > 0 { line += ", \(progress.retrying) retrying" }
        if progress.failed > 0 { line += ", \(progress.failed) failed" }
        if progress.skippedForBudget > 0 { line += ", \(progress.skippedForBudget) skipped for budget" }
        return line
    }

    /// 950, 2.1k, 12k.
    static func words(_ count: Int) -> String {
        switch count {
        case ..<1000: "\(count)"
        case ..<10_000: "\((Double(count) / 1000).formatted(.number.precision(.fractionLength(1))))k"
        default: "\(count / 1000)k"
        }
    }

    /// A time of day for status lines, in the machine's time zone.
    static func time(_ date: Date) -> String {
        date.formatted(date: .omitted, time: .shortened)
    }

    /// The outline's name in logs and status: its path in the inbox without the extension.
    static func name(of file: InboxFile) -> String {
        let folder = (file.relativePath as NSString).deletingLastPathComponent
        let stem = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent) ?? file.relativePath
        return folder.isEmpty ? stem : "\(folder)/\(stem)"
    }

    /// The folder `file` publishes into: `OUTPUT/<its folder in the inbox>/<its name>`.
    private func folder(of file: InboxFile, named folderName: String) -> String {
        let relativeFolder = (file.relativePath as NSString).deletingLastPathComponent
        return [output, relativeFolder, folderName].filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// The watcher refuses symlinks leading out of the inbox; check again right before reading,
    /// in case a link was swapped in since.
    private func isInsideInbox(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil), let root = realpath(inbox, nil) else { return false }
        defer {
            free(resolved)
            free(root)
        }
        let file = String(cString: resolved)
        let base = String(cString: root)
        return file.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
