import Logging
import Platform
import SystemPackage

/// One iteration of an `InboxWatcher`: starts the event source, scans, and turns raw events and periodic scans
/// into reports, waiting on the next event or the next deadline. Its only timers: a debounce deadline while a
/// report is pending, the check for a missing inbox, and the periodic scan while the inbox is scanned (poll mode,
/// or auto mode on a network file system). An idle session watching a local inbox through inotify has none.
///
/// Its timers run on `clock` (`ContinuousClock` in the daemon; tests drive a manual one, so that periodic scans and
/// debounces happen when the test moves time, not when the machine gets round to it).
final class WatchSession<SessionClock: Clock> where SessionClock.Duration == Duration {
    typealias Instant = SessionClock.Instant

    private enum Phase {
        case notStarted
        case watching
        /// The inbox is missing: check again at `nextCheck`.
        case waitingForInbox(attempt: Int, nextCheck: Instant)
        case finished
    }

    private enum Input: Sendable {
        case source(SourceOutput)
        /// A deadline passed (possibly a stale one: inputs are then just re-evaluated).
        case tick
    }

    private enum WalkResult { case completed, inboxMissing }

    /// The inotify source; nil in poll mode, where inotify is not used at all.
    private let source: (any RawEventSource)?
    private let inspector: InboxInspector
    private let extensions: Set<String>
    private let mode: WatchMode
    private let pollInterval: Duration
    private let fileSystemOf: @Sendable (String) -> Result<FileSystemType, Errno>
    private let clock: SessionClock
    private let logger: Logger
    /// Where listing, `stat` and reading go while the inbox is scanned periodically (a network share may block).
    private let blockingQueue = BlockingQueue(label: "inbox-scan")
    private var tracker: OutlineTracker<Instant>
    private var phase = Phase.notStarted
    private var sourceStarted = false
    private var ready: [WatchEvent] = []
    private var inputs: AsyncStream<Input>.Iterator
    private let inputContinuation: AsyncStream<Input>.Continuation

    /// The inbox's file system when last checked (at start and each time the inbox is attached again).
    private var fileSystem: FileSystemType?
    /// File system types already logged, so that re-attaching the same share does not repeat the warning.
    private var loggedFileSystems: Set<FileSystemType> = []
    /// The inbox folder at the last full scan: a periodic scan that finds another one (a share mounted on it or
    /// unmounted) rescans.
    private var inboxIdentity: FileIdentity?
    /// What periodic scans compare against; nil while the inbox is not scanned periodically.
    private var snapshot: InboxSnapshot?
    /// When the next periodic scan is due; nil while there is none to come.
    private var nextScan: Instant?
    /// Folders (inbox-relative) inotify watches, so that a periodic scan watches only the new ones.
    private var watchedFolders: Set<String> = []
    /// Folders a periodic scan could not list, so that each is logged once until it can be listed again.
    private var unlistableFolders: Set<String> = []

    /// - Parameters:
    ///   - inbox: absolute, normalised inbox path.
    ///   - excludedPaths: absolute, normalised excluded folders.
    ///   - source: the inotify source; nil in poll mode.
    ///   - fileSystemOf: finds the file system of a path (`FileSystemType.of(path:)`; tests inject others).
    ///   - clock: what the debounce, the periodic scan and the checks for a missing inbox are timed on.
    init(
        inbox: String,
        configuration: WatcherConfiguration,
        excludedPaths: [String],
        logger: Logger,
        source: (any RawEventSource)?,
        fileSystemOf: @escaping @Sendable (String) -> Result<FileSystemType, Errno>,
        clock: SessionClock
    ) {
        self.source = source
        self.inspector = InboxInspector(inbox: inbox, excludedPaths: excludedPaths)
        self.extensions = configuration.extensions
        self.mode = configuration.mode
        self.pollInterval = configuration.pollInterval
        self.fileSystemOf = fileSystemOf
        self.clock = clock
        self.logger = logger
        self.tracker = OutlineTracker(
            inbox: inbox,
            filter: InboxFilter(extensions: configuration.extensions),
            debounce: configuration.debounce,
            maximumDelay: configuration.maximumDelay,
            logger: logger
        )
        let (stream, continuation) = AsyncStream.makeStream(of: Input.self)
        self.inputs = stream.makeAsyncIterator()
        self.inputContinuation = continuation
    }

