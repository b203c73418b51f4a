import Platform
import Logging

/// What an inbox path is at the moment it is looked at (see `InboxInspector`).
enum InboxEntry: Sendable, Equatable {
    case missing
    /// A regular file.
    case file
    /// A symlink that resolves to a regular file inside the inbox (and outside excluded folders).
    case linkToFile
    case folder
    /// A symlink that resolves outside the inbox: never read, never reported.
    case linkOutsideInbox(target: String)
    /// Anything else: a FIFO, socket or device, a dangling link, a link to a folder or into an excluded folder.
    case other
    /// A file (or link to one) whose content is the one last reported: nothing to report. Only when content is
    /// compared (see `InboxSnapshot`).
    case unchangedFile
    /// A file that changed while it was looked at, or since a periodic scan saw it: it is still being written,
    /// look again after the debounce. Only when content is compared (see `InboxSnapshot`).
    case changingFile
}

/// The watcher's event logic: turns raw inotify events and scan results into debounced `WatchEvent`s and into
/// folder actions (watch, unwatch, rescan). Pure: no I/O (entries are looked at through the `inspect` closure
/// given to each call) and time is passed in.
///
/// Per outline path it keeps at most one pending change, so a burst of events reports once:
/// - `IN_CLOSE_WRITE`, `IN_MOVED_TO`, `IN_MOVED_FROM`, `IN_DELETE` and scan results *settle* the path: it is
///   reported `debounce` after its last such event, or `maximumDelay` after the burst's first event.
/// - `IN_MODIFY`, and `IN_CREATE` of a regular file, mean a writer is at work: the report waits for its close.
/// - When the report is due, the path is looked at: a file reports `.changed`; a path reported before that is
///   gone now (or is no longer an outline) reports `.removed`; anything else reports nothing. Where content is
///   compared, a file whose content did not change reports nothing and one still changing is looked at again.
/// - A periodic scan (`scanNoticed`) settles a path like an event does.
///
/// Generic over the instants of the clock the caller reads (`ContinuousClock` in the daemon, a manual clock in
/// tests).
struct OutlineTracker<Instant: InstantProtocol> where Instant.Duration == Duration {

    /// What the caller must do to the watched folders after an event.
    enum FolderAction: Sendable, Equatable {
        /// Watch this folder (relative to the inbox) and everything below it, then scan it: files created
        /// before the watch took effect would otherwise be missed.
        case watchAndScan(String)
        /// Stop watching this folder and everything below it (it moved away; its old path is meaningless).
        case unwatch(String)
        /// Events were lost: rescan the whole inbox (`beginFullScan`, walk with `found`, `endFullScan`).
        case rescan
        /// The inbox was deleted, moved or unmounted: unwatch everything and wait for it to reappear.
        case inboxVanished
    }

    private struct PendingChange {
        var firstEvent: Instant
        var lastEvent: Instant
        /// A write began (`IN_MODIFY` or creation) and has not been closed since.
        var writing: Bool
    }

    private struct FullScan {
        /// The walk of the inbox is still going on.
        var walking = true
        /// Paths found (or to re-check) by the scan that have not been reported yet.
        var awaiting: Set<String> = []
    }

    /// The inbox's absolute path as given, without a trailing slash.
    let inbox: String
    var filter: InboxFilter
    let debounce: Duration
    let maximumDelay: Duration
    private let logger: Logger

    /// Relative paths reported `.changed` and not `.removed` since.
    private(set) var reported: Set<String> = []
    private var pending: [String: PendingChange] = [:]
    private var fullScan: FullScan?
    private var ready: [WatchEvent] = []
    /// Between a full scan's start and the inbox vanishing; events are ignored outside it.
    private(set) var isWatchingInbox = false

    init(inbox: String, filter: InboxFilter, debounce: Duration, maximumDelay: Duration, logger: Logger) {
        self.inbox = inbox
        self.filter = filter
        self.debounce = debounce
        self.maximumDelay = maximumDelay
        self.logger = logger
    }

