import Foundation
import Glibc
import TestSupport
import Testing

@testable import Watcher

/// The watcher in poll mode (no inotify at all) against real files: the save patterns the inotify tests replay,
/// seen only by periodic scans, each reported exactly once; touches, chmods and identical rewrites not at all.
///
/// The scans and the debounce run on a manual clock that moves only while the test waits for the watcher (see
/// `EventQueue`): a save is always complete before a scan looks, and a starved machine makes a test slower, never
/// different. These use no global state (no libinotifytools), so they run in parallel with the rest.
@Suite("Periodic scan (poll mode) on real files", .timeLimit(.minutes(10 * TestTime.factor)))
struct PollingWatcherTests {
    static let debounce = Duration.milliseconds(150)
    static let pollInterval = Duration.milliseconds(50)

    let inbox: TemporaryFolder
    let log = LogRecorder()
    let clock = ManualClock()

    init() throws {
        inbox = try TemporaryFolder()
    }

    func watcher(_ path: String? = nil, excluded: [String] = []) -> InboxWatcher {
        InboxWatcher(
            inbox: path ?? inbox.path,
            configuration: WatcherConfiguration(
                debounce: Self.debounce,
                excludedPaths: excluded,
                mode: .poll,
                pollInterval: Self.pollInterval
            ),
            logger: log.logger(),
            clock: clock
        ) { _, _ in
            Issue.record("poll mode asked for an inotify source")
            return ScriptedSource()
        }
    }

    func file(_ relativePath: String) -> InboxFile {
        InboxFile(path: inbox(relativePath), relativePath: relativePath)
    }

    /// Watches the inbox, whose outlines are `outlines` (name: content) at start, and runs `body` once the
    /// startup scan has reported them.
    /// - Parameter savedLongAgo: whether to date the outlines an hour back, so that no scan reads them again
    ///   as written in the same timestamp tick as they were read ("racily clean").
    func watching(
        _ outlines: [String: String] = [:],
        savedLongAgo: Bool = false,
        _ body: (EventQueue) async throws -> Void
    ) async throws {
        defer { inbox.remove() }
        for (name, content) in outlines {
            try Disk.write(inbox(name), content)
            if savedLongAgo { try Disk.backdate(inbox(name)) }
        }
        try await withRunningWatcher(watcher(), clock: clock) { queue in
            let startup = try await queue.collect(until: \.isScanCompleted)
            #expect(Set(startup.dropLast()) == Set(outlines.keys.map { .changed(file($0)) }))
            #expect(startup.count == outlines.count + 1)
            try await body(queue)
        }
    }

    func expectChanged(_ queue: EventQueue, _ relativePath: String, content: String) async throws {
        let event = try await queue.next()
        #expect(event == .changed(file(relativePath)))
        if event == .changed(file(relativePath)) { #expect(try Disk.read(inbox(relativePath)) == content) }
    }

    /// Expects that nothing else was reported: saves a sentinel outline, whose name sorts last, and expects its
    /// report next. Anything saved before it is seen by the same scan or an earlier one, settles no later, and is
    /// reported first (reports due together go in path order).
    func expectNothingElse(_ queue: EventQueue) async throws {
        let name = "zz-sentinel-\(UUID().uuidString).md"
        try Disk.write(inbox(name), "sentinel")
        #expect(try await queue.next() == .changed(file(name)))
    }

    /// Lets the watcher run until a look found `relativePath` unchanged (it was read and compared, not missed).
    /// Only for an outline saved long ago: otherwise the first scans read it again anyway.
    func expectLookedAtAndUnchanged(_ queue: EventQueue, _ relativePath: String) async {
        await queue.advance { log.all.contains { $0.message == "outline content unchanged; not reported" } }
        let unchanged = log.all.filter { $0.message == "outline content unchanged; not reported" }
        #expect(unchanged.allSatisfy { $0.metadata["path"] == inbox(relativePath) })
    }

    // MARK: - Saves: exactly one report each

    /// An editor's or tool's save of `a.md` (which holds "# Old"), replayed with its system calls, and the
    /// content it leaves.
    struct Save: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let content: String
        let replay: @Sendable (TemporaryFolder) throws -> Void
    }

