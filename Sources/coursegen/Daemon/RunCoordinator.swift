import Foundation
import Generation
import Logging
import Watcher

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's event loop: which outline is generating, superseding older runs, and the
/// one-line status systemd shows.
actor RunCoordinator {
    private struct ActiveRun {
        let id: UInt64
        /// The outline's name in the status.
        let name: String
        let digest: String
        let task: Task<Void, Never>
        var progress: Engine.Progress?
    }

    private var engine: Engine
    private let inbox: String
    private let output: String
    private let logger: Logger
    private let onStatus: @Sendable (String) -> Void
    private var runs: [String: ActiveRun] = [:]
    /// Outlines seen in the inbox, by path, for status and for a reload's catch-up.
    private var known: [String: InboxFile] = [:]
    /// Outlines whose last run left something failed, or that do not parse.
    private var troubled: Set<String> = []
    private var nextID: UInt64 = 0
    private var draining = false

    init(engine: Engine, inbox: String, output: String, logger: Logger, onStatus: @escaping @Sendable (String) -> Void)
    {
        self.engine = engine
        self.inbox = inbox
        self.output = output
        self.logger = logger
        self.onStatus = onStatus
    }

    /// Answers at once when the loop is responsive (the watchdog's health check).
    func isResponsive() -> Bool { true }

    func outlineChanged(_ file: InboxFile) {
        guard !draining else { return }
        known[file.path] = file
        let name = Self.name(of: file)
        var logger = self.logger
        logger[metadataKey: "outline"] = "\(name)"
        logger[metadataKey: "file"] = "\(file.path)"
        guard let folderName = Outline.folderName(forFile: (file.relativePath as NSString).lastPathComponent) else {
            logger.error("\(file.path): cannot derive an output folder name from this file name; rename the file")
            troubled.insert(file.path)
            updateStatus()
            return
        }
        guard isInsideInbox(file.path) else {
            logger.warning("ignoring an outline that now resolves outside the inbox")
            return
        }
        let outline: Outline
        do {
            outline = try OutlineParser.parse(fileAt: file.path)
        } catch {
            logger.error("\(error)", metadata: ["path": "\(file.path)"])
            troubled.insert(file.path)
            updateStatus()
            return
        }
        let relativeFolder = (file.relativePath as NSString).deletingLastPathComponent
        let folder = [output, relativeFolder, folderName].filter { !$0.isEmpty }.joined(separator: "/")
        let digest = outline.digest

        if let current = runs[file.path], current.digest == digest {
            logger.debug("outline saved again unchanged while generating; the run in progress covers it")
            return
        }
        if runs[file.path] == nil, engine.isUpToDate(outline, in: folder) {
            logger.debug("outline unchanged; nothing to do")
            troubled.remove(file.path)
            updateStatus()
            return
        }
        start(
            Engine.Job(outlinePath: file.path, outline: outline, name: name, outputFolder: folder),
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
                self.finished(file.path, run: id, complete: outcome)
            }
        }
        runs[file.path] = ActiveRun(id: id, name: job.name, digest: digest, task: task)
        if superseded != nil {
            logger.info("a newer save supersedes the run in progress")
        }
        updateStatus()
    }

    private func record(_ progress: Engine.Progress, for path: String, run id: UInt64) {
        guard runs[path]?.id == id else { return }
        runs[path]?.progress = progress
        updateStatus()
    }

    private func finished(_ path: String, run id: UInt64, complete: Bool?) {
        if let complete {
            if complete { troubled.remove(path) } else { troubled.insert(path) }
        }
        if runs[path]?.id == id { runs.removeValue(forKey: path) }
        updateStatus()
    }

    func outlineRemoved(_ file: InboxFile) {
        known.removeValue(forKey: file.path)
        troubled.remove(file.path)
        if let run = runs.removeValue(forKey: file.path) {
            run.task.cancel()
        }
        logger.notice(
            "outline removed from the inbox; its published chapters stay",
            metadata: ["outline": "\(Self.name(of: file))", "file": "\(file.path)"]
        )
        updateStatus()
    }

    func scanCompleted() {
        updateStatus()
    }

    /// Uses `engine` from now on (a reload changed the generation settings) and brings every
    /// known outline up to date under it.
    func replaceEngine(_ engine: Engine) {
        self.engine = engine
        for file in known.values.sorted(by: { $0.path < $1.path }) { outlineChanged(file) }
    }

    /// Stops taking work; waits up to `timeout` for runs in progress, then cancels them and waits
    /// for them to end (they stop at once: publishing is atomic and short).
    func drain(timeout: Duration) async {
        draining = true
        let tasks = runs.values.map(\.task)
        guard !tasks.isEmpty else { return }
        let finishedInTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for task in tasks { await task.value }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !finishedInTime {
            logger.warning(
                "runs still in progress at the stop timeout are cancelled",
                metadata: ["runs": "\(tasks.count)"]
            )
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
        }
    }

    /// One human line for `systemctl status`.
    private func updateStatus() {
        let active = runs.values.sorted { $0.name < $1.name }
        let text: String
        if active.isEmpty {
            let total = known.count
            let upToDate = total - troubled.intersection(known.keys).count
            var line = "Watching \(inbox): \(upToDate) course\(upToDate == 1 ? "" : "s") up to date"
            if upToDate != total { line += ", \(total - upToDate) with problems (see journalctl)" }
            text = line
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
