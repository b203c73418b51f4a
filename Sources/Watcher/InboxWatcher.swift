import Foundation
public import Logging
import SystemPackage

/// Watches an inbox folder and its subfolders through inotify and reports outline files that changed or went
/// away, debounced so that one save reports once, whatever the editor does (in-place writes, temporary file and
/// rename, backup rename, delete and create).
///
/// Where inotify is blind (an inbox on a network file system, where saves made on other machines raise no event)
/// it also scans the inbox every `pollInterval`; `WatcherConfiguration.mode` can force scanning only, or inotify
/// only. A scan costs one `stat` per outline; an outline whose size, times or inode changed is read, and reported
/// only if its content differs from what was last reported and it has stopped changing for the debounce.
/// While scanning, an unchanged file is never reported (a touch, a chmod, an identical rewrite). A scan cannot see
/// an open writer: a writer that pauses longer than the debounce in the middle of a save is reported twice, and a
/// file that never stops changing is not reported until it does.
///
/// Iterating starts watching: every folder is watched before it is scanned, every outline present is reported,
/// then `.scanCompleted`, then changes as they settle. A missing inbox is waited for (checked with backoff),
/// the same as one that is deleted, moved or unmounted later; when it is back it is rescanned. An event-queue
/// overflow logs a warning and rescans. Cancelling the iterating task stops the inotify thread promptly and
/// releases its watches and files, after which a new watcher can start. libinotifytools is one global instance:
/// one `InboxWatcher` may iterate at a time per process; a second one fails with `WatcherError.alreadyWatching`.
///
/// Iteration throws `WatcherError` when watching cannot go on (the inotify watch limit is reached, the inbox
/// cannot be read, inotify fails); the iteration then ends.
public struct InboxWatcher: AsyncSequence, Sendable {
    public typealias Element = WatchEvent

    private let inbox: String
    private let configuration: WatcherConfiguration
    private let logger: Logger
    private let makeSource: @Sendable (_ inbox: String, _ logger: Logger) -> any RawEventSource
    private let fileSystemOf: @Sendable (String) -> Result<FileSystemType, Errno>
    /// Starts a session on the clock given at initialisation (the session's type names its clock, which the
    /// watcher hides).
    private let startSession: @Sendable (InboxWatcher) -> () async throws(WatcherError) -> WatchEvent?

    /// - Parameters:
    ///   - inbox: the folder to watch (relative paths are resolved against the current directory; the path
    ///     may go through symlinks, and reports use it as given).
    ///   - configuration: debounce, extensions, excluded folders, watch mode and poll interval.
    ///   - logger: receives warnings (ignored symlinks, overflows, an inbox on a network file system) and errors
    ///     (inbox missing).
    public init(inbox: String, configuration: WatcherConfiguration = .init(), logger: Logger) {
        self.init(inbox: inbox, configuration: configuration, logger: logger) { inbox, logger in
            InotifySource(inbox: inbox, logger: logger)
        }
    }

    /// Watches through another event source, finds file systems another way, and times on another clock (tests).
    /// - Parameters:
    ///   - fileSystemOf: the file system of a path.
    ///   - clock: what the debounce, the periodic scan and the checks for a missing inbox are timed on.
    ///   - makeSource: makes the inotify source; never called in poll mode.
    init<SessionClock: Clock>(
        inbox: String,
        configuration: WatcherConfiguration,
        logger: Logger,
        fileSystemOf: @escaping @Sendable (String) -> Result<FileSystemType, Errno> = FileSystemType.of(path:),
        clock: SessionClock = ContinuousClock(),
        makeSource: @escaping @Sendable (_ inbox: String, _ logger: Logger) -> any RawEventSource
    ) where SessionClock.Duration == Duration {
        self.inbox = Self.absolute(inbox)
        self.configuration = configuration
        self.logger = logger
        self.fileSystemOf = fileSystemOf
        self.startSession = { watcher in watcher.startSession(clock: clock) }
        self.makeSource = makeSource
    }

    /// Initialises libinotifytools now. Call it first thing in `main`, before any other file descriptor is
    /// opened, so that its descriptor is below 1024: it waits with `select()`, which aborts the process
    /// otherwise. Idempotent; a failure (such as the inotify instance limit) is thrown when iteration starts.
    public static func prepare() {
        try? InotifyLibrary.initialise()
    }

    /// `prepare()` unless `configuration` does without inotify (`WatchMode.poll`): poll mode never initialises
    /// libinotifytools.
    public static func prepare(for configuration: WatcherConfiguration) {
        if configuration.mode.usesInotify { prepare() }
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(next: startSession(self))
    }

    /// A new session on `clock`, as its `next()`.
    private func startSession<SessionClock: Clock>(
        clock: SessionClock
    ) -> () async throws(WatcherError) -> WatchEvent? where SessionClock.Duration == Duration {
        WatchSession(
            inbox: inbox,
            configuration: configuration,
            excludedPaths: configuration.excludedPaths.map(Self.absolute),
            logger: logger,
            source: configuration.mode.usesInotify ? makeSource(inbox, logger) : nil,
            fileSystemOf: fileSystemOf,
            clock: clock
        ).next
    }

    public struct Iterator: AsyncIteratorProtocol {
        /// The session's `next()`, whatever its clock; it holds the session.
        private let nextEvent: () async throws(WatcherError) -> WatchEvent?

        fileprivate init(next: @escaping () async throws(WatcherError) -> WatchEvent?) {
            nextEvent = next
        }

        /// The next report, or nil once the iterating task is cancelled.
        /// - Throws: `WatcherError` when watching cannot go on.
        public mutating func next() async throws -> WatchEvent? {
            try await nextEvent()
        }
    }

    private static func absolute(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return FilePath(absolute).lexicallyNormalized().string
    }
}