    deinit {
        // Dropped without cancellation (a `break` out of the loop): stop the thread without waiting for it.
        if case .finished = phase {} else if sourceStarted { source?.requestStop() }
        inputContinuation.finish()
    }

    /// The next report; nil once the iterating task is cancelled (after the source has stopped) or after a
    /// failure was thrown.
    /// - Throws: `WatcherError` when watching cannot go on (watch limit reached, inotify failure, ...).
    func next() async throws(WatcherError) -> WatchEvent? {
        if case .finished = phase { return nil }
        do throws(WatcherError) {
            if case .notStarted = phase {
                if Task.isCancelled {
                    phase = .finished
                    return nil
                }
                try await start()
            }
            while true {
                ready += await takeDueEvents()
                if !ready.isEmpty { return ready.removeFirst() }
                guard !Task.isCancelled, let input = await nextInput(until: nextWakeUp) else {
                    await finish()
                    return nil
                }
                try await handle(input)
            }
        } catch {
            logger.error("the inbox watcher stopped", metadata: ["error": "\(error)", "code": "\(error.code)"])
            await finish()
            throw error
        }
    }

    /// When the session next has something to do without an event; nil: it waits for events only.
    var nextWakeUp: Instant? {
        var wakeUps = [tracker.nextDeadline, nextScan]
        if case .waitingForInbox(_, let nextCheck) = phase { wakeUps.append(nextCheck) }
        return wakeUps.compactMap { $0 }.min()
    }

    /// Whether the inbox is scanned periodically now.
    var scansPeriodically: Bool { snapshot != nil }

    /// When the next periodic scan is due; nil while none is to come.
    var nextScanDue: Instant? { nextScan }

    private func start() async throws(WatcherError) {
        if let source {
            let continuation = inputContinuation
            try await source.start { output in continuation.yield(.source(output)) }
            sourceStarted = true
        }
        guard inspector.inboxIsFolder else {
            logger.info("watching the inbox", metadata: ["inbox": "\(inspector.inbox)", "mode": "\(mode)"])
            logger.error(
                "the inbox does not exist; waiting for it to appear",
                metadata: ["inbox": "\(inspector.inbox)"]
            )
            phase = .waitingForInbox(attempt: 0, nextCheck: after(Self.inboxCheckDelay(attempt: 0)))
            return
        }
        await checkFileSystem()
        logger.info(
            "watching the inbox",
            metadata: [
                "inbox": "\(inspector.inbox)", "mode": "\(mode)", "filesystem": "\(fileSystem?.description ?? "?")",
                "periodic_scan": "\(scansPeriodically ? "every \(pollInterval)" : "off")",
            ]
        )
        try await fullScan()
    }

