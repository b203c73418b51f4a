
/// How an `InboxWatcher` decides what to report and when.
public struct WatcherConfiguration: Sendable {
    /// Quiet time after a file's last event before it is reported: a save's burst becomes one event.
    public var debounce: Duration
    /// Longest time a file with pending events waits to be reported, even while it keeps being rewritten
    /// (a file still open for writing is then reported as soon as its writer closes it).
    public var maximumDelay: Duration
    /// File extensions (without the dot, compared case-insensitively) that make a file an outline.
    public var extensions: Set<String>
    /// Absolute folders that are never watched nor reported, such as the output and state folders when they
    /// sit inside the inbox. Matched as given and after resolving symlinks.
    public var excludedPaths: [String]
    /// How changes are noticed: inotify, a periodic scan, or inotify plus a scan where inotify is blind.
    public var mode: WatchMode
    /// Time from the end of one periodic scan of the inbox to the start of the next, when it is scanned (see
    /// `mode`). A change is reported about `debounce` after the scan that first sees it.
    public var pollInterval: Duration

    /// - Parameters:
    ///   - debounce: quiet time before a file is reported; default 300 ms.
    ///   - maximumDelay: longest wait for a file rewritten nonstop; default 5 s.
    ///   - extensions: outline file extensions; default `md`, `yaml`, `yml`, `json`.
    ///   - excludedPaths: absolute folders to ignore; default none.
    ///   - mode: default `.auto` (inotify, plus a periodic scan on a network file system).
    ///   - pollInterval: time between periodic scans; default 5 s. Must be positive.
    public init(
        debounce: Duration = .milliseconds(300),
        maximumDelay: Duration = .seconds(5),
        extensions: Set<String> = ["md", "yaml", "yml", "json"],
        excludedPaths: [String] = [],
        mode: WatchMode = .auto,
        pollInterval: Duration = .seconds(5)
    ) {
        precondition(pollInterval > .zero, "the poll interval must be positive")
        self.debounce = debounce
        self.maximumDelay = maximumDelay
        self.extensions = extensions
        self.excludedPaths = excludedPaths
        self.mode = mode
        self.pollInterval = pollInterval
    }
}

/// How an `InboxWatcher` notices changes.
///
/// inotify only sees changes made through this machine's kernel: on NFS, SMB, sshfs and other network or
/// cluster file systems it misses saves made on other machines. A periodic scan sees them, at the cost of one
/// `stat` per outline per scan (and reading only the outlines whose size, times or inode changed).
public enum WatchMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// inotify everywhere, plus a periodic scan when the inbox is on a network file system (checked at start
    /// and whenever the inbox is attached again). On a local file system an idle watcher uses no timer at all.
    case auto
    /// inotify only, never a periodic scan (saves made on other machines to a network share are missed).
    case inotify
    /// A periodic scan only: no inotify at all (libinotifytools is not even initialised).
    case poll

    public var description: String { rawValue }

    /// Whether this mode uses inotify.
    var usesInotify: Bool { self != .poll }

    /// Whether the inbox is scanned periodically.
    /// - Parameters:
    ///   - fileSystem: the inbox's file system now; nil if it could not be found out.
    ///   - afterRemote: whether the inbox was on a network file system earlier in this run. `auto` then keeps
    ///     scanning: a share's mount point left local by an unmount gets no inotify event when the share is
    ///     mounted again, and only a scan notices it.
    func scansPeriodically(on fileSystem: FileSystemType?, afterRemote: Bool) -> Bool {
        switch self {
        case .auto: fileSystem?.isRemote == true || afterRemote
        case .inotify: false
        case .poll: true
        }
    }
}
