import Foundation
public import Logging

/// Watches an inbox folder and its subfolders through inotify and reports outline files that changed or went
/// away, debounced so that one save reports once, whatever the editor does (in-place writes, temporary file and
/// rename, backup rename, delete and create).
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

    /// - Parameters:
    ///   - inbox: the folder to watch (relative paths are resolved against the current directory; the path
    ///     may go through symlinks, and reports use it as given).
    ///   - configuration: debounce, extensions and excluded folders.
    ///   - logger: receives warnings (ignored symlinks, overflows) and errors (inbox missing).
    public init(inbox: String, configuration: WatcherConfiguration = .init(), logger: Logger) {
        self.init(inbox: inbox, configuration: configuration, logger: logger) { inbox, logger in
            InotifySource(inbox: inbox, logger: logger)
        }
    }

    /// Watches through another event source (tests).
    init(
        inbox: String,
        configuration: WatcherConfiguration,
        logger: Logger,
        makeSource: @escaping @Sendable (_ inbox: String, _ logger: Logger) -> any RawEventSource
    ) {
        self.inbox = Self.absolute(inbox)
        self.configuration = configuration
        self.logger = logger
        self.makeSource = makeSource
    }

    /// Initialises libinotifytools now. Call it first thing in `main`, before any other file descriptor is
    /// opened, so that its descriptor is below 1024: it waits with `select()`, which aborts the process
    /// otherwise. Idempotent; a failure (such as the inotify instance limit) is thrown when iteration starts.
    public static func prepare() {
        try? InotifyLibrary.initialise()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(
            session: WatchSession(
                inbox: inbox,
                configuration: configuration,
                excludedPaths: configuration.excludedPaths.map(Self.absolute),
                logger: logger,
                source: makeSource(inbox, logger)
            )
        )
    }

    public struct Iterator: AsyncIteratorProtocol {
        private let session: WatchSession

        fileprivate init(session: WatchSession) {
            self.session = session
        }

        /// The next report, or nil once the iterating task is cancelled.
        /// - Throws: `WatcherError` when watching cannot go on.
        public mutating func next() async throws -> WatchEvent? {
            try await session.next()
        }
    }

    private static func absolute(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return InboxInspector.normalized(absolute)
    }
}
