import NIOConcurrencyHelpers
import SystemPackage
import TestSupport
import Testing

@testable import Watcher

/// An event source the test scripts: watches always succeed (or fail as told), events are injected.
final class ScriptedSource: RawEventSource {
    private struct State {
        var deliver: (@Sendable (SourceOutput) -> Void)?
        var watched: [String] = []
        var stopped = false
    }
    private let state = NIOLockedValueBox(State())
    private let eventsAtStart: [RawEvent]
    private let failures: [String: WatcherError]

    init(eventsAtStart: [RawEvent] = [], failures: [String: WatcherError] = [:]) {
        self.eventsAtStart = eventsAtStart
        self.failures = failures
    }

    var watched: [String] { state.withLockedValue { $0.watched } }
    var stopped: Bool { state.withLockedValue { $0.stopped } }

    func inject(_ event: RawEvent) {
        state.withLockedValue { $0.deliver }?(.event(event))
    }

    func start(deliver: @escaping @Sendable (SourceOutput) -> Void) async throws(WatcherError) {
        state.withLockedValue { $0.deliver = deliver }
        for event in eventsAtStart { deliver(.event(event)) }
    }

    func watch(folder: String, isInboxRoot: Bool) async -> FolderWatchOutcome {
        if let failure = failures[folder] { return .failed(failure) }
        guard (try? Stat(FilePath(folder), followTargetSymlink: isInboxRoot))?.type == .directory else {
            return .missing
        }
        state.withLockedValue { $0.watched.append(folder) }
        return .watched
    }

    func unwatch(subtree folder: String) async {}
    func unwatchAll() async {}
    func stop() async { state.withLockedValue { $0.stopped = true } }
    func requestStop() { state.withLockedValue { $0.stopped = true } }
}

/// The watcher's session over real files, with inotify replaced by a scripted source to inject what the
/// kernel cannot be made to do on demand: queue overflows and a full watch table. The debounce runs on a manual
/// clock, moved while the test waits for reports (see `EventQueue`).
@Suite("Session with injected events", .timeLimit(.minutes(10 * TestTime.factor)))
struct ScriptedSourceTests {
    let configuration = WatcherConfiguration(debounce: .milliseconds(50))
    let clock = ManualClock()

    func watcher(_ inbox: TemporaryFolder, _ source: ScriptedSource, log: LogRecorder = LogRecorder()) -> InboxWatcher {
        InboxWatcher(inbox: inbox.path, configuration: configuration, logger: log.logger(), clock: clock) { _, _ in
            source
        }
    }

    @Test("an overflow during the startup scan rescans, and every outline is reported once, then scanCompleted")
    func overflowDuringStartupScan() async throws {
        let inbox = try TemporaryFolder()
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        try Disk.mkdir(inbox("team"))
        try Disk.write(inbox("team/b.md"), "# B")
        // The overflow is queued before the scan; time stands still until the watcher waits, so the first
        // scan's finds cannot be reported before the overflow is handled, however slow the scan.
        let source = ScriptedSource(eventsAtStart: [.overflow])

        let events = try await withRunningWatcher(watcher(inbox, source), clock: clock) { queue in
            try await queue.collect(until: \.isScanCompleted)
        }
        #expect(events.count == 3)
        #expect(
            Set(events.dropLast()) == [
                .changed(InboxFile(path: inbox("a.md"), relativePath: "a.md")),
                .changed(InboxFile(path: inbox("team/b.md"), relativePath: "team/b.md")),
            ]
        )
        #expect(source.watched.filter { $0 == inbox.path }.count == 2, "the inbox was scanned again after the overflow")
        #expect(source.stopped)
    }

    @Test("an overflow later reports present outlines changed and vanished ones removed, then scanCompleted")
    func overflowRescan() async throws {
        let inbox = try TemporaryFolder()
        defer { inbox.remove() }
        try Disk.write(inbox("kept.md"), "# Kept")
        try Disk.write(inbox("gone.md"), "# Gone")
        let source = ScriptedSource()
        let log = LogRecorder()

        try await withRunningWatcher(watcher(inbox, source, log: log), clock: clock) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted).count == 3)
            // Changes whose events the overflow lost.
            try Disk.unlink(inbox("gone.md"))
            try Disk.write(inbox("new.md"), "# New")
            source.inject(.overflow)
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(
                Set(events.dropLast()) == [
                    .changed(InboxFile(path: inbox("kept.md"), relativePath: "kept.md")),
                    .changed(InboxFile(path: inbox("new.md"), relativePath: "new.md")),
                    .removed(InboxFile(path: inbox("gone.md"), relativePath: "gone.md")),
                ]
            )
            #expect(events.count == 4)
        }
        #expect(log.all.contains { $0.level == .warning && $0.message.contains("overflowed") })
    }

    @Test("a full inotify watch table ends the iteration with an error that names the sysctl to raise")
    func watchLimit() async throws {
        let inbox = try TemporaryFolder()
        defer { inbox.remove() }
        try Disk.mkdir(inbox("team"))
        let source = ScriptedSource(failures: [inbox("team"): .watchLimitReached(path: inbox("team"), limit: 8192)])

        await #expect {
            for try await _ in watcher(inbox, source) {}
        } throws: { error in
            let error = try #require(error as? WatcherError)
            return error.code == .watchLimitReached
                && error.message.contains("cannot watch \(inbox("team"))")
                && error.message.contains("(8192)")
                && error.message.contains("sysctl fs.inotify.max_user_watches=")
        }
        #expect(source.stopped)
    }
}
