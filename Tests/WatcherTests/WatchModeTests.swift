import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import Watcher

/// What the watch mode and the inbox's file system decide, over real files, with inotify replaced by a scripted
/// source that delivers no events (as inotify on a share does for saves made on other machines) and the file
/// system type injected. Watchers that scan run on a manual clock, moved while the test waits (see `EventQueue`).
@Suite("Watch modes and network file systems", .timeLimit(.minutes(10 * TestTime.factor)))
struct WatchModeTests {
    static let nfs = FileSystemType.classify(magic: 0x6969)
    static let ext4 = FileSystemType.classify(magic: 0xEF53)
    static let networkWarning =
        "the inbox is on a network file system, where inotify misses saves made on other machines; "
        + "it is also scanned periodically"

    let inbox: TemporaryFolder
    let log = LogRecorder()
    let clock = ManualClock()

    init() throws {
        inbox = try TemporaryFolder()
    }

    func configuration(_ mode: WatchMode) -> WatcherConfiguration {
        WatcherConfiguration(debounce: .milliseconds(50), mode: mode, pollInterval: .milliseconds(50))
    }

    /// File system types to hand out, one per check, the last one repeated.
    static func fileSystems(_ types: [FileSystemType]) -> @Sendable (String) -> Result<FileSystemType, Errno> {
        let remaining = Locked(types)
        return { _ in
            .success(remaining.withLockedValue { types in types.count > 1 ? types.removeFirst() : types[0] })
        }
    }

    func watcher(
        _ mode: WatchMode,
        source: ScriptedSource = ScriptedSource(),
        fileSystems: [FileSystemType]
    ) -> InboxWatcher {
        InboxWatcher(
            inbox: inbox.path,
            configuration: configuration(mode),
            logger: log.logger(),
            fileSystemOf: Self.fileSystems(fileSystems),
            clock: clock
        ) { _, _ in source }
    }

    func file(_ relativePath: String) -> InboxFile {
        InboxFile(path: inbox(relativePath), relativePath: relativePath)
    }

    /// A session driven directly, on the real clock (its startup reports wait for the debounce), until its
    /// startup scan is complete.
    func startedSession(_ mode: WatchMode, fileSystem: FileSystemType) async throws -> WatchSession<ContinuousClock> {
        let session = WatchSession(
            inbox: inbox.path,
            configuration: configuration(mode),
            excludedPaths: [],
            logger: log.logger(),
            source: mode.usesInotify ? ScriptedSource() : nil,
            fileSystemOf: Self.fileSystems([fileSystem]),
            clock: ContinuousClock()
        )
        var events: [WatchEvent] = []
        while let event = try await session.next() {
            events.append(event)
            if event == .scanCompleted { break }
        }
        #expect(events == [.changed(file("a.md")), .scanCompleted])
        return session
    }

