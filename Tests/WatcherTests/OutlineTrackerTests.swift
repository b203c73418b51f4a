import Logging
import TestSupport
import Testing

@testable import Watcher

/// The event logic driven with injected raw events, instants and disk contents: no inotify, no sleeping.
@Suite("Event logic: debounce, filtering, renames, folders, overflow")
struct OutlineTrackerTests {
    typealias Instant = ContinuousClock.Instant
    static let inbox = "/srv/inbox"

    let start = ContinuousClock.now
    let log = LogRecorder()
    var tracker: OutlineTracker<Instant>
    /// What each absolute path is on the pretend disk; absent means missing.
    var disk: [String: InboxEntry] = [:]

    init() {
        tracker = OutlineTracker(
            inbox: Self.inbox,
            filter: InboxFilter(extensions: ["md", "yaml"], excludedRelativePaths: ["out"]),
            debounce: .milliseconds(300),
            maximumDelay: .seconds(5),
            logger: log.logger()
        )
        tracker.beginFullScan(at: start)
        tracker.endFullScan()
        #expect(take(at: 0) == [.scanCompleted])
    }

    func at(_ milliseconds: Int) -> Instant { start + .milliseconds(milliseconds) }

    static func file(_ relativePath: String) -> InboxFile {
        InboxFile(path: inbox + "/" + relativePath, relativePath: relativePath)
    }

    @discardableResult
    mutating func send(_ mask: EventMask, _ name: String, in folder: String = "", at milliseconds: Int)
        -> [OutlineTracker<Instant>.FolderAction]
    {
        let absolute = folder.isEmpty ? Self.inbox : Self.inbox + "/" + folder
        let disk = self.disk
        return tracker.handle(
            RawEvent(folder: absolute, name: name, mask: mask),
            at: at(milliseconds),
            inspect: { disk[$0] ?? .missing }
        )
    }

    mutating func take(at milliseconds: Int) -> [WatchEvent] {
        let disk = self.disk
        return tracker.takeEvents(at: at(milliseconds), inspect: { disk[$0] ?? .missing })
    }

    mutating func put(_ relativePath: String, _ entry: InboxEntry = .file) {
        disk[Self.inbox + "/" + relativePath] = entry
    }

    mutating func delete(_ relativePath: String) {
        disk[Self.inbox + "/" + relativePath] = nil
    }

    @Test("a close is reported once the debounce has passed since the last event, not before")
    mutating func debounce() {
        put("a.md")
        send(.closeWrite, "a.md", at: 0)
        send(.closeWrite, "a.md", at: 200)
        #expect(tracker.nextDeadline == at(500))
        #expect(take(at: 499) == [])
        #expect(take(at: 500) == [.changed(Self.file("a.md"))])
        #expect(tracker.nextDeadline == nil)
    }

    @Test("a file rewritten nonstop is still reported after the maximum delay")
    mutating func maximumDelay() {
        put("a.md")
        var reports: [Int] = []
        for milliseconds in stride(from: 0, through: 6_000, by: 100) {
            if take(at: milliseconds) != [] { reports.append(milliseconds) }
            send(.closeWrite, "a.md", at: milliseconds)
        }
        #expect(reports == [5_000])
    }

    @Test("IN_MODIFY alone reports nothing; a write in progress holds the report until its close")
    mutating func writeInProgress() {
        put("a.md")
        send(.modify, "a.md", at: 0)
        #expect(tracker.nextDeadline == nil)
        #expect(take(at: 3_000) == [])
        send(.closeWrite, "a.md", at: 3_000)
        send(.modify, "a.md", at: 3_100)  // rewritten again before the debounce ended: wait for that close too
        #expect(take(at: 4_000) == [])
        send(.closeWrite, "a.md", at: 4_000)
        #expect(take(at: 4_299) == [])
        #expect(take(at: 4_300) == [.changed(Self.file("a.md"))])
    }

    @Test("a write still open when the maximum delay passes is reported as soon as it is closed")
    mutating func longWrite() {
        put("a.md")
        send(.modify, "a.md", at: 0)
        #expect(take(at: 8_000) == [])
        send(.closeWrite, "a.md", at: 8_000)
        #expect(take(at: 8_000) == [.changed(Self.file("a.md"))])
    }

