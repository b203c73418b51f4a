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