    @Test("auto on a local file system: inotify only, and an idle session has no timer at all")
    func autoLocalIsIdle() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let session = try await startedSession(.auto, fileSystem: Self.ext4)
        #expect(!session.scansPeriodically)
        #expect(session.nextWakeUp == nil)
        #expect(!log.all.contains { $0.level >= .warning })
    }

    @Test("poll mode: the periodic scan is the only timer of an idle session")
    func pollHasOnlyTheScanTimer() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let session = try await startedSession(.poll, fileSystem: Self.ext4)
        #expect(session.scansPeriodically)
        let wakeUp = try #require(session.nextWakeUp)
        #expect(wakeUp == session.nextScanDue)
    }

    @Test("auto on a network file system warns once, scans, and reports a save inotify never saw")
    func autoOnNetworkShare() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let source = ScriptedSource()
        try await withRunningWatcher(watcher(.auto, source: source, fileSystems: [Self.nfs]), clock: clock) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(file("a.md")), .scanCompleted])
            // Saved "on another machine": the scripted source delivers no event, only a scan can see it.
            try Disk.write(inbox("a.md"), "# A2")
            #expect(try await queue.next() == .changed(file("a.md")))
            // A folder made elsewhere is scanned, and watched for saves made here.
            try Disk.mkdir(inbox("team"))
            try Disk.write(inbox("team/b.md"), "# B")
            #expect(try await queue.next() == .changed(file("team/b.md")))
            #expect(source.watched.contains(inbox("team")))

            // The share goes away and comes back: the same type is not warned about again.
            try Disk.removeTree(inbox.path)
            #expect(
                Set([try await queue.next(), try await queue.next()])
                    == [.removed(file("a.md")), .removed(file("team/b.md"))]
            )
            let replacement = try TemporaryFolder()
            defer { replacement.remove() }
            try Disk.write(replacement("c.md"), "# C")
            try Disk.rename(replacement.path, inbox.path)
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(file("c.md")), .scanCompleted])
        }
        let warnings = log.all.filter { $0.level == .warning }
        #expect(warnings.map(\.message) == [Self.networkWarning])
        #expect(warnings.first?.metadata["filesystem"] == "nfs/nfs4")
        #expect(warnings.first?.metadata["inbox"] == inbox.path)
        let start = try #require(log.all.first { $0.message == "watching the inbox" })
        #expect(start.metadata["filesystem"] == "nfs/nfs4")
        #expect(start.metadata["periodic_scan"] == "every \(Duration.milliseconds(50))")
    }

    @Test("inotify mode on a network file system warns that saves made elsewhere are missed, and never scans")
    func inotifyOnNetworkShare() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let session = try await startedSession(.inotify, fileSystem: Self.nfs)
        #expect(!session.scansPeriodically)
        #expect(session.nextWakeUp == nil)
        let warning = try #require(log.all.first { $0.level == .warning })
        #expect(warning.message.contains("watch mode inotify does not scan it"))
        #expect(warning.metadata["filesystem"] == "nfs/nfs4")
    }

    @Test("an unknown file system in auto mode is taken as local, and the log says how to poll")
    func unknownFileSystem() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let session = try await startedSession(.auto, fileSystem: .classify(magic: 0x1234_5678))
        #expect(!session.scansPeriodically)
        let notice = try #require(log.all.first { $0.level == .notice && $0.message.contains("unknown") })
        #expect(notice.metadata["magic"] == "0x12345678")
        #expect(notice.message.contains("choose watch mode poll"))
    }

    @Test("a share unmounted to a local mount point is still scanned, so that its return is noticed")
    func shareUnmountedStillScanned() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        try await withRunningWatcher(watcher(.auto, fileSystems: [Self.nfs, Self.ext4]), clock: clock) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(file("a.md")), .scanCompleted])
            // Another folder at the inbox's path (as after an unmount): rescanned, and on ext4 now.
            let elsewhere = try TemporaryFolder()
            defer { elsewhere.remove() }
            try Disk.mkdir(elsewhere("new"))
            try Disk.write(elsewhere("new/b.md"), "# B")
            try Disk.rename(inbox.path, elsewhere("old"))
            try Disk.rename(elsewhere("new"), inbox.path)
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(Set(events) == [.removed(file("a.md")), .changed(file("b.md")), .scanCompleted])
            // Still scanned: a save no event reports is seen.
            try Disk.write(inbox("b.md"), "# B2")
            #expect(try await queue.next() == .changed(file("b.md")))
        }
        let change = try #require(log.all.first { $0.message == "the inbox's file system changed" })
        #expect(change.metadata["from"] == "nfs/nfs4")
        #expect(change.metadata["to"] == "ext4/ext3/ext2")
        #expect(change.metadata["periodic_scan"] == "every \(Duration.milliseconds(50))")
    }

    @Test("a file system that cannot be found out is warned about, and the mode stays as it was")
    func fileSystemUnknowable() async throws {
        defer { inbox.remove() }
        try Disk.write(inbox("a.md"), "# A")
        let session = WatchSession(
            inbox: inbox.path,
            configuration: configuration(.auto),
            excludedPaths: [],
            logger: log.logger(),
            source: ScriptedSource(),
            fileSystemOf: { _ in .failure(.permissionDenied) },
            clock: ContinuousClock()
        )
        #expect(try await session.next() == .changed(file("a.md")))
        #expect(!session.scansPeriodically)
        let warning = try #require(log.all.first { $0.level == .warning })
        #expect(warning.message == "cannot find out the inbox's file system; keeping the watch mode as it was")
        #expect(warning.metadata["error"] == "\(Errno.permissionDenied)")
    }
}