    /// The absolute path of an inbox-relative path.
    func absolute(_ relativePath: String) -> String {
        InboxInspector.path(of: relativePath, in: inbox)
    }

    /// Applies one raw event received at `now`.
    /// - Parameter inspect: looks at an absolute path (only for `IN_CREATE`, to tell a file being written
    ///   from a symlink, which gets no close event).
    /// - Returns: what to do to the watched folders, in order.
    mutating func handle(
        _ event: RawEvent,
        at now: Instant,
        inspect: (String) -> InboxEntry
    ) -> [FolderAction] {
        guard let eventFolder = event.folder, !event.mask.contains(.queueOverflow) else {
            logger.warning("inotify event queue overflowed; rescanning the inbox", metadata: ["inbox": "\(inbox)"])
            return [.rescan]
        }
        guard isWatchingInbox, let folder = relativePath(of: eventFolder) else { return [] }
        if event.name.isEmpty {
            // Events about a watched folder itself only matter for the inbox: a subfolder's removal or move
            // is handled through its parent's IN_DELETE / IN_MOVED_FROM.
            let gone: EventMask = [.deleteSelf, .moveSelf, .unmount, .ignored]
            guard folder.isEmpty, !event.mask.isDisjoint(with: gone) else { return [] }
            logger.error(
                "the inbox was deleted, moved or unmounted; waiting for it to reappear",
                metadata: ["inbox": "\(inbox)", "event": "\(event.mask.names)"]
            )
            inboxVanished(at: now)
            return [.inboxVanished]
        }
        let path = folder.isEmpty ? event.name : folder + "/" + event.name
        if event.mask.contains(.isDirectory) {
            if !event.mask.isDisjoint(with: [.create, .movedTo]) {
                return filter.watchesFolder(path) ? [.watchAndScan(path)] : []
            }
            if event.mask.contains(.movedFrom) {
                settle(under: path, at: now)
                return [.unwatch(path)]
            }
            // A deleted folder's watches are dropped by the kernel (IN_IGNORED); its files were already
            // reported deleted one by one, unless the events were lost.
            if event.mask.contains(.delete) { settle(under: path, at: now) }
            return []
        }
        guard filter.isOutlineCandidate(path) else { return [] }
        if !event.mask.isDisjoint(with: [.closeWrite, .movedTo, .movedFrom, .delete]) {
            settle(path, at: now)
        } else if event.mask.contains(.create) {
            // A new regular file is being written: wait for its close. A new symlink gets no close event.
            if inspect(absolute(path)) == .file { beginWrite(path, at: now) } else { settle(path, at: now) }
        } else if event.mask.contains(.modify) {
            beginWrite(path, at: now)
        }
        return []
    }

    /// Starts a full scan (at start, after an overflow, or when the inbox reappeared): every path reported or
    /// pending is re-checked, and `.scanCompleted` follows once they and every file `found` are reported.
    mutating func beginFullScan(at now: Instant) {
        isWatchingInbox = true
        var scan = fullScan ?? FullScan()
        scan.walking = true
        for path in reported.union(pending.keys) {
            settle(path, at: now)
            scan.awaiting.insert(path)
        }
        fullScan = scan
    }

    /// Records a file found by a scan (full or of a new folder) at `now`; it is reported after the debounce,
    /// unless a writer is at work on it.
    mutating func found(_ relativePath: String, at now: Instant) {
        guard filter.isOutlineCandidate(relativePath), pending[relativePath]?.writing != true else { return }
        settle(relativePath, at: now)
        if fullScan?.walking == true { fullScan?.awaiting.insert(relativePath) }
    }

    /// Records that a periodic scan saw an outline appear, change or vanish at `now`: it is looked at after the
    /// debounce (unless inotify says a writer is at work on it), like after an event.
    mutating func scanNoticed(_ relativePath: String, at now: Instant) {
        guard isWatchingInbox, filter.isOutlineCandidate(relativePath), pending[relativePath]?.writing != true
        else { return }
        settle(relativePath, at: now)
    }