    /// Waits for the next input, or until `deadline` if there is one.
    /// - Returns: nil when the task is cancelled.
    private func nextInput(until deadline: Instant?) async -> Input? {
        guard let deadline else { return await inputs.next() }
        let (continuation, clock) = (inputContinuation, self.clock)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled as soon as another input arrives; a tick that slips through is harmless.
                if (try? await clock.sleep(until: deadline, tolerance: nil)) != nil { continuation.yield(.tick) }
            }
            let input = await inputs.next()
            group.cancelAll()
            return input
        }
    }

    private func handle(_ input: Input) async throws(WatcherError) {
        switch input {
        case .tick:
            break
        case .source(.failed(let error)):
            throw error
        case .source(.event(let event)):
            let actions = tracker.handle(event, at: clock.now, inspect: inspector.entry(at:))
            for action in actions { try await perform(action) }
        }
        if case .waitingForInbox(let attempt, let nextCheck) = phase, nextCheck <= clock.now {
            if inspector.inboxIsFolder {
                logger.notice("the inbox is back; rescanning it", metadata: ["inbox": "\(inspector.inbox)"])
                await checkFileSystem()
                try await fullScan()
            } else {
                phase = .waitingForInbox(
                    attempt: attempt + 1,
                    nextCheck: after(Self.inboxCheckDelay(attempt: attempt + 1))
                )
            }
        }
        if case .watching = phase, let nextScan, nextScan <= clock.now { try await periodicScan() }
    }

    /// The instant `delay` from now on the session's clock.
    private func after(_ delay: Duration) -> Instant {
        clock.now.advanced(by: delay)
    }

    private func perform(_ action: OutlineTracker<Instant>.FolderAction) async throws(WatcherError) {
        switch action {
        case .watchAndScan(let folder):
            _ = try await walk(from: folder)
        case .unwatch(let folder):
            watchedFolders = watchedFolders.filter { !$0.isPath(within: folder) }
            await source?.unwatch(subtree: tracker.absolute(folder))
        case .rescan:
            // While the inbox is missing there is nothing to rescan: it is scanned when it reappears.
            if case .watching = phase { try await fullScan() }
        case .inboxVanished:
            await inboxVanished()
        }
    }

    /// Reports what is due now. Where content is compared, the due paths are looked at (and read) on the
    /// blocking queue first, and `InboxSnapshot` judges each look.
    private func takeDueEvents() async -> [WatchEvent] {
        let now = clock.now
        guard snapshot != nil else { return tracker.takeEvents(at: now, inspect: inspector.entry(at:)) }
        let due = tracker.duePaths(at: now)
        guard !due.isEmpty else { return tracker.takeEvents(at: now, inspect: inspector.entry(at:)) }
        let inspector = self.inspector
        let looks = await blockingQueue.run {
            due.map { path in
                let absolute = inspector.absolute(path)
                let entry = inspector.entry(at: absolute)
                let isFile = entry == .file || entry == .linkToFile
                return (
                    path: absolute,
                    look: InboxSnapshot.Look(
                        entry: entry,
                        signature: inspector.signature(at: absolute),
                        sample: isFile ? ContentReader.sample(absolute) : nil
                    )
                )
            }
        }
        logger.trace(
            "outlines read to compare their content",
            metadata: ["count": "\(looks.filter { $0.look.sample != nil }.count)"]
        )
        var judged: [String: InboxEntry] = [:]
        for (relativePath, (path, look)) in zip(due, looks) {
            guard let verdict = snapshot?.judge(relativePath, look) else { continue }
            judged[path] = verdict
            if case .failure(let error)? = look.sample, error != .noSuchFileOrDirectory {
                logger.warning(
                    "cannot read an outline to compare its content; reporting it changed",
                    metadata: ["path": "\(path)", "error": "\(error)"]
                )
            } else if verdict == .unchangedFile {
                logger.debug("outline content unchanged; not reported", metadata: ["path": "\(path)"])
            }
        }
        return tracker.takeEvents(at: now) { path in judged[path] ?? inspector.entry(at: path) }
    }

    /// Watches and scans the whole inbox; `.scanCompleted` follows once everything found is reported.
    private func fullScan() async throws(WatcherError) {
        phase = .watching
        tracker.filter = InboxFilter(extensions: extensions, excludedRelativePaths: inspector.excludedRelativePaths())
        inboxIdentity = inspector.inboxIdentity
        tracker.beginFullScan(at: clock.now)
        switch try await walk(from: "") {
        case .completed:
            tracker.endFullScan()
            nextScan = scansPeriodically ? after(pollInterval) : nil
        case .inboxMissing:
            logger.error("the inbox vanished while it was scanned; waiting for it to reappear")
            tracker.inboxVanished(at: clock.now)
            await inboxVanished()
        }
    }

    private func inboxVanished() async {
        await source?.unwatchAll()
        watchedFolders.removeAll()
        nextScan = nil
        phase = .waitingForInbox(attempt: 0, nextCheck: after(Self.inboxCheckDelay(attempt: 0)))
    }

    /// Watches `start` (relative to the inbox) and the folders below it, each before listing it, so a file
    /// created meanwhile is either listed or seen by the watch; records every file found.
    private func walk(from start: String) async throws(WatcherError) -> WalkResult {
        var folders = [start]
        while let folder = folders.popLast() {
            let path = tracker.absolute(folder)
            switch await watch(folder) {
            case .watched:
                break
            case .missing:
                if folder.isEmpty { return .inboxMissing }
                continue
            case .permissionDenied:
                if folder.isEmpty { throw .permissionDenied(path: path) }
                logger.warning(
                    "cannot watch a folder: permission denied; its outlines are ignored",
                    metadata: ["path": "\(path)"]
                )
                continue
            case .failed(let error):
                throw error
            }
            let inspector = self.inspector
            switch await blockingQueue.run({ inspector.entries(ofFolder: path) }) {
            case nil:
                if folder.isEmpty { return .inboxMissing }
            case .failure(let error)?:
                if folder.isEmpty {
                    throw error == .permissionDenied
                        ? WatcherError.permissionDenied(path: path) : WatcherError.scanFailed(path: path, errno: error)
                }
                logger.warning(
                    "cannot list a folder; its outlines are ignored",
                    metadata: ["path": "\(path)", "error": "\(error)"]
                )
            case .success(let entries)?:
                let now = clock.now
                for entry in entries {
                    let child = folder.isEmpty ? entry.name : folder + "/" + entry.name
                    if !entry.isFolder {
                        tracker.found(child, at: now)
                    } else if tracker.filter.watchesFolder(child) {
                        folders.append(child)
                    }
                }
            }
        }
        return .completed
    }

    /// Has inotify watch `folder` (inbox-relative). Without inotify (poll mode) a folder counts as watched
    /// when it is there: listing it tells the rest.
    private func watch(_ folder: String) async -> FolderWatchOutcome {
        let path = tracker.absolute(folder)
        guard let source else {
            return folder.isEmpty && !inspector.inboxIsFolder ? .missing : .watched
        }
        let outcome = await source.watch(folder: path, isInboxRoot: folder.isEmpty)
        if case .watched = outcome { watchedFolders.insert(folder) }
        return outcome
    }

    /// Compares the inbox with what was seen before: outlines that appeared, vanished or changed signature are
    /// looked at once settled (and read only then); new folders are watched (inotify sees local saves at once).
    /// A missing inbox is waited for; another folder in its place (a share mounted or unmounted) is rescanned.
    private func periodicScan() async throws(WatcherError) {
        let inspector = self.inspector
        let filter = tracker.filter
        let scan = await blockingQueue.run { inspector.scan(filter: filter) }
        nextScan = after(pollInterval)
        guard let identity = scan.inbox else {
            logger.error(
                "the inbox was deleted, moved or unmounted; waiting for it to reappear",
                metadata: ["inbox": "\(inspector.inbox)"]
            )
            tracker.inboxVanished(at: clock.now)
            await inboxVanished()
            return
        }
        guard identity == inboxIdentity else {
            logger.notice(
                "another folder is at the inbox's path (a share mounted or unmounted?); rescanning it",
                metadata: ["inbox": "\(inspector.inbox)"]
            )
            await checkFileSystem()
            try await fullScan()
            return
        }
        for (folder, error) in scan.unlistable.sorted(by: { $0.key < $1.key }) where !unlistableFolders.contains(folder)
        {
            logger.warning(
                "cannot list a folder; its outlines are ignored",
                metadata: ["path": "\(tracker.absolute(folder))", "error": "\(error)"]
            )
        }
        unlistableFolders = Set(scan.unlistable.keys)
        if source != nil {
            for folder in scan.folders where !watchedFolders.contains(folder) {
                // A folder made on another machine: watch it for local saves; the scan covers the rest.
                if case .failed(let error) = await watch(folder) { throw error }
            }
        }
        guard let changed = snapshot?.changes(in: scan.files, unlistedFolders: unlistableFolders) else { return }
        let now = clock.now
        for path in changed { tracker.scanNoticed(path, at: now) }
        logger.trace(
            "inbox scanned",
            metadata: ["outlines": "\(scan.files.count)", "changed": "\(changed.count)"]
        )
    }

    /// Finds the inbox's file system, says once per type what that means, and starts or stops the periodic scan.
    private func checkFileSystem() async {
        let previous = fileSystem
        let (fileSystemOf, inbox) = (self.fileSystemOf, inspector.inbox)
        switch await blockingQueue.run({ fileSystemOf(inbox) }) {
        case .success(let type):
            fileSystem = type
            if loggedFileSystems.insert(type).inserted { describe(type) }
        case .failure(let error):
            logger.warning(
                "cannot find out the inbox's file system; keeping the watch mode as it was",
                metadata: ["inbox": "\(inspector.inbox)", "error": "\(error)"]
            )
        }
        let scans = mode.scansPeriodically(
            on: fileSystem,
            afterRemote: loggedFileSystems.contains(where: \.isRemote)
        )
        if scans, snapshot == nil {
            snapshot = InboxSnapshot()
        } else if !scans, snapshot != nil {
            snapshot = nil
            nextScan = nil
        }
        if let previous, let current = fileSystem, previous != current {
            logger.notice(
                "the inbox's file system changed",
                metadata: [
                    "inbox": "\(inspector.inbox)", "from": "\(previous)", "to": "\(current)",
                    "periodic_scan": "\(scans ? "every \(pollInterval)" : "off")",
                ]
            )
        }
    }

    /// Logs what the inbox's file system means for watching it, once per type.
    private func describe(_ type: FileSystemType) {
        var metadata: Logger.Metadata = [
            "inbox": "\(inspector.inbox)", "filesystem": "\(type)", "mode": "\(mode)",
            "poll_interval": "\(pollInterval)",
        ]
        if type.isRemote {
            switch mode {
            case .auto:
                logger.warning(
                    """
                    the inbox is on a network file system, where inotify misses saves made on other machines; \
                    it is also scanned periodically
                    """,
                    metadata: metadata
                )
            case .inotify:
                logger.warning(
                    """
                    the inbox is on a network file system, where inotify misses saves made on other machines; \
                    watch mode inotify does not scan it: choose watch mode auto or poll
                    """,
                    metadata: metadata
                )
            case .poll:
                logger.info("the inbox is on a network file system; it is scanned periodically", metadata: metadata)
            }
        } else if !type.isKnown, mode == .auto {
            metadata["magic"] = "0x\(String(type.magic, radix: 16))"
            logger.notice(
                """
                the inbox's file system type is unknown and taken as local (inotify only); \
                if it is a network share, choose watch mode poll
                """,
                metadata: metadata
            )
        }
    }

    private func finish() async {
        if case .finished = phase { return }
        phase = .finished
        if sourceStarted { await source?.stop() }
        inputContinuation.finish()
    }

    /// How long to wait before checking again for a missing inbox: 250 ms doubling per attempt, capped at 10 s.
    /// - Parameter attempt: 0 for the first check after the inbox went missing.
    static func inboxCheckDelay(attempt: Int) -> Duration {
        let cap = Duration.seconds(10)
        guard attempt < 6 else { return cap }
        return min(.milliseconds(250) * (1 << attempt), cap)
    }
}
