import Foundation
import Generation
import Logging
import Watcher

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's event loop: which outline is generating, superseding older runs, which folder
/// each outline owns, and the one-line status systemd shows. Every run it starts is a task it
/// keeps until the task has ended, superseded and cancelled ones included, so `drain` can wait
/// for all of them.
actor RunCoordinator {
    private struct ActiveRun {
        let id: UInt64
        /// The outline's name in the status.
        let name: String
        let digest: String
        let task: Task<Void, Never>
        var progress: Engine.Progress?
    }

    /// Why an outline is not up to date.
    private enum Problem {
        /// It cannot be read or parsed, or its name gives no folder.
        case unreadable
        /// Its last run left chapters failed.
        case failedChapters
        /// Another outline owns its folder.
        case folderOwned
    }

    private let engine: Engine
    private let scheduler: Scheduler
    private let io: BlockingIO
    private var settings: GenerationSettings
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
    /// Why submissions are stopped, as the scheduler last said.
    private var stop: SubmissionStop?
    private var nextID: UInt64 = 0
    private var draining = false
    /// `drain` waiting for every run to end.
    private var idleWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    init(
        engine: Engine,
        scheduler: Scheduler,
        settings: GenerationSettings,
        inbox: String,
        output: String,
        state: String,
        io: BlockingIO = .shared,
        logger: Logger,
        onStatus: @escaping @Sendable (String) -> Void
    ) {
        self.engine = engine
        self.scheduler = scheduler
        self.settings = settings
        self.inbox = inbox
        self.output = output
        self.claims = FolderClaims(stateDirectory: state)
        self.io = io
        self.logger = logger
        self.onStatus = onStatus
    }

    /// Answers at once when the loop is responsive (the watchdog's health check).
    func isResponsive() -> Bool { true }

    func outlineChanged(_ file: InboxFile) async {
        guard !draining else { return }
        known[file.path] = file
        let name = Self.name(of: file)
        let logger = self.logger.with(["outline": "\(name)", "file": "\(file.path)"])
        let fileName = (file.relativePath as NSString).lastPathComponent
        guard let folderName = Outline.folderName(forFile: fileName) else {
            logger.error("\(file.path): cannot derive an output folder name from this file name; rename the file")
            problems[file.path] = .unreadable
            updateStatus()
            return
        }
        guard isInsideInbox(file.path) else {
            logger.warning("ignoring an outline that now resolves outside the inbox")
            return
        }
        let relativeFolder = (file.relativePath as NSString).deletingLastPathComponent
        let folder = [output, relativeFolder, folderName].filter { !$0.isEmpty }.joined(separator: "/")
        let claims = self.claims
        let parsed: Result<(Outline, FolderClaims.Decision), any Error>
        do {
            let path = file.path
            parsed = .success(
                try await io.run {
                    let outline = try OutlineParser.parse(fileAt: path)
                    let directory = (path as NSString).deletingLastPathComponent
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                    let rivals = Outline.rivals(of: fileName, among: names).map { "\(directory)/\($0)" }
                    return (outline, try claims.claim(folder, for: path, rivals: rivals))
                }
            )
        } catch {
            parsed = .failure(error)
        }
        // Saves are handled one at a time, but a reload or a removal may have run meanwhile.
        guard !draining, known[file.path] != nil else { return }
        let outline: Outline
        switch parsed {
        case .failure(let error):
            logger.error("\(error)", metadata: ["path": "\(file.path)"])
            problems[file.path] = .unreadable
            updateStatus()
            return
        case .success((_, .refused(let owner))):
            logger.error(
                "\(file.path): not published: \(owner) already publishes into \(folder); rename one of the two files (the folder is named after the file name without its extension)"
            )
            problems[file.path] = .folderOwned
            if let run = runs.removeValue(forKey: file.path) { retire(run) }
            updateStatus()
            return
        case .success((let value, .granted)):
            outline = value
        }
        let digest = outline.digest

        if let current = runs[file.path], current.digest == digest {
            logger.debug("outline saved again unchanged while generating; the run in progress covers it")
            return
        }
        if runs[file.path] == nil, await engine.isUpToDate(outline, settings: settings, in: folder) {
            guard runs[file.path] == nil else { return }
            logger.debug("outline unchanged; nothing to do")
            problems.removeValue(forKey: file.path)
            updateStatus()
            return
        }
        start(
            Engine.Job(outlinePath: file.path, outline: outline, name: name, outputFolder: folder, settings: settings),
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
                let outcome: Bool?
                do {
                    let report = try await engine.run(
                        job,
                        onPlanned: { planned.continuation.finish() },
                        onProgress: { progress.continuation.yield($0) }
                    )
                    outcome = report.isComplete
                } catch is CancellationError {
                    outcome = nil
                } catch {
                    logger.error("\(error)")
                    outcome = false
                }
                planned.continuation.finish()
                progress.continuation.finish()
                await group.waitForAll()
                let stop = await scheduler.stop
                await self.finished(file.path, run: id, complete: outcome, stop: stop)
            }
        }
        if let superseded {
            // Cancelled once the new run has planned; kept until it has ended.
            ending[superseded.id] = superseded.task
            logger.info("a newer save supersedes the run in progress")
        }
        runs[file.path] = ActiveRun(id: id, name: job.name, digest: digest, task: task)
        updateStatus()
    }

    /// Cancels `run` and keeps it until it has ended.
    private func retire(_ run: ActiveRun) {
        run.task.cancel()
        ending[run.id] = run.task
    }

    private func record(_ progress: Engine.Progress, for path: String, run id: UInt64) {
        guard runs[path]?.id == id else { return }
        runs[path]?.progress = progress
        updateStatus()
    }

    private func finished(_ path: String, run id: UInt64, complete: Bool?, stop: SubmissionStop?) {
        ending.removeValue(forKey: id)
        if runs[path]?.id == id {
            runs.removeValue(forKey: path)
            switch complete {
            case true?: problems.removeValue(forKey: path)
            case false?: problems[path] = .failedChapters
            case nil: break
            }
        }
        self.stop = stop
        updateStatus()
        if isIdle {
            for waiter in idleWaiters.values { waiter.resume() }
            idleWaiters = [:]
        }
    }

    func outlineRemoved(_ file: InboxFile) async {
        known.removeValue(forKey: file.path)
        problems.removeValue(forKey: file.path)
        if let run = runs.removeValue(forKey: file.path) { retire(run) }
        logger.notice(
            "outline removed from the inbox; its published chapters stay",
            metadata: ["outline": "\(Self.name(of: file))", "file": "\(file.path)"]
        )
        updateStatus()
        // Its folder is free for another outline now.
        guard let folderName = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent)
        else { return }
        let relativeFolder = (file.relativePath as NSString).deletingLastPathComponent
        let folder = [output, relativeFolder, folderName].filter { !$0.isEmpty }.joined(separator: "/")
        let claims = self.claims
        let path = file.path
        do {
            try await io.run { try claims.release(folder, from: path) }
        } catch {
            logger.warning("cannot release the removed outline's folder", metadata: ["error": "\(error)"])
        }
    }

    func scanCompleted() {
        updateStatus()
    }

    /// Applies reloaded generation settings. With new settings every known outline is brought up
    /// to date under them; with the same settings, the outlines a stop left incomplete are (the
    /// reload may have fixed the key).
    func reloaded(settings: GenerationSettings) async {
        let changed = settings != self.settings
        self.settings = settings
        let wasStopped = stop != nil
        stop = nil
        let files = known.values.filter { file in
            changed || (wasStopped && problems[file.path] == .failedChapters)
        }
        for file in files.sorted(by: { $0.path < $1.path }) { await outlineChanged(file) }
        updateStatus()
    }

    /// Stops taking work; waits up to `timeout` for runs in progress, then cancels them and waits
    /// for every run to end, superseded ones included (they stop at once: publishing is atomic
    /// and short, and one that started finishes first).
    func drain(timeout: Duration) async {
        draining = true
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

    /// One human line for `systemctl status`.
    private func updateStatus() {
        let active = runs.values.sorted { $0.name < $1.name }
        var text: String
        if active.isEmpty {
            let total = known.count
            let troubled = Set(problems.keys).intersection(known.keys).count
            let upToDate = total - troubled
            text = "Watching \(inbox): \(upToDate) course\(upToDate == 1 ? "" : "s") up to date"
            if troubled > 0 { text += ", \(troubled) with problems (see journalctl)" }
        } else {
            text = active.map { run in
                // A run reports progress once it has planned; until then it is generating all the
                // same, not up to date.
                guard let progress = run.progress else { return "Generating \(run.name): planning" }
                var line = "Generating \(progress.outline): \(progress.ready)/\(progress.total) chapters"
                if progress.retrying > 0 { line += ", \(progress.retrying) retrying" }
                if progress.failed > 0 { line += ", \(progress.failed) failed" }
                return line
            }.joined(separator: "; ")
        }
        if let stop {
            switch stop.reason {
            case .refused:
                text = "Stopped: \(stop.error); fix the key or model, then reload (systemctl reload coursegen). " + text
            case .dailyQuota:
                let until = stop.until.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                text = "Paused\(until): daily quota used up. " + text
            }
        }
        onStatus(text)
    }

    /// The outline's name in logs and status: its path in the inbox without the extension.
    static func name(of file: InboxFile) -> String {
        let folder = (file.relativePath as NSString).deletingLastPathComponent
        let stem = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent) ?? file.relativePath
        return folder.isEmpty ? stem : "\(folder)/\(stem)"
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