    static let chunk = String(repeating: "line of an outline\n", count: 3_500)

    static let saves: [Save] = [
        Save(testDescription: "vim (4913 probe, rename to name~, write anew, delete backup)", content: "# New\n") {
            inbox in
            try Disk.write(inbox(".a.md.swp"), "swap")
            try Disk.open(inbox("4913"), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW).close()
            try Disk.unlink(inbox("4913"))
            try Disk.rename(inbox("a.md"), inbox("a.md~"))
            let file = try Disk.open(inbox("a.md"))
            try file.write("# New\n")
            fsync(file.descriptor)
            try file.close()
            try Disk.unlink(inbox("a.md~"))
            try Disk.unlink(inbox(".a.md.swp"))
        },
        Save(testDescription: "vim with backupcopy=yes (copy, rewrite in place)", content: "# New\nmore\n") { inbox in
            try Disk.write(inbox("a.md~"), "# Old")
            try Disk.write(inbox("a.md"), "# New\n", "more\n")
            try Disk.unlink(inbox("a.md~"))
        },
        Save(testDescription: "emacs (lock link, #auto-save#, rename to name~, write anew)", content: "# New\n") {
            inbox in
            try Disk.symlink("author@host.4242:1700000000", at: inbox(".#a.md"))
            try Disk.write(inbox("#a.md#"), "# Auto-saved")
            try Disk.rename(inbox("a.md"), inbox("a.md~"))
            try Disk.write(inbox("a.md"), "# New\n")
            try Disk.unlink(inbox("#a.md#"))
            try Disk.unlink(inbox(".#a.md"))
        },
        Save(testDescription: "VS Code and cp (in place, in 64 KiB chunks)", content: "# New\n" + chunk + chunk + chunk)
        {
            inbox in
            try Disk.write(inbox("a.md"), "# New\n", chunk, chunk, chunk)
        },
        Save(testDescription: "shell > then >> twice", content: "# New\n## One\n## Two\n") { inbox in
            try Disk.write(inbox("a.md"), "# New\n")
            try Disk.write(inbox("a.md"), "## One\n", flags: O_WRONLY | O_APPEND)
            try Disk.write(inbox("a.md"), "## Two\n", flags: O_WRONLY | O_APPEND)
        },
        Save(testDescription: "JetBrains (temporary, old copy, rename)", content: "# New\n") { inbox in
            try Disk.write(inbox("a.md___jb_tmp___"), "# New\n")
            try Disk.rename(inbox("a.md"), inbox("a.md___jb_old___"))
            try Disk.rename(inbox("a.md___jb_tmp___"), inbox("a.md"))
            try Disk.unlink(inbox("a.md___jb_old___"))
        },
        Save(testDescription: "sed -i, os.replace, rsync (temporary renamed onto it)", content: "# New\n") { inbox in
            try Disk.write(inbox(".a.md.Xy12Zq"), "# New\n")
            try Disk.rename(inbox(".a.md.Xy12Zq"), inbox("a.md"))
        },
        Save(testDescription: "git checkout (delete, create anew)", content: "# Checked out\n") { inbox in
            try Disk.unlink(inbox("a.md"))
            try Disk.write(inbox("a.md"), "# Checked out\n", flags: O_WRONLY | O_CREAT | O_EXCL)
        },
        Save(testDescription: "the real cp", content: "# Copied\n") { inbox in
            let outside = inbox(".outside.txt")
            try Disk.write(outside, "# Copied\n")
            let copy = Process()
            copy.executableURL = URL(fileURLWithPath: "/bin/cp")
            copy.arguments = [outside, inbox("a.md")]
            try copy.run()
            copy.waitUntilExit()
            try Disk.unlink(outside)
        },
    ]

