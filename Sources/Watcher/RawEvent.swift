import CInotify

/// One inotify event, copied out of libinotifytools' buffer.
struct RawEvent: Sendable, Hashable {
    /// Absolute path of the watched folder the event is about (no trailing slash); nil for a queue overflow.
    var folder: String?
    /// Name of the entry in `folder`; empty when the event is about the folder itself.
    var name: String
    var mask: EventMask
    /// Pairs an `IN_MOVED_FROM` with its `IN_MOVED_TO`.
    var cookie: UInt32

    init(folder: String?, name: String = "", mask: EventMask, cookie: UInt32 = 0) {
        self.folder = folder
        self.name = name
        self.mask = mask
        self.cookie = cookie
    }

    /// The kernel's event queue overflowed (libinotifytools delivers it with watch descriptor -1): events were lost.
    static let overflow = RawEvent(folder: nil, mask: .queueOverflow)
}

/// The `IN_*` bits of an inotify event mask.
struct EventMask: OptionSet, Sendable, Hashable {
    let rawValue: UInt32

    static let modify = EventMask(IN_MODIFY)
    static let attributes = EventMask(IN_ATTRIB)
    static let closeWrite = EventMask(IN_CLOSE_WRITE)
    static let movedFrom = EventMask(IN_MOVED_FROM)
    static let movedTo = EventMask(IN_MOVED_TO)
    static let create = EventMask(IN_CREATE)
    static let delete = EventMask(IN_DELETE)
    static let deleteSelf = EventMask(IN_DELETE_SELF)
    static let moveSelf = EventMask(IN_MOVE_SELF)
    static let unmount = EventMask(IN_UNMOUNT)
    static let queueOverflow = EventMask(IN_Q_OVERFLOW)
    static let ignored = EventMask(IN_IGNORED)
    static let isDirectory = EventMask(IN_ISDIR)
    // Flags for adding a watch, never present in events.
    static let onlyDirectory = EventMask(IN_ONLYDIR)
    static let dontFollow = EventMask(IN_DONT_FOLLOW)
    static let excludeUnlinked = EventMask(IN_EXCL_UNLINK)

    /// What the watcher asks for on every inbox folder. `IN_MODIFY` is never acted on alone: it only marks a file
    /// as being written, so that a pending report waits for the writer's `IN_CLOSE_WRITE`.
    static let inboxFolder: EventMask = [
        .closeWrite, .movedTo, .movedFrom, .delete, .create, .modify, .deleteSelf, .moveSelf,
        .onlyDirectory, .dontFollow, .excludeUnlinked,
    ]

    init(rawValue: UInt32) { self.rawValue = rawValue }
    private init(_ bits: Int32) { self.rawValue = UInt32(bitPattern: bits) }
}

/// The result of asking the event source to watch a folder.
enum FolderWatchOutcome: Sendable {
    /// The folder is watched (now or already).
    case watched
    /// The path does not exist (any more) or is not a folder.
    case missing
    /// The folder cannot be read.
    case permissionDenied
    /// Watching failed for good (watch limit reached, inotify stopped, ...).
    case failed(WatcherError)
}

/// What an event source delivers.
enum SourceOutput: Sendable {
    case event(RawEvent)
    /// Reading events failed; the source has stopped.
    case failed(WatcherError)
}

/// The seam between the watcher's event logic and inotify: the libinotifytools thread in production,
/// a scripted source in unit tests.
protocol RawEventSource: Sendable {
    /// Starts delivering events to `deliver` (from any thread, in order).
    /// - Throws: `WatcherError` if inotify cannot start, or another watcher holds it.
    func start(deliver: @escaping @Sendable (SourceOutput) -> Void) async throws(WatcherError)
    /// Watches one folder (not its subfolders) for inbox events; returns once events for it will be delivered.
    /// The inbox root may be reached through a symlink; a subfolder that is a symlink is not watched.
    func watch(folder: String, isInboxRoot: Bool) async -> FolderWatchOutcome
    /// Stops watching `folder` and every watched folder below it.
    func unwatch(subtree folder: String) async
    /// Stops watching every inbox folder.
    func unwatchAll() async
    /// Stops the source, releases everything and returns once it has.
    func stop() async
    /// Asks the source to stop without waiting (for an iterator dropped without cancellation).
    func requestStop()
}

extension EventMask {
    /// The set bits' names, for logs: `CREATE|ISDIR`.
    var names: String {
        let known: [(EventMask, String)] = [
            (.modify, "MODIFY"), (.attributes, "ATTRIB"), (.closeWrite, "CLOSE_WRITE"), (.movedFrom, "MOVED_FROM"),
            (.movedTo, "MOVED_TO"), (.create, "CREATE"), (.delete, "DELETE"), (.deleteSelf, "DELETE_SELF"),
            (.moveSelf, "MOVE_SELF"), (.unmount, "UNMOUNT"), (.queueOverflow, "Q_OVERFLOW"), (.ignored, "IGNORED"),
            (.isDirectory, "ISDIR"),
        ]
        return known.filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }
}