    /// Ends the walk of a full scan; `.scanCompleted` is ready once every file it found has been reported.
    mutating func endFullScan() {
        fullScan?.walking = false
        completeScanIfDone()
    }

    /// Records that the inbox is gone: every reported path is re-checked after the debounce (and so reported
    /// `.removed` unless the inbox is back by then), and events are ignored until the next full scan.
    mutating func inboxVanished(at now: Instant) {
        isWatchingInbox = false
        for path in reported { settle(path, at: now) }
    }

    /// When the next pending report is due; nil when nothing is pending or only writes in progress are.
    var nextDeadline: Instant? {
        pending.values.compactMap(deadline(of:)).min()
    }

    /// The pending paths whose report is due at `now`, in deadline order: the ones `takeEvents(at:inspect:)`
    /// will look at.
    func duePaths(at now: Instant) -> [String] {
        let due = pending.compactMap { path, change -> (Instant, String)? in
            guard let deadline = deadline(of: change), deadline <= now else { return nil }
            return (deadline, path)
        }
        return due.sorted(by: <).map(\.1)
    }

    /// Reports every pending path due at `now` (in deadline order), looking at each with `inspect`,
    /// and returns those reports and any other event that became ready.
    mutating func takeEvents(at now: Instant, inspect: (String) -> InboxEntry) -> [WatchEvent] {
        for path in duePaths(at: now) { report(path, entry: inspect(absolute(path)), at: now) }
        defer { ready.removeAll() }
        return ready
    }

    private func deadline(of change: PendingChange) -> Instant? {
        change.writing
            ? nil : min(change.lastEvent.advanced(by: debounce), change.firstEvent.advanced(by: maximumDelay))
    }

    private mutating func settle(_ path: String, at now: Instant) {
        var change = pending[path] ?? PendingChange(firstEvent: now, lastEvent: now, writing: false)
        change.lastEvent = now
        change.writing = false
        pending[path] = change
    }

    private mutating func settle(under folder: String, at now: Instant) {
        let prefix = folder + "/"
        for path in reported.union(pending.keys) where path.hasPrefix(prefix) { settle(path, at: now) }
    }

    private mutating func beginWrite(_ path: String, at now: Instant) {
        var change = pending[path] ?? PendingChange(firstEvent: now, lastEvent: now, writing: true)
        change.writing = true
        pending[path] = change
        // A file being written is reported when closed, whenever that is: a scan does not wait for it.
        if fullScan?.awaiting.remove(path) != nil { completeScanIfDone() }
    }

    private mutating func report(_ path: String, entry: InboxEntry, at now: Instant) {
        pending[path] = nil
        let file = InboxFile(path: absolute(path), relativePath: path)
        switch entry {
        case .changingFile:
            // Still being written: look again after the debounce. A scan does not wait for it, as for a writer
            // seen through inotify.
            pending[path] = PendingChange(firstEvent: now, lastEvent: now, writing: false)
        case .unchangedFile:
            break
        case .file, .linkToFile:
            reported.insert(path)
            ready.append(.changed(file))
        case .linkOutsideInbox(let target):
            logger.warning(
                "ignoring symlink that points outside the inbox",
                metadata: ["path": "\(file.path)", "target": "\(target)"]
            )
            if reported.remove(path) != nil { ready.append(.removed(file)) }
        case .missing, .folder, .other:
            if reported.remove(path) != nil { ready.append(.removed(file)) }
        }
        if fullScan?.awaiting.remove(path) != nil { completeScanIfDone() }
    }

    private mutating func completeScanIfDone() {
        guard let scan = fullScan, !scan.walking, scan.awaiting.isEmpty else { return }
        fullScan = nil
        ready.append(.scanCompleted)
    }

    private func relativePath(of absolutePath: String) -> String? {
        absolutePath.path(relativeTo: inbox)
    }
}