    @Test("each save is reported exactly once, with its final content", arguments: saves)
    func save(_ save: Save) async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try save.replay(inbox)
            try await expectChanged(queue, "a.md", content: save.content)
            try await expectNothingElse(queue)
        }
    }

    @Test("two saves one after the other are two reports")
    func twoSaves() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.write(inbox("a.md"), "# One\n")
            try await expectChanged(queue, "a.md", content: "# One\n")
            try Disk.write(inbox("a.md"), "# Two\n")
            try await expectChanged(queue, "a.md", content: "# Two\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("a file written in chunks while scans run is reported once, when the writer has finished")
    func writtenWhileScanned() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            let file = try Disk.open(inbox("a.md"))
            var expected = ""
            for index in 0..<8 {
                let line = "line \(index)\n"
                try file.write(line)
                expected += line
                // The scenario: a writer slower than the scans (one runs after each line), never pausing as long
                // as the debounce.
                await queue.step()
            }
            try file.close()
            try await expectChanged(queue, "a.md", content: expected)
            try await expectNothingElse(queue)
        }
    }

    // MARK: - Not saves: nothing reported

    @Test(
        "a touch, a chmod, an identical rewrite in place or by rename are read, compared and not reported",
        arguments: ["touch", "chmod", "rewrite", "rename"]
    )
    func unchangedContent(operation: String) async throws {
        try await watching(["a.md": "# Same\n"], savedLongAgo: true) { queue in
            switch operation {
            case "touch": #expect(utimensat(AT_FDCWD, inbox("a.md"), nil, 0) == 0)
            case "chmod": #expect(chmod(inbox("a.md"), 0o600) == 0)
            case "rewrite": try Disk.write(inbox("a.md"), "# Same\n")
            default:
                try Disk.write(inbox(".a.md.tmp"), "# Same\n")
                try Disk.rename(inbox(".a.md.tmp"), inbox("a.md"))
            }
            await expectLookedAtAndUnchanged(queue, "a.md")
            try await expectNothingElse(queue)
        }
    }

    @Test("a scan of 500 unchanged outlines reads none of them")
    func manyUnchangedOutlines() async throws {
        defer { inbox.remove() }
        for name in (0..<500).map({ "outline-\($0).md" }) {
            try Disk.write(inbox(name), "# \(name)\n")
            // Saved long ago, as most outlines are: none is "racily clean" and read again by the first scans.
            try Disk.backdate(inbox(name))
        }
        try await withRunningWatcher(watcher(), clock: clock) { queue in
            let startup = try await queue.collect(until: \.isScanCompleted)
            #expect(startup.count == 501)
            let recordsAtStart = log.all.count
            let scansAtStart = log.all.filter { $0.message == "inbox scanned" }.count
            await queue.advance { log.all.filter { $0.message == "inbox scanned" }.count >= scansAtStart + 3 }
            let since = log.all.dropFirst(recordsAtStart)
            #expect(!since.contains { $0.message == "outlines read to compare their content" })
            #expect(since.filter { $0.message == "inbox scanned" }.allSatisfy { $0.metadata["outlines"] == "500" })
            #expect(since.filter { $0.message == "inbox scanned" }.allSatisfy { $0.metadata["changed"] == "0" })
            try await expectNothingElse(queue)
        }
    }

    // MARK: - Files and folders

    @Test("a deleted outline is reported removed")
    func deletion() async throws {
        try await watching(["a.md": "# A"]) { queue in
            try Disk.unlink(inbox("a.md"))
            #expect(try await queue.next() == .removed(file("a.md")))
            try await expectNothingElse(queue)
        }
    }

    @Test("a renamed outline is reported removed under its old name and changed under the new one")
    func rename() async throws {
        try await watching(["a.md": "# A"]) { queue in
            try Disk.rename(inbox("a.md"), inbox("b.md"))
            #expect(
                Set([try await queue.next(), try await queue.next()]) == [
                    .removed(file("a.md")), .changed(file("b.md")),
                ]
            )
            try await expectNothingElse(queue)
        }
    }

    @Test("a new subfolder and the folders below it are picked up; a folder moved out is reported removed")
    func subfolders() async throws {
        let outside = try TemporaryFolder()
        defer { outside.remove() }
        try await watching { queue in
            try Disk.mkdir(inbox("team"))
            try Disk.write(inbox("team/a.md"), "# A")
            try Disk.mkdir(inbox("team/deep"))
            try Disk.write(inbox("team/deep/b.md"), "# B")
            #expect(
                Set([try await queue.next(), try await queue.next()])
                    == [.changed(file("team/a.md")), .changed(file("team/deep/b.md"))]
            )
            try await expectNothingElse(queue)

            try Disk.write(inbox("team/deep/b.md"), "# B2")
            try await expectChanged(queue, "team/deep/b.md", content: "# B2")

            try Disk.rename(inbox("team"), outside("team"))
            #expect(
                Set([try await queue.next(), try await queue.next()])
                    == [.removed(file("team/a.md")), .removed(file("team/deep/b.md"))]
            )
            try await expectNothingElse(queue)
        }
    }

    @Test("hidden files, temporaries, other extensions, hidden and excluded folders are never reported")
    func notOutlines() async throws {
        defer { inbox.remove() }
        try Disk.mkdir(inbox("out"))
        try await withRunningWatcher(watcher(excluded: [inbox("out")]), clock: clock) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted) == [.scanCompleted])
            for name in [".hidden.md", "a.md~", "#a.md#", "a.md.tmp", "notes.txt", "4913", "out/x.md"] {
                try Disk.write(inbox(name), "x")
            }
            try Disk.mkdir(inbox(".git"))
            try Disk.write(inbox(".git/x.md"), "x")
            try await expectNothingElse(queue)
        }
    }

    @Test("a symlink leading outside the inbox is refused with one warning, not one per scan")
    func symlinkOutside() async throws {
        try await watching(["a.md": "# A"]) { queue in
            try Disk.symlink("/etc/passwd", at: inbox("evil.md"))
            try Disk.symlink("a.md", at: inbox("alias.md"))
            #expect(try await queue.next() == .changed(file("alias.md")))
            let scans = log.all.filter { $0.message == "inbox scanned" }.count
            await queue.advance { log.all.filter { $0.message == "inbox scanned" }.count >= scans + 3 }
            try await expectNothingElse(queue)
        }
        #expect(log.all.filter { $0.message == "ignoring symlink that points outside the inbox" }.count == 1)
    }

    @Test("the inbox deleted and made again is waited for and rescanned")
    func inboxDeletedAndRecreated() async throws {
        try await watching(["a.md": "# A"]) { queue in
            try Disk.removeTree(inbox.path)
            #expect(try await queue.next() == .removed(file("a.md")))
            try Disk.mkdir(inbox.path)
            try Disk.write(inbox("b.md"), "# B")
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(file("b.md")), .scanCompleted])
            try Disk.write(inbox("b.md"), "# B2")
            try await expectChanged(queue, "b.md", content: "# B2")
            try await expectNothingElse(queue)
        }
    }

    @Test("poll mode says so at start and, on a local file system, warns about nothing")
    func startLog() async throws {
        try await watching(["a.md": "# A"]) { _ in }
        let start = try #require(log.all.first { $0.message == "watching the inbox" })
        #expect(start.metadata["mode"] == "poll")
        #expect(start.metadata["periodic_scan"] == "every \(Self.pollInterval)")
        #expect(!log.all.contains { $0.level >= .warning })
    }
}

extension LogRecorder {
    /// Waits until `message` has been logged `count` times in all (an event, with no deadline of its own: the
    /// suite's time limit is the safety net).
    /// - Returns: whether it was; false if the waiting task was cancelled first.
    @discardableResult
    func waitFor(count: Int, of message: String) async -> Bool {
        await waitUntil { records in records.filter { $0.message == message }.count >= count }
    }

    /// Waits until a record matching `isWanted` has been logged (an event, with no deadline of its own).
    /// - Returns: whether one was; false if the waiting task was cancelled first.
    @discardableResult
    func waitFor(_ isWanted: @escaping @Sendable (Record) -> Bool) async -> Bool {
        await waitUntil { records in records.contains(where: isWanted) }
    }

    /// Waits until `condition` holds for everything logged so far, checking it after each new record.
    private func waitUntil(_ condition: @escaping @Sendable ([Record]) -> Bool) async -> Bool {
        if condition(all) { return true }
        for await _ in messages where condition(all) { return true }
        return false
    }
}
