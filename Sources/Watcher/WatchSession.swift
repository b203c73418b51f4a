import Logging

/// One iteration of an `InboxWatcher`: starts the event source, scans, and turns raw events into reports,
/// waiting on the next event or the next debounce deadline (no timer at all while nothing is pending).
final class WatchSession {
    typealias Instant = ContinuousClock.Instant

    private enum Phase {
        case notStarted
        case watching
        /// The inbox is missing: check again at `nextCheck` (the only polling the watcher does).
        case waitingForInbox(attempt: Int, nextCheck: Instant)
        case finished
    }

    private enum Input: Sendable {
        case source(SourceOutput)
        /// A deadline passed (possibly a stale one: inputs are then just re-evaluated).
        case tick
    }

    private enum WalkResult { case completed, inboxMissing }

    private let source: any RawEventSource
    private let inspector: InboxInspector
    private let extensions: Set<String>
    private let logger: Logger
    private var tracker: OutlineTracker
    private var phase = Phase.notStarted
    private var sourceStarted = false
    private var ready: [WatchEvent] = []
    private var inputs: AsyncStream<Input>.Iterator
    private let inputContinuation: AsyncStream<Input>.Continuation

    /// - Parameters:
    ///   - inbox: absolute, normalised inbox path.
    ///   - excludedPaths: absolute, normalised excluded folders.
    init(
        inbox: String,
        configuration: WatcherConfiguration,
        excludedPaths: [String],
        logger: Logger,
        source: any RawEventSource
    ) {
        self.source = source
        self.inspector = InboxInspector(inbox: inbox, excludedPaths: excludedPaths)
        self.extensions = configuration.extensions
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
        if case .finished = phase {} else if sourceStarted { source.requestStop() }
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
                ready += tracker.takeEvents(at: .now, inspect: inspector.entry(at:))
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

    private var nextWakeUp: Instant? {
        var wakeUp = tracker.nextDeadline
        if case .waitingForInbox(_, let nextCheck) = phase { wakeUp = min(wakeUp ?? nextCheck, nextCheck) }
        return wakeUp
    }

    private func start() async throws(WatcherError) {
        let continuation = inputContinuation
        try await source.start { output in continuation.yield(.source(output)) }
        sourceStarted = true
        logger.info("watching the inbox", metadata: ["inbox": "\(inspector.inbox)"])
        if inspector.inboxIsFolder {
            try await fullScan()
        } else {
            logger.error(
                "the inbox does not exist; waiting for it to appear",
                metadata: ["inbox": "\(inspector.inbox)"]
            )
            phase = .waitingForInbox(attempt: 0, nextCheck: .now + Self.inboxCheckDelay(attempt: 0))
        }
    }

    /// Waits for the next input, or until `deadline` if there is one.
    /// - Returns: nil when the task is cancelled.
    private func nextInput(until deadline: Instant?) async -> Input? {
        guard let deadline else { return await inputs.next() }
        let continuation = inputContinuation
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled as soon as another input arrives; a tick that slips through is harmless.
                if (try? await Task.sleep(until: deadline, clock: .continuous)) != nil { continuation.yield(.tick) }
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
            let actions = tracker.handle(event, at: .now, inspect: inspector.entry(at:))
            for action in actions { try await perform(action) }
        }
        if case .waitingForInbox(let attempt, let nextCheck) = phase, nextCheck <= .now {
            if inspector.inboxIsFolder {
                logger.notice("the inbox is back; rescanning it", metadata: ["inbox": "\(inspector.inbox)"])
                try await fullScan()
            } else {
                phase = .waitingForInbox(
                    attempt: attempt + 1,
                    nextCheck: .now + Self.inboxCheckDelay(attempt: attempt + 1)
                )
            }
        }
    }

    private func perform(_ action: OutlineTracker.FolderAction) async throws(WatcherError) {
        switch action {
        case .watchAndScan(let folder):
            _ = try await walk(from: folder)
        case .unwatch(let folder):
            await source.unwatch(subtree: tracker.absolute(folder))
        case .rescan:
            // While the inbox is missing there is nothing to rescan: it is scanned when it reappears.
            if case .watching = phase { try await fullScan() }
        case .inboxVanished:
            await inboxVanished()
        }
    }

    /// Watches and scans the whole inbox; `.scanCompleted` follows once everything found is reported.
    private func fullScan() async throws(WatcherError) {
        phase = .watching
        tracker.filter = InboxFilter(extensions: extensions, excludedRelativePaths: inspector.excludedRelativePaths())
        tracker.beginFullScan(at: .now)
        switch try await walk(from: "") {
        case .completed: tracker.endFullScan()
        case .inboxMissing:
            logger.error("the inbox vanished while it was scanned; waiting for it to reappear")
            tracker.inboxVanished(at: .now)
            await inboxVanished()
        }
    }

    private func inboxVanished() async {
        await source.unwatchAll()
        phase = .waitingForInbox(attempt: 0, nextCheck: .now + Self.inboxCheckDelay(attempt: 0))
    }

    /// Watches `start` (relative to the inbox) and the folders below it, each before listing it, so a file
    /// created meanwhile is either listed or seen by the watch; records every file found.
    private func walk(from start: String) async throws(WatcherError) -> WalkResult {
        var folders = [start]
        while let folder = folders.popLast() {
            let path = tracker.absolute(folder)
            switch await source.watch(folder: path, isInboxRoot: folder.isEmpty) {
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
            switch inspector.entries(ofFolder: path) {
            case nil:
                if folder.isEmpty { return .inboxMissing }
            case .failure(let error)?:
                if folder.isEmpty { throw .inotifyFailed("list", path: path, errno: error.code) }
                logger.warning(
                    "cannot list a folder; its outlines are ignored",
                    metadata: ["path": "\(path)", "error": "\(error)"]
                )
            case .success(let entries)?:
                let now = ContinuousClock.now
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

    private func finish() async {
        if case .finished = phase { return }
        phase = .finished
        if sourceStarted { await source.stop() }
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