    @Test("a new regular file waits for its close; a new symlink, which gets none, is reported after the debounce")
    mutating func creation() {
        put("new.md")
        send(.create, "new.md", at: 0)
        #expect(take(at: 1_000) == [])
        put("link.md", .linkToFile)
        send(.create, "link.md", at: 1_000)
        #expect(take(at: 1_300) == [.changed(Self.file("link.md"))])
    }

    @Test("vim's save (4913 probe, backup rename, new file, backup deleted) reports one change and no removal")
    mutating func vimSave() {
        put("a.md")
        send(.closeWrite, "a.md", at: 0)
        #expect(take(at: 300) == [.changed(Self.file("a.md"))])
        for (mask, name) in [
            (EventMask.create, "4913"), (.closeWrite, "4913"), (.delete, "4913"), (.movedFrom, "a.md"),
            (.movedTo, "a.md~"), (.create, "a.md"), (.modify, "a.md"), (.closeWrite, "a.md"), (.delete, "a.md~"),
            (.modify, ".a.md.swp"),
        ] {
            send(mask, name, at: 1_000)
        }
        #expect(take(at: 1_300) == [.changed(Self.file("a.md"))])
        #expect(tracker.nextDeadline == nil)
    }

    @Test("a deleted outline is reported removed once; one never reported is not")
    mutating func deletion() {
        put("a.md")
        send(.closeWrite, "a.md", at: 0)
        #expect(take(at: 300) == [.changed(Self.file("a.md"))])
        delete("a.md")
        send(.delete, "a.md", at: 1_000)
        #expect(take(at: 1_300) == [.removed(Self.file("a.md"))])
        send(.create, "b.md", at: 2_000)
        send(.delete, "b.md", at: 2_001)
        #expect(take(at: 3_000) == [])
    }

    @Test("a rename reports the old name removed and the new one changed")
    mutating func rename() {
        put("a.md")
        send(.closeWrite, "a.md", at: 0)
        _ = take(at: 300)
        delete("a.md")
        put("b.md")
        send(.movedFrom, "a.md", at: 1_000)
        send(.movedTo, "b.md", at: 1_000)
        #expect(Set(take(at: 1_300)) == [.removed(Self.file("a.md")), .changed(Self.file("b.md"))])
    }

    @Test("a symlink leading outside the inbox is never reported and is logged as a warning")
    mutating func symlinkOutside() {
        put("evil.md", .linkOutsideInbox(target: "/etc/passwd"))
        send(.create, "evil.md", at: 0)
        #expect(take(at: 300) == [])
        let warning = log.all.first { $0.message == "ignoring symlink that points outside the inbox" }
        #expect(warning?.level == .warning)
        #expect(warning?.metadata["path"] == Self.inbox + "/evil.md")
        #expect(warning?.metadata["target"] == "/etc/passwd")
    }

    @Test("a new subfolder is watched and scanned; hidden and excluded ones are not")
    mutating func newFolders() {
        #expect(send([.create, .isDirectory], "team-a", at: 0) == [.watchAndScan("team-a")])
        #expect(send([.movedTo, .isDirectory], "deep", in: "team-a", at: 0) == [.watchAndScan("team-a/deep")])
        #expect(send([.create, .isDirectory], ".git", at: 0) == [])
        #expect(send([.create, .isDirectory], "out", at: 0) == [])
        #expect(send(.closeWrite, "x.md", in: "out", at: 0) == [])
        #expect(tracker.nextDeadline == nil)
    }

