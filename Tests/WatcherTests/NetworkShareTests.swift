import Foundation
import Glibc
import TestSupport
import Testing

@testable import Watcher

/// A real FUSE file system over a local folder (bindfs): writing to that folder directly changes the files the
/// mount shows without any inotify event on the mount, exactly as a save made on another machine does on an NFS,
/// SMB or sshfs share. Part of the serialized inotify suite: the watcher uses inotify here too.
extension InotifyWatcherTests {
    @Test(
        "on a FUSE share, saves made behind its back are found by the periodic scan and saves through it reported once",
        .enabled(if: BindMount.isAvailable, "needs bindfs (Debian package bindfs), /dev/fuse and root")
    )
    func fuseShare() async throws {
        let backing = try TemporaryFolder()
        defer { backing.remove() }
        try Disk.write(backing("a.md"), "# A")
        let mount = try BindMount(backing.path, at: inbox.path)
        defer {
            mount.unmount()
            inbox.remove()
        }
        let watcher = InboxWatcher(
            inbox: inbox.path,
            configuration: WatcherConfiguration(debounce: .milliseconds(100), pollInterval: .milliseconds(100)),
            logger: log.logger()
        )
        try await withRunningWatcher(watcher) { queue in
            #expect(try await queue.collect(until: \.isScanCompleted) == [.changed(file("a.md")), .scanCompleted])

            // "Another machine" saves: inotify on the mount sees nothing, the scan does.
            try Disk.write(backing("a.md"), "# A, saved elsewhere\n")
            try await expectChanged(queue, "a.md", content: "# A, saved elsewhere\n")

            // A save through the share: inotify and the scan both see it; one report.
            try Disk.write(inbox("a.md"), "# A, saved here\n")
            try await expectChanged(queue, "a.md", content: "# A, saved here\n")

            // A folder and an outline made elsewhere (dated an hour back, so that only the touch below makes
            // a scan read it again), then an outline deleted elsewhere.
            try Disk.mkdir(backing("team"))
            try Disk.write(backing("team/b.md"), "# B")
            try Disk.backdate(backing("team/b.md"))
            try await expectChanged(queue, "team/b.md", content: "# B")
            try Disk.unlink(backing("a.md"))
            #expect(try await queue.next() == .removed(file("a.md")))

            // Touched elsewhere: read, compared, not reported.
            let b = inbox("team/b.md")
            let unchangedB: @Sendable (LogRecorder.Record) -> Bool = {
                $0.message == "outline content unchanged; not reported" && $0.metadata["path"] == b
            }
            #expect(!log.all.contains(where: unchangedB))
            #expect(utimensat(AT_FDCWD, backing("team/b.md"), nil, 0) == 0)
            #expect(await log.waitFor(unchangedB))
            try await expectNothingElse(queue)
        }
        let warnings = log.all.filter { $0.level == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("network file system") == true)
        #expect(warnings.first?.metadata["filesystem"] == "fuse/fuseblk")
    }
}

/// A bindfs mount of one folder on another, for as long as the value lives (until `unmount()`).
struct BindMount {
    static let bindfs = "/usr/bin/bindfs"

    /// Whether bindfs can mount here: it is installed, /dev/fuse can be opened, and we are root (no
    /// `user_allow_other` set-up needed).
    static var isAvailable: Bool {
        access(bindfs, X_OK) == 0 && access("/dev/fuse", R_OK | W_OK) == 0 && getuid() == 0
    }

    let mountPoint: String

    /// Mounts `source` on `mountPoint` (an empty folder) and returns once the mount is in place.
    init(_ source: String, at mountPoint: String) throws {
        self.mountPoint = mountPoint
        let (status, output) = Self.run(Self.bindfs, [source, mountPoint])
        guard status == 0 else { throw DiskError(operation: "bindfs (\(output))", path: mountPoint, code: EIO) }
    }

    func unmount() {
        for command in ["/usr/bin/fusermount3", "/usr/bin/fusermount", "/usr/bin/umount", "/bin/umount"]
        where access(command, X_OK) == 0 {
            let arguments = command.hasSuffix("umount") ? [mountPoint] : ["-u", mountPoint]
            if Self.run(command, arguments).status == 0 { return }
        }
        Issue.record("could not unmount \(mountPoint)")
    }

    /// Runs a command to its end, its output going to a file. Not through Foundation's `Process`, which on
    /// Linux learns that a child ended when a socket it inherited closes: the daemon bindfs leaves behind
    /// inherits it too, and `waitUntilExit()` would wait for the unmount.
    private static func run(_ command: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "/bind-mount-\(UUID().uuidString).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process (the inotify descriptor among others) goes to the daemon. Glibc 2.34+
        // has the call; Swift's Glibc module does not import it.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let closeFrom = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        }
        let argv = ([command] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command, &actions, nil, argv, environ)
        guard spawned == 0 else { return (-1, "cannot run \(command): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return (status & 0x7f == 0 ? (status >> 8) & 0xff : -1, output)
    }
}
