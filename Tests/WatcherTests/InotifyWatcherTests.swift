import Foundation
import Glibc
import TestSupport
import Testing

@testable import Watcher

/// The watcher against real files and real inotify. libinotifytools is one global instance, so these run one
/// at a time. Each editor or tool is replayed with the system calls it makes, in its order.
@Suite("Real inotify", .serialized, .timeLimit(.minutes(10 * TestTime.factor)))
struct InotifyWatcherTests {
    static let debounce = Duration.milliseconds(400)

    let inbox: TemporaryFolder
    let log = LogRecorder()

    init() throws {
        InboxWatcher.prepare()
        inbox = try TemporaryFolder()
    }

    func watcher(
        _ path: String? = nil,
        excluded: [String] = [],
        debounce: Duration = Self.debounce,
        maximumDelay: Duration = .seconds(5)
    ) -> InboxWatcher {
        InboxWatcher(
            inbox: path ?? inbox.path,
            configuration: WatcherConfiguration(
                debounce: debounce,
                maximumDelay: maximumDelay,
                excludedPaths: excluded
            ),
            logger: log.logger()
        )
    }

    func file(_ relativePath: String) -> InboxFile {
        InboxFile(path: inbox(relativePath), relativePath: relativePath)
    }

    /// Watches the inbox, whose outlines are `outlines` (name: content) at start, and runs `body` once the
    /// startup scan has reported them.
    func watching(
        _ outlines: [String: String] = [:],
        _ watcher: InboxWatcher? = nil,
        _ body: (EventQueue) async throws -> Void
    ) async throws {
        defer { inbox.remove() }
        for (name, content) in outlines { try Disk.write(inbox(name), content) }
        try await withRunningWatcher(watcher ?? self.watcher()) { queue in
            let startup = try await queue.collect(until: \.isScanCompleted)
            #expect(Set(startup.dropLast()) == Set(outlines.keys.map { .changed(file($0)) }))
            #expect(startup.count == outlines.count + 1)
            try await body(queue)
        }
    }

