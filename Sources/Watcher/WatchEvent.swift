/// An outline file in the watched inbox.
public struct InboxFile: Sendable, Hashable {
    /// Absolute path of the file in the inbox (the inbox path as given, joined with `relativePath`).
    public var path: String
    /// Path relative to the inbox root, with `/` separators, e.g. `team-a/practical-rust.md`.
    public var relativePath: String

    public init(path: String, relativePath: String) {
        self.path = path
        self.relativePath = relativePath
    }
}

/// What an `InboxWatcher` reports.
public enum WatchEvent: Sendable, Hashable {
    /// An outline file settled (no event for it during the debounce, or the maximum delay passed) and exists,
    /// at the moment of reporting, as a regular file or as a symlink to a regular file inside the inbox.
    /// A save reports once; a no-op event (an identical rewrite) may also report: compare content.
    case changed(InboxFile)
    /// An outline file reported before is gone (deleted, moved out, renamed, or its folder or the inbox went away).
    case removed(InboxFile)
    /// Every outline present when watching started (or at a rescan after an event-queue overflow or after the
    /// inbox reappeared) has been reported; files still open for writing are reported when their writer closes them.
    case scanCompleted
}

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

    /// - Parameters:
    ///   - debounce: quiet time before a file is reported; default 300 ms.
    ///   - maximumDelay: longest wait for a file rewritten nonstop; default 5 s.
    ///   - extensions: outline file extensions; default `md`, `yaml`, `yml`, `json`.
    ///   - excludedPaths: absolute folders to ignore; default none.
    public init(
        debounce: Duration = .milliseconds(300),
        maximumDelay: Duration = .seconds(5),
        extensions: Set<String> = ["md", "yaml", "yml", "json"],
        excludedPaths: [String] = []
    ) {
        self.debounce = debounce
        self.maximumDelay = maximumDelay
        self.extensions = extensions
        self.excludedPaths = excludedPaths
    }
}
