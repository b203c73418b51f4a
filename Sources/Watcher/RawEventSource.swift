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
