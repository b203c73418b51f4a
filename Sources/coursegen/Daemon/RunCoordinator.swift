import Foundation
import Generation
import Logging
import Metrics
import Watcher
import Platform

/// The daemon's event loop: it turns the watcher's events into runs of the engine. What to do
/// with an outline is `CourseDecision`'s (a pure function), what a run's end means is
/// `RunOutcome`'s, what the pages and `systemctl status` say is `DaemonStatus`'s; reading an
/// outline is `CourseReader`'s, on the blocking pool. This actor holds what the daemon knows of
/// each outline (`Course`), carries the decisions out and keeps every task it starts (runs,
/// superseded ones included, and the retry timer's) until it has ended, so `drain` waits for all.
actor RunCoordinator {
    private let engine: Engine
    private let scheduler: Scheduler
    private let reader: CourseReader
    private let timer: RetryTimer
    private let now: @Sendable () -> Date
    private var settings: GenerationSettings
    private var cost: CostPolicy
    private var settle: Duration
    private let inbox: String
    private let logger: Logger
    private let onStatus: @Sendable (String) -> Void
    /// Told when a course finishes or fails (desktop notifications), if set.
    private let notify: (@Sendable (CourseStatus) -> Void)?
    /// Every outline of the inbox (and the removed ones while their page says so), by path.
    private var courses: [String: Course] = [:]
    /// The latest look at each outline: a read that a newer look overtook decides nothing.
    private var looks: [String: UInt64] = [:]
    /// Every run task that has not ended: the current runs and the superseded or retired ones.
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    /// What each course's status page says now, and when it was written.
    private var pages: [String: (status: CourseStatus, written: Date)] = [:]
    /// Why submissions are stopped, as the scheduler last said.
    private var stop: SubmissionStop?
    /// The in-flight limit, `--concurrency` and why the limit is lower, as the scheduler last said.
    private var inFlightLimit: (current: Int, maximum: Int, reason: String?)?
    /// The API found unavailable by the scheduler's circuit breaker, as it last said.
    private var outage: APIOutage?
    private var nextID: UInt64 = 0
    private var scanned = false
    private var draining = false

    init(
        engine: Engine,
        scheduler: Scheduler,
        settings: GenerationSettings,
        cost: CostPolicy = CostPolicy(),
        settle: Duration = .zero,
        reader: CourseReader,
        timer: RetryTimer = RetryTimer(),
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        notify: (@Sendable (CourseStatus) -> Void)? = nil,
        onStatus: @escaping @Sendable (String) -> Void
    ) {
        self.engine = engine
        self.scheduler = scheduler
        self.reader = reader
        self.timer = timer
        self.now = now
        self.settings = settings
        self.cost = cost
        self.settle = settle
        self.inbox = reader.inbox
        self.logger = logger
        self.notify = notify
        self.onStatus = onStatus
    }

    /// Answers at once when the loop is responsive (the watchdog's health check).
    func isResponsive() -> Bool { true }

    // MARK: - Events

    /// An outline was saved (or found by a scan); or a prompt template.
    func outlineChanged(_ file: InboxFile) async {
        if Course.isTemplate(file) { return await templateChanged(file) }
        await consider(file, reason: scanned ? .save : .catchUp)
    }

    func outlineRemoved(_ file: InboxFile) async {
        if Course.isTemplate(file) { return await templateChanged(file) }
        guard var course = courses[file.path] else { return }
        retire(&course)
        course.problem = nil
        course.retry = nil
        course.removed = true
        courses[file.path] = course
        looks[file.path, default: 0] += 1  // A read of it in progress decides nothing.
        // Outlines refused for its folder (`course.yaml` beside `course.md`): the first in byte
        // order takes it over, as a conversion from one format to another wants.
        let heirs = rivals(of: file.path).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        logger.notice(
            heirs.isEmpty
                ? "outline removed from the inbox; its published chapters stay"
                : "outline removed from the inbox; the outline refused for its folder takes it over and publishes into it",
            metadata: ["outline": "\(course.name)", "file": "\(file.path)", "new_owner": "\(heirs.first ?? "none")"]
        )
        await resetTimer()
        updateStatus()
        // Its folder is free for another outline now; the page is the new owner's, once it has looked.
        await reader.releaseFolder(of: file, logger: logger)
        if heirs.isEmpty { await publishPage(of: file.path) }
        courses.removeValue(forKey: file.path)
        pages.removeValue(forKey: file.path)
        for heir in heirs {
            guard let rival = courses[heir] else { continue }
            await consider(rival.file, reason: .save)
        }
    }

    func scanCompleted() {
        scanned = true
        updateStatus()
    }

    /// Applies reloaded settings. New generation settings bring every known outline up to date
    /// under them; the same bring up to date the outlines a stop left incomplete (the reload may
    /// have fixed the key or lifted the quota) and, with a new budget or prices, those over budget.
    func reloaded(settings: GenerationSettings, cost: CostPolicy, settle: Duration) async {
        let changed = settings != self.settings
        let costChanged = cost != self.cost
        self.settings = settings
        self.cost = cost
        self.settle = settle
        let wasStopped = stop != nil
        stop = nil
        let files = courses.values.filter {
            $0.isLookedAtAgain(settingsChanged: changed, wasStopped: wasStopped, costChanged: costChanged)
        }.map(\.file)
        for file in files.sorted(by: { $0.path < $1.path }) { await consider(file, reason: .reload) }
        updateStatus()
    }

    /// A template was saved, added or removed: every outline in its folder or above it is looked
    /// at again, as after a save. Those that do not use it find their chapters up to date, which
    /// costs no request; those that do regenerate exactly the chapters it writes.
    private func templateChanged(_ file: InboxFile) async {
        guard scanned, !draining else { return }
        let outlines = courses.values.filter { $0.mayUse(template: file) }.map(\.file)
        for outline in outlines.sorted(by: { $0.path < $1.path }) where courses[outline.path]?.removed == false {
            await consider(outline, reason: .save)
        }
    }

    /// Reads `file`, decides what to do (`CourseDecision`) and does it. Each look takes a number
    /// before its read: when a newer look began meanwhile, this one decides nothing (the newest
    /// save wins, whatever order the reads end in).
    private func consider(_ file: InboxFile, reason: CourseDecision.Reason) async {
        guard !draining else { return }
        var course = courses[file.path] ?? Course(file: file)
        course.file = file
        course.removed = false
        if reason == .save {
            course.retry = nil
            course.failedTries = 0
        }
        courses[file.path] = course
        looks[file.path, default: 0] += 1
        let look = looks[file.path]
        let result = await reader.read(file, base: settings)
        guard !draining, looks[file.path] == look, courses[file.path]?.removed == false else { return }
        let decision = CourseDecision.decide(
            reason,
            read: result.read,
            runningDigest: courses[file.path]?.run?.digest,
            now: now()
        )
        await carryOut(decision, for: file.path, result: result)
    }

    private func carryOut(_ decision: CourseDecision, for path: String, result: CourseReader.Result) async {
        guard var course = courses[path] else { return }
        let logger = self.logger.with(["outline": "\(course.name)", "file": "\(path)"])
        var page = path
        switch decision {
        case .ignore(let why):
            courses.removeValue(forKey: path)
            logger.notice("ignoring a file of the inbox", metadata: ["why": "\(why)"])
            return updateStatus()
        case .coveredByRun:
            return logger.debug("outline saved again unchanged while generating; the run in progress covers it")
        case .start(let settles, let retriesBudgetSkips, let batches):
            guard let folder = reader.folder(of: course.file), case .parsed(let digest, _, _) = result.read,
                let job = result.job(
                    for: course,
                    folder: folder,
                    settle: settles ? settle : .zero,
                    cost: cost,
                    retriesBudgetSkips: retriesBudgetSkips,
                    batchOver: batches ? reader.batchOver : nil
                )
            else { return }
            return start(job, digest: digest, logger: logger)
        case .unreadable(let problem):
            logger.error("\(result.error ?? problem.message)")
            course.problem = .unreadable(problem)
        case .refused(let owner):
            logger.error(
                "\(path): not published: \(owner) already publishes into \(reader.folder(of: course.file) ?? ""); rename one of the two files (the folder is named after the file name without its extension)"
            )
            retire(&course)
            course.problem = .folderOwned(owner: owner)
            page = owner
        case .upToDate:
            logger.debug("outline unchanged; nothing to do")
            course.problem = nil
        case .waitForRetry(let retry):
            // A restart in the middle of the retry schedule continues it.
            logger.info(
                "failed chapters are tried again at their time",
                metadata: ["retry_at": "\(logTime(retry.at))", "failed_tries": "\(retry.failedTries)"]
            )
            course.problem = .failedChapters(needsAuthor: false)
            course.retry = retry
        }
        courses[path] = course
        if decision == .upToDate { await setRetry(nil, for: path) }
        if case .waitForRetry = decision { await resetTimer() }
        updateStatus()
        await publishPage(
            of: page,
            notifying: course.problem.map { if case .unreadable = $0 { true } else { false } } ?? false
        )
    }

    private func start(_ job: Engine.Job, digest: String, logger: Logger) {
        nextID += 1
        let id = nextID
        let path = job.outlinePath
        let superseded = courses[path]?.run.flatMap { tasks[$0.id] }
        tasks[id] = RunLauncher(engine: engine, scheduler: scheduler, logger: logger).launch(
            job,
            superseding: superseded,
            onProgress: { await self.record($0, for: path, run: id) },
            onEnd: { await self.finished(path, run: id, end: $0, stop: $1) }
        )
        if superseded != nil { logger.info("a newer save supersedes the run in progress") }
        courses[path]?.run = (id, digest, nil)
        courses[path]?.problem = nil
        updateStatus()
    }

    /// Cancels `course`'s run, if any; its task is kept until it has ended.
    private func retire(_ course: inout Course) {
        guard let run = course.run else { return }
        tasks[run.id]?.cancel()
        course.run = nil
    }

    private func record(_ progress: Engine.Progress, for path: String, run id: UInt64) async {
        inFlightLimit = await scheduler.limitInForce
        outage = await scheduler.outage
        guard courses[path]?.run?.id == id else { return }
        let before = courses[path]?.run?.progress
        courses[path]?.run?.progress = progress
        updateStatus()
        if DaemonStatus.refreshesPage(from: before, to: progress, written: pages[path]?.written, now: now()) {
            await publishPage(of: path)
        }
    }

    /// Records how run `id` of `path` ended: its outline's problem and retry time, its page. A
    /// superseded or retired run's end says nothing about the outline.
    private func finished(_ path: String, run id: UInt64, end: RunOutcome.End, stop: SubmissionStop?) async {
        defer { tasks.removeValue(forKey: id) }
        self.stop = stop
        guard var course = courses[path], course.run?.id == id else { return updateStatus() }
        let outcome = RunOutcome.after(end, chapters: course.run?.progress?.total, stop: stop, draining: draining)
        if case .completed(let report) = end { report.logChaptersOnlyTheAuthorCanFix(to: logger) }
        course.run = nil
        course.problem = outcome.problem
        course.stoppedWith = outcome.stoppedWith ?? course.stoppedWith
        courses[path] = course
        switch outcome.retry {
        case .keep: break
        case .clear: await setRetry(nil, for: path)
        case .schedule:
            let retry = RetrySchedule.next(
                afterFailedTries: (course.retry?.failedTries ?? course.failedTries) + 1,
                now: now(),
                stop: stop,
                unit: Double.random(in: 0..<1)
            )
            logger.notice(
                "failed chapters will be tried again",
                metadata: [
                    "file": "\(path)", "retry_at": "\(logTime(retry.at))", "failed_tries": "\(retry.failedTries)",
                ]
            )
            await setRetry(retry, for: path)
        }
        updateStatus()
        let cancelled = if case .cancelled = end { true } else { false }
        if !cancelled || outcome.stoppedWith != nil {
            await publishPage(of: path, evenWhileStopping: true, notifying: true)
        }
        if outcome.tryAgainNow { await consider(course.file, reason: .reload) }
    }

    // MARK: - Retries

    /// Records (or clears) `path`'s next try, keeps it in the manifest (a restart continues the
    /// schedule) and resets the timer.
    private func setRetry(_ retry: RetryTime?, for path: String) async {
        guard var course = courses[path] else { return }
        course.failedTries = 0
        let changed = course.retry != retry
        course.retry = retry
        courses[path] = course
        guard changed else { return }
        await resetTimer()
        if let folder = reader.folder(of: course.file) { await engine.records.recordRetry(retry, in: folder) }
    }

    /// Sets the one timer to the earliest retry (none when nothing is scheduled).
    private func resetTimer() async {
        let earliest = draining ? nil : courses.values.compactMap(\.retry?.at).min()
        await timer.set(earliest) { await self.retryDue() }
    }

    /// The earliest retry time came: every outline whose time it is leaves the schedule while it
    /// is tried (its end schedules the next try), then the timer is set to the next one.
    private func retryDue() async {
        let due = now().addingTimeInterval(0.5)
        for path in courses.keys.sorted() {
            guard var course = courses[path], let retry = course.retry, retry.at <= due, !course.removed else {
                continue
            }
            course.retry = nil
            course.failedTries = retry.failedTries
            courses[path] = course
            logger.info("trying failed chapters again", metadata: ["file": "\(path)"])
            await consider(course.file, reason: .retry)
        }
        await resetTimer()
    }

    /// Stops taking work and sending requests; waits up to `timeout` for the answers in flight
    /// (stored and published as they come), then cancels the runs, and returns once every task
    /// started has ended, superseded runs and the retry timer's included.
    func drain(timeout: Duration) async {
        draining = true
        // Nothing is sent from now on; what was sent may still arrive, to be stored and published.
        let sending = await scheduler.stopSending()
        if sending > 0 {
            logger.notice(
                "no new request is sent; waiting for the answers in flight",
                metadata: ["in_flight": "\(sending)", "timeout_s": "\(timeout.components.seconds)"]
            )
        }
        await timer.stop()
        await RunLauncher.awaitEnd(of: Array(tasks.values), timeout: timeout, logger: logger)
    }

    // MARK: - Status

    /// The outlines refused because `owner` owns the folder they map to.
    private func rivals(of owner: String) -> [String] {
        courses.filter { $0.value.problem == .folderOwned(owner: owner) }.map(\.key)
    }

    private func updateStatus() {
        let present = courses.values.filter { !$0.removed }
        Gauge(label: MetricName.outlinesWatched).record(present.count)
        onStatus(DaemonStatus.line(inbox: inbox, courses: present, stop: stop, limit: inFlightLimit, outage: outage))
    }

    /// Writes `path`'s status page if what it says changed (and tells `notify` when asked).
    /// - Parameter evenWhileStopping: write it during the stop too (the end of a run); otherwise
    ///   a stopping daemon writes only the pages of runs still in progress.
    private func publishPage(of path: String, evenWhileStopping: Bool = false, notifying: Bool = false) async {
        guard let course = courses[path], !draining || evenWhileStopping || course.run != nil,
            let folder = reader.folder(of: course.file)
        else { return }
        let base = await engine.records.courseStatus(in: folder, watched: true)
        guard let current = courses[path],
            let status = DaemonStatus.page(
                current,
                base: base,
                folder: folder,
                rivals: rivals(of: path),
                stop: stop,
                now: now()
            )
        else { return }
        guard DaemonStatus.says(status, somethingNewSince: pages[path]?.status) else { return }
        pages[path] = (status, now())
        do {
            try await engine.publishStatus(status)
        } catch {
            logger.warning("cannot write the course's status page", metadata: ["file": "\(path)", "error": "\(error)"])
        }
        if notifying { notify?(status) }
    }
}
