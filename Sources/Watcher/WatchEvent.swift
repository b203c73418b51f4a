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
    /// A save reports once. Through inotify a no-op event (an identical rewrite) may also report: compare
    /// content. While the inbox is scanned periodically (`WatchMode`), content is compared here and an unchanged
    /// file is not reported.
    case changed(InboxFile)
    /// An outline file reported before is gone (deleted, moved out, renamed, or its folder or the inbox went away).
    case removed(InboxFile)
    /// Every outline present when watching started (or at a rescan after an event-queue overflow or after the
    /// inbox reappeared) has been reported; files still open for writing are reported when their writer closes them.
    case scanCompleted
}
