public import Platform
import SystemPackage

/// Why an `InboxWatcher` stopped. Its `description` says what went wrong and what to do.
public struct WatcherError: CodedError {
    /// A stable classification of the failure.
    public enum Code: String, ErrorCode {
        /// The per-user `fs.inotify.max_user_watches` limit is reached.
        case watchLimitReached
        /// The per-user `fs.inotify.max_user_instances` limit is reached.
        case instanceLimitReached
        /// libinotifytools' descriptor would be 1024 or more, where its `select()` aborts the process.
        case descriptorTooHigh
        /// Another `InboxWatcher` is iterating in this process (libinotifytools is one global instance).
        case alreadyWatching
        /// The inbox itself cannot be read or watched.
        case permissionDenied
        /// The private folder used to wake the inotify thread could not be created or watched.
        case controlFolderFailed
        /// inotify failed in another way (the message has the system error).
        case inotifyFailed
        /// The inbox folder cannot be listed for a reason other than permissions (the message has the system error).
        case scanFailed
        /// The inotify thread has already stopped.
        case stopped
    }

    /// The classification.
    public let code: Code
    /// What went wrong and what to do, naming the path involved.
    public let message: String
    /// Where in the Watcher module the error was made.
    public let origin: SourceOrigin

    private init(_ code: Code, _ message: String, fileID: String, line: Int) {
        self.code = code
        self.message = message
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    static func watchLimitReached(path: String, limit: Int, fileID: String = #fileID, line: Int = #line) -> Self {
        let suggestion = limit > 0 ? String(limit * 4) : "524288"
        return Self(
            .watchLimitReached,
            "cannot watch \(path): the per-user inotify watch limit (\(limit)) is reached; raise it with "
                + "`sysctl fs.inotify.max_user_watches=\(suggestion)` (and persist it in /etc/sysctl.d/)",
            fileID: fileID,
            line: line
        )
    }

    static func instanceLimitReached(limit: Int, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .instanceLimitReached,
            "cannot start inotify: the per-user inotify instance limit (\(limit)) is reached; stop other watchers "
                + "or raise it with `sysctl fs.inotify.max_user_instances=\(max(limit * 2, 256))` "
                + "(and persist it in /etc/sysctl.d/)",
            fileID: fileID,
            line: line
        )
    }

    static func descriptorTooHigh(_ descriptor: Int32, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .descriptorTooHigh,
            "cannot start inotify: its descriptor would be \(descriptor), and libinotifytools' select() aborts the "
                + "process at 1024 or more; call InboxWatcher.prepare() first thing in main, before opening files",
            fileID: fileID,
            line: line
        )
    }

    static func alreadyWatching(inbox: String, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .alreadyWatching,
            "cannot watch \(inbox): another InboxWatcher is already iterating in this process, and libinotifytools "
                + "allows one at a time; watch one inbox per process, or stop the other watcher first",
            fileID: fileID,
            line: line
        )
    }

    static func permissionDenied(path: String, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .permissionDenied,
            "cannot watch \(path): permission denied; give the daemon's user read and execute access to it",
            fileID: fileID,
            line: line
        )
    }

    static func controlFolderFailed(path: String, errno: Errno, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .controlFolderFailed,
            "cannot create or watch the watcher's private folder \(path): \(errno); "
                + "check that the temporary folder (TMPDIR or /tmp) is writable",
            fileID: fileID,
            line: line
        )
    }

    static func inotifyFailed(
        _ what: String,
        path: String? = nil,
        errno: Errno,
        fileID: String = #fileID,
        line: Int = #line
    ) -> Self {
        let subject = path.map { "\(what) \($0)" } ?? what
        return Self(.inotifyFailed, "inotify: cannot \(subject): \(errno)", fileID: fileID, line: line)
    }

    static func scanFailed(path: String, errno: Errno, fileID: String = #fileID, line: Int = #line) -> Self {
        Self(
            .scanFailed,
            "cannot list the inbox \(path): \(errno); check that it is readable and, on a network share, that the "
                + "share is reachable",
            fileID: fileID,
            line: line
        )
    }

    static func stopped(fileID: String = #fileID, line: Int = #line) -> Self {
        Self(.stopped, "the inotify thread has stopped", fileID: fileID, line: line)
    }
}