    /// Expects the next report to be `.changed(relativePath)`, with `content` readable at that moment.
    func expectChanged(_ queue: EventQueue, _ relativePath: String, content: String) async throws {
        let event = try await queue.next()
        #expect(event == .changed(file(relativePath)))
        if event == .changed(file(relativePath)) { #expect(try Disk.read(inbox(relativePath)) == content) }
    }

    /// Expects that nothing else was reported. Rather than waiting some multiple of the debounce, this saves a
    /// sentinel outline and expects its report next: every event caused earlier is ahead of the sentinel's in the
    /// inotify queue, and with the same debounce would be due no later, so any report it caused comes first.
    func expectNothingElse(_ queue: EventQueue) async throws {
        let name = "zz-sentinel-\(UUID().uuidString).md"
        try Disk.write(inbox(name), "sentinel")
        #expect(try await queue.next() == .changed(file(name)))
    }

    // MARK: - Startup

    @Test("startup reports outlines in subfolders and through inside symlinks, and refuses links leading outside")
    func startupScanReportsEverythingExpected() async throws {
        defer { inbox.remove() }
        try Disk.mkdir(inbox("team-a"))
        try Disk.mkdir(inbox("team-a/deep"))
        try Disk.mkdir(inbox(".git"))
        try Disk.mkdir(inbox("out"))
        try Disk.write(inbox("a.md"), "# A")
        for name in [
            "team-a/b.yaml", "team-a/deep/c.json", "notes.txt", ".hidden.md", "a.md~", "#a.md#", ".git/x.md",
            "out/x.md", "team-a/draft.md.tmp", "4913",
        ] {
            try Disk.write(inbox(name), "x")
        }
        try Disk.symlink("/etc/passwd", at: inbox("evil.md"))
        try Disk.symlink("a.md", at: inbox("alias.md"))

        try await withRunningWatcher(watcher(excluded: [inbox("out")])) { queue in
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(events.last == .scanCompleted)
            #expect(
                Set(events.dropLast()) == [
                    .changed(file("a.md")), .changed(file("alias.md")), .changed(file("team-a/b.yaml")),
                    .changed(file("team-a/deep/c.json")),
                ]
            )
            #expect(events.count == 5)
            try await expectNothingElse(queue)
        }
        #expect(
            log.all.contains {
                $0.message == "ignoring symlink that points outside the inbox"
                    && $0.metadata["path"] == inbox("evil.md")
            }
        )
    }

    @Test("an inbox reached through a symlink reports under the path given; excluded folders match resolved")
    func symlinkedInbox() async throws {
        defer { inbox.remove() }
        try Disk.mkdir(inbox("real"))
        try Disk.mkdir(inbox("real/out"))
        try Disk.write(inbox("real/a.md"), "# A")
        try Disk.write(inbox("real/out/published.md"), "# Published")
        try Disk.symlink(inbox("real"), at: inbox("link"))
        let linked = InboxFile(path: inbox("link/a.md"), relativePath: "a.md")

        try await withRunningWatcher(watcher(inbox("link"), excluded: [inbox("real/out")])) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(linked), .scanCompleted])
            try Disk.write(inbox("real/out/published.md"), "# Published again")
            try Disk.write(inbox("real/a.md"), "# A2")
            #expect(try await queue.next() == .changed(linked))
        }
    }

    @Test("a missing inbox is waited for, then scanned when it appears")
    func missingInboxAtStart() async throws {
        let parent = try TemporaryFolder()
        defer { parent.remove() }
        let path = parent("inbox")
        try await withRunningWatcher(watcher(path)) { queue in
            #expect(await log.waitFor(message: "the inbox does not exist; waiting for it to appear"))
            try Disk.mkdir(path)
            try Disk.write(path + "/a.md", "# A")
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(events == [.changed(InboxFile(path: path + "/a.md", relativePath: "a.md")), .scanCompleted])
        }
    }

    // MARK: - Editors and tools

    @Test("vim (swap file, 4913 probe, original renamed to name~, new file written, backup deleted): one change")
    func vim() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.write(inbox(".a.md.swp"), "swap")
            let probe = try Disk.open(inbox("4913"), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW)
            try probe.close()
            try Disk.unlink(inbox("4913"))
            try Disk.rename(inbox("a.md"), inbox("a.md~"))
            let file = try Disk.open(inbox("a.md"))
            try file.write("# New\n")
            fsync(file.descriptor)
            try file.close()
            try Disk.unlink(inbox("a.md~"))
            try Disk.write(inbox(".a.md.swp"), "swap 2")
            try Disk.unlink(inbox(".a.md.swp"))

            try await expectChanged(queue, "a.md", content: "# New\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("vim with backupcopy=yes (copy to name~, rewrite in place, delete the copy): one change")
    func vimBackupCopy() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            let probe = try Disk.open(inbox("4913"), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW)
            try probe.close()
            try Disk.unlink(inbox("4913"))
            try Disk.write(inbox("a.md~"), "# Old")
            try Disk.write(inbox("a.md"), "# New\n", "more\n")
            try Disk.unlink(inbox("a.md~"))

            try await expectChanged(queue, "a.md", content: "# New\nmore\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("emacs (lock symlink, #auto-save#, first save renames to name~ and writes anew): one change")
    func emacs() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.symlink("author@host.4242:1700000000", at: inbox(".#a.md"))
            try Disk.write(inbox("#a.md#"), "# Auto-saved")
            try Disk.rename(inbox("a.md"), inbox("a.md~"))
            try Disk.write(inbox("a.md"), "# New\n")
            try Disk.unlink(inbox("#a.md#"))
            try Disk.unlink(inbox(".#a.md"))

            try await expectChanged(queue, "a.md", content: "# New\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("VS Code and cp (truncate and write in place, in several chunks): one change")
    func inPlaceInChunks() async throws {
        let chunk = String(repeating: "line of an outline\n", count: 3_500)  // 64 KiB or so, as cp writes
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.write(inbox("a.md"), "# New\n", chunk, chunk, chunk)

            try await expectChanged(queue, "a.md", content: "# New\n" + chunk + chunk + chunk)
            try await expectNothingElse(queue)
        }
    }

    @Test("shell redirection, then appends (> then >> twice): one change with the final content")
    func redirectionAndAppends() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.write(inbox("a.md"), "# New\n")
            try Disk.write(inbox("a.md"), "## One\n", flags: O_WRONLY | O_APPEND)
            try Disk.write(inbox("a.md"), "## Two\n", flags: O_WRONLY | O_APPEND)

            try await expectChanged(queue, "a.md", content: "# New\n## One\n## Two\n")
            try await expectNothingElse(queue)
        }
    }

    @Test(
        "a temporary file renamed onto the outline (JetBrains, sed -i, perl -pi, os.replace, rsync): one change",
        arguments: [
            ("JetBrains", "a.md___jb_tmp___", "a.md___jb_old___"), ("sed -i", "sedAbC123", nil),
            ("perl -pi", "Xq3v9LkP", nil), ("os.replace", "a.md.tmp", nil), ("rsync", ".a.md.Xy12Zq", nil),
        ]
    )
    func temporaryAndRename(tool: String, temporary: String, oldCopy: String?) async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.write(inbox(temporary), "# New by \(tool)\n")
            if let oldCopy { try Disk.rename(inbox("a.md"), inbox(oldCopy)) }
            try Disk.rename(inbox(temporary), inbox("a.md"))
            if let oldCopy { try Disk.unlink(inbox(oldCopy)) }

            try await expectChanged(queue, "a.md", content: "# New by \(tool)\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("git checkout (delete, then create anew): one change and no removal")
    func gitCheckout() async throws {
        try await watching(["a.md": "# Old"]) { queue in
            try Disk.unlink(inbox("a.md"))
            try Disk.write(inbox("a.md"), "# Checked out\n", flags: O_WRONLY | O_CREAT | O_EXCL)

            try await expectChanged(queue, "a.md", content: "# Checked out\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("mv from outside the inbox: one change")
    func moveInFromOutside() async throws {
        let outside = try TemporaryFolder()
        defer { outside.remove() }
        try await watching { queue in
            try Disk.write(outside("new.md"), "# Moved in\n")
            try Disk.rename(outside("new.md"), inbox("new.md"))

            try await expectChanged(queue, "new.md", content: "# Moved in\n")
            try await expectNothingElse(queue)
        }
    }

    @Test(
        "a writer that pauses half-way before closing: one change, with the final content",
        arguments: [false, true]
    )
    func pausingWriter(fileExisted: Bool) async throws {
        try await watching(fileExisted ? ["a.md": "# Old"] : [:]) { queue in
            let file = try Disk.open(inbox("a.md"))
            try file.write("# First half\n")
            // The scenario itself, not a wait for the watcher: a pause well beyond the debounce.
            try await Task.sleep(for: Self.debounce * 3)
            try file.write("# Second half\n")
            try file.close()

            try await expectChanged(queue, "a.md", content: "# First half\n# Second half\n")
            try await expectNothingElse(queue)
        }
    }

    @Test("a file rewritten nonstop is still reported, after the maximum delay")
    func rewrittenNonstop() async throws {
        try await watching(["a.md": "# 0"], watcher(debounce: .seconds(1), maximumDelay: .seconds(2))) { queue in
            // Rewrites every 50 ms: never a quiet second, so only the maximum delay can report it.
            let writer = Task {
                var count = 0
                while !Task.isCancelled {
                    count += 1
                    try Disk.write(inbox("a.md"), "# \(count)")
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let event = try await queue.next()
            let stillWriting = !writer.isCancelled
            writer.cancel()
            _ = await writer.result
            #expect(event == .changed(file("a.md")))
            #expect(stillWriting)
        }
    }

    // MARK: - Folders, removals, renames

    @Test("a new subfolder is watched at once, and files created in it before its watch are found")
    func newSubfolder() async throws {
        try await watching { queue in
            try Disk.mkdir(inbox("team"))
            try Disk.write(inbox("team/a.md"), "# A")
            try Disk.mkdir(inbox("team/deep"))
            try Disk.write(inbox("team/deep/b.md"), "# B")

            let first = try await queue.next()
            let second = try await queue.next()
            #expect(Set([first, second]) == [.changed(file("team/a.md")), .changed(file("team/deep/b.md"))])
            try await expectNothingElse(queue)

            try Disk.write(inbox("team/deep/b.md"), "# B2")
            try await expectChanged(queue, "team/deep/b.md", content: "# B2")
        }
    }

    @Test("a folder moved in, renamed inside, then moved out is reported and watched under its current path")
    func movedFolder() async throws {
        let outside = try TemporaryFolder()
        defer { outside.remove() }
        try Disk.mkdir(outside("course"))
        try Disk.mkdir(outside("course/deep"))
        try Disk.write(outside("course/x.md"), "# X")
        try Disk.write(outside("course/deep/y.md"), "# Y")
        try await watching { queue in
            try Disk.rename(outside("course"), inbox("course"))
            #expect(
                Set([try await queue.next(), try await queue.next()])
                    == [.changed(file("course/x.md")), .changed(file("course/deep/y.md"))]
            )

            try Disk.rename(inbox("course"), inbox("renamed"))
            let renamed = Set([
                try await queue.next(), try await queue.next(), try await queue.next(), try await queue.next(),
            ])
            #expect(
                renamed == [
                    .removed(file("course/x.md")), .removed(file("course/deep/y.md")),
                    .changed(file("renamed/x.md")), .changed(file("renamed/deep/y.md")),
                ]
            )
            try await expectNothingElse(queue)

            try Disk.write(inbox("renamed/deep/y.md"), "# Y2")
            try await expectChanged(queue, "renamed/deep/y.md", content: "# Y2")

            try Disk.rename(inbox("renamed"), outside("gone"))
            #expect(
                Set([try await queue.next(), try await queue.next()])
                    == [.removed(file("renamed/x.md")), .removed(file("renamed/deep/y.md"))]
            )
            try Disk.write(outside("gone/deep/y.md"), "# Not watched any more")
            try await expectNothingElse(queue)
        }
    }

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

    @Test("a symlink to /etc/passwd is refused with a warning and never reported; one to an outline inside is")
    func symlinks() async throws {
        try await watching(["a.md": "# A"]) { queue in
            try Disk.symlink("/etc/passwd", at: inbox("evil.md"))
            try Disk.symlink("a.md", at: inbox("alias.md"))
            #expect(try await queue.next() == .changed(file("alias.md")))
            try await expectNothingElse(queue)
        }
        let warning = log.all.first { $0.message == "ignoring symlink that points outside the inbox" }
        #expect(warning?.level == .warning)
        #expect(warning?.metadata["path"] == inbox("evil.md"))
        #expect(warning?.metadata["target"] == "/etc/passwd")
    }

    @Test("an excluded folder and hidden folders are neither watched nor reported")
    func excludedAndHiddenFolders() async throws {
        try Disk.mkdir(inbox("out"))
        try await watching([:], watcher(excluded: [inbox("out")])) { queue in
            try Disk.write(inbox("out/chapter.md"), "# Published")
            try Disk.mkdir(inbox("out/course"))
            try Disk.write(inbox("out/course/01.md"), "# Published")
            try Disk.mkdir(inbox(".coursegen-staging"))
            try Disk.write(inbox(".coursegen-staging/01.md"), "# Staged")
            try await expectNothingElse(queue)
        }
    }

    @Test(
        "the inbox deleted (or moved away) and recreated is watched again and rescanned",
        arguments: [false, true]
    )
    func inboxDeletedAndRecreated(movedAway: Bool) async throws {
        let elsewhere = try TemporaryFolder()
        defer { elsewhere.remove() }
        try await watching(["a.md": "# A"]) { queue in
            if movedAway {
                try Disk.rename(inbox.path, elsewhere("moved-inbox"))
            } else {
                try Disk.removeTree(inbox.path)
            }
            #expect(try await queue.next() == .removed(file("a.md")))

            try Disk.mkdir(inbox.path)
            try Disk.write(inbox("b.md"), "# B")
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(events == [.changed(file("b.md")), .scanCompleted])

            try Disk.write(inbox("b.md"), "# B2")
            try await expectChanged(queue, "b.md", content: "# B2")
            try await expectNothingElse(queue)
        }
        #expect(log.all.contains { $0.level == .error && $0.message.contains("deleted, moved or unmounted") })
    }

    // MARK: - Lifecycle

    @Test("an idle watcher's thread is blocked in the kernel and uses no CPU")
    func idleThreadIsBlocked() async throws {
        try await watching(["a.md": "# A"]) { _ in
            let thread = try #require(ProcessThreads.find(named: InotifySource.threadName))
            let before = try #require(ProcessThreads.status(of: thread))
            // Long enough for a thread that polls or spins to show it (CPU time is counted in 10 ms ticks).
            try await Task.sleep(for: .seconds(1))
            let after = try #require(ProcessThreads.status(of: thread))
            #expect(before.state == "S" && after.state == "S")
            #expect(after.cpuTicks == before.cpuTicks)
        }
    }

    @Test("a second watcher in the same process fails clearly while the first one runs")
    func secondWatcherFails() async throws {
        let other = try TemporaryFolder()
        defer { other.remove() }
        try await watching { queue in
            await #expect {
                for try await _ in watcher(other.path) {}
            } throws: { error in
                let error = try #require(error as? WatcherError)
                return error.code == .alreadyWatching
                    && error.message.contains("another InboxWatcher is already iterating")
            }
            // The first one is unharmed.
            try await expectNothingElse(queue)
        }
    }

    @Test("a stopped watcher releases its thread, watches and control folder, and a new one can start")
    func stopReleasesEverything() async throws {
        let outside = try TemporaryFolder()
        defer { outside.remove() }
        var thread: Int?
        var controlFolders: Set<String> = []
        try await watching(["a.md": "# A"]) { queue in
            thread = ProcessThreads.find(named: InotifySource.threadName)
            #expect(thread != nil)
            #expect(ProcessThreads.kernelWatchCount() > 0)
            // This process's own: coursegen daemons that other tests run make theirs in the same folder.
            controlFolders = ProcessThreads.controlFolders().filter(ProcessThreads.isWatched)
            #expect(controlFolders.count == 1)
            let watchesAtRest = ProcessThreads.kernelWatchCount()
            // A folder deleted while watched: the kernel drops its watch, and libinotifytools must forget it too,
            // or its stale record would shadow the watch of the next folder made under that name...
            try Disk.mkdir(inbox("team"))
            try Disk.write(inbox("team/b.md"), "# B")
            try await expectChanged(queue, "team/b.md", content: "# B")
            try Disk.removeTree(inbox("team"))
            #expect(try await queue.next() == .removed(file("team/b.md")))
            // ... which then could not be removed when that folder moves out of the inbox.
            try Disk.mkdir(inbox("team"))
            try Disk.write(inbox("team/b.md"), "# B2")
            try await expectChanged(queue, "team/b.md", content: "# B2")
            try Disk.rename(inbox("team"), outside("team"))
            #expect(try await queue.next() == .removed(file("team/b.md")))
            try await expectNothingElse(queue)
            #expect(ProcessThreads.kernelWatchCount() == watchesAtRest)
        }
        #expect(InotifyLibrary.watchCountWhileIdle == 0)
        #expect(ProcessThreads.kernelWatchCount() == 0)
        #expect(controlFolders.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "\(controlFolders)")
        if let thread { #expect(await ProcessThreads.waitUntilGone(thread)) }

        let next = try TemporaryFolder()
        defer { next.remove() }
        try Disk.write(next("b.md"), "# B")
        try await withRunningWatcher(watcher(next.path)) { queue in
            let events = try await queue.collect(until: \.isScanCompleted)
            #expect(events == [.changed(InboxFile(path: next("b.md"), relativePath: "b.md")), .scanCompleted])
        }
    }
}

/// What /proc says about this process's threads and inotify descriptors.
enum ProcessThreads {
    /// The id of the thread named `name`, if there is one.
    static func find(named name: String) -> Int? {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap(Int.init).first { id in
            (try? String(contentsOfFile: "/proc/self/task/\(id)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    /// The thread's scheduler state (`S`: sleeping in the kernel) and its user + system CPU time in ticks.
    static func status(of thread: Int) -> (state: String, cpuTicks: Int)? {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(thread)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return (String(fields[0]), user + system)
    }

    /// Waits until the thread has exited, checking every 10 ms (the suite's time limit is the safety net).
    /// - Returns: whether it has; false if the waiting task was cancelled first.
    static func waitUntilGone(_ thread: Int) async -> Bool {
        while FileManager.default.fileExists(atPath: "/proc/self/task/\(thread)") {
            guard (try? await Task.sleep(for: .milliseconds(10))) != nil else { return false }
        }
        return true
    }

    /// How many inotify watches the kernel holds for this process's inotify descriptors.
    static func kernelWatchCount() -> Int {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.reduce(0) { count, descriptor in
            guard
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"))
                    == "anon_inode:inotify",
                let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(descriptor)", encoding: .utf8)
            else { return count }
            return count + info.split(separator: "\n").filter { $0.hasPrefix("inotify wd:") }.count
        }
    }

    /// The watcher control folders present in the temporary folder (any process's), as paths.
    static func controlFolders() -> Set<String> {
        let temporary = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        return Set(names.filter { $0.hasPrefix("coursegen-watcher.") }.map { temporary + "/" + $0 })
    }

    /// Whether this process's inotify descriptors watch `path` (its inode on its device).
    static func isWatched(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.contains { descriptor in
            guard
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"))
                    == "anon_inode:inotify",
                let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(descriptor)", encoding: .utf8)
            else { return false }
            // "inotify wd:1 ino:1a2b sdev:800001 mask:...": the inode in hexadecimal.
            return info.split(separator: "\n").contains { line in
                line.hasPrefix("inotify wd:")
                    && line.split(separator: " ").contains { $0 == "ino:" + String(UInt64(status.st_ino), radix: 16) }
            }
        }
    }
}