    @Test("a folder moved away is unwatched and its outlines are reported removed")
    mutating func folderMovedAway() {
        put("team-a/a.md")
        put("team-a/deep/b.md")
        put("team-b.md")
        tracker.found("team-a/a.md", at: at(0))
        tracker.found("team-a/deep/b.md", at: at(0))
        tracker.found("team-b.md", at: at(0))
        #expect(take(at: 300).count == 3)
        delete("team-a/a.md")
        delete("team-a/deep/b.md")
        #expect(send([.movedFrom, .isDirectory], "team-a", at: 1_000) == [.unwatch("team-a")])
        #expect(
            Set(take(at: 1_300)) == [.removed(Self.file("team-a/a.md")), .removed(Self.file("team-a/deep/b.md"))]
        )
    }

    @Test("an overflow (watch descriptor -1) logs a warning and asks for a rescan that reports every change")
    mutating func overflow() {
        put("kept.md")
        put("gone.md")
        tracker.found("kept.md", at: at(0))
        tracker.found("gone.md", at: at(0))
        _ = take(at: 300)
        #expect(tracker.handle(.overflow, at: at(1_000), inspect: { _ in .missing }) == [.rescan])
        #expect(log.all.contains { $0.level == .warning && $0.message.contains("overflowed") })

        delete("gone.md")
        put("new.md")
        tracker.beginFullScan(at: at(1_000))
        tracker.found("kept.md", at: at(1_000))
        tracker.found("new.md", at: at(1_000))
        tracker.endFullScan()
        let events = take(at: 1_300)
        #expect(events.last == .scanCompleted)
        #expect(
            Set(events.dropLast())
                == [.changed(Self.file("kept.md")), .changed(Self.file("new.md")), .removed(Self.file("gone.md"))]
        )
    }

    @Test("scanCompleted follows the last file found; a file still being written does not hold it back")
    mutating func scanCompleted() {
        put("a.md")
        put("b.md")
        tracker.beginFullScan(at: at(0))
        tracker.found("a.md", at: at(0))
        tracker.found("b.md", at: at(100))
        send(.modify, "b.md", at: 150)
        tracker.endFullScan()
        #expect(take(at: 299) == [])
        #expect(take(at: 300) == [.changed(Self.file("a.md")), .scanCompleted])
        send(.closeWrite, "b.md", at: 1_000)
        #expect(take(at: 1_300) == [.changed(Self.file("b.md"))])
    }

    @Test("the inbox going away reports its outlines removed and ignores events until it is rescanned")
    mutating func inboxVanished() {
        put("a.md")
        tracker.found("a.md", at: at(0))
        _ = take(at: 300)
        delete("a.md")
        #expect(send(.moveSelf, "", at: 1_000) == [.inboxVanished])
        #expect(send(.ignored, "", at: 1_000) == [])
        #expect(send(.closeWrite, "late.md", at: 1_000) == [])
        #expect(take(at: 1_300) == [.removed(Self.file("a.md"))])
        #expect(log.all.contains { $0.level == .error })
    }

    @Test("a periodic scan settles a path like an event: changed, then removed once gone")
    mutating func periodicScan() {
        put("a.md")
        tracker.scanNoticed("a.md", at: at(0))
        tracker.scanNoticed("notes.txt", at: at(0))
        #expect(tracker.duePaths(at: at(300)) == ["a.md"])
        #expect(take(at: 300) == [.changed(Self.file("a.md"))])
        delete("a.md")
        tracker.scanNoticed("a.md", at: at(1_000))
        #expect(take(at: 1_300) == [.removed(Self.file("a.md"))])
    }

    @Test("where content is compared, an unchanged file reports nothing and one still changing is looked at again")
    mutating func contentVerdicts() {
        put("a.md", .unchangedFile)
        send(.closeWrite, "a.md", at: 0)
        #expect(take(at: 300) == [])
        #expect(tracker.nextDeadline == nil)
        put("a.md", .changingFile)
        send(.closeWrite, "a.md", at: 1_000)
        #expect(take(at: 1_300) == [])
        #expect(tracker.nextDeadline == at(1_600))
        put("a.md", .file)
        #expect(take(at: 1_600) == [.changed(Self.file("a.md"))])
    }

    @Test("a full scan does not wait for a file still changing, nor report an unchanged one")
    mutating func scanWithContentVerdicts() {
        put("a.md", .changingFile)
        put("b.md", .unchangedFile)
        tracker.beginFullScan(at: at(0))
        tracker.found("a.md", at: at(0))
        tracker.found("b.md", at: at(0))
        tracker.endFullScan()
        #expect(take(at: 300) == [.scanCompleted])
        put("a.md", .file)
        #expect(take(at: 600) == [.changed(Self.file("a.md"))])
    }

    @Test("checks for a missing inbox back off from 250 ms to at most 10 s")
    func inboxCheckBackoff() {
        let delays = (0..<10).map(WatchSession<ContinuousClock>.inboxCheckDelay(attempt:))
        #expect(
            delays.prefix(6) == [
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8),
            ]
        )
        #expect(delays.dropFirst(6).allSatisfy { $0 == .seconds(10) })
    }
}
