import Foundation
import SystemPackage
import Platform
import TestSupport
import Testing

@testable import Watcher

/// Which file systems inotify can be trusted on, and when the watcher scans the inbox periodically.
@Suite("File system types and watch modes")
struct FileSystemTypeTests {
    @Test(
        "network, remote and cluster file systems are remote; local ones are not",
        arguments: [
            (0x6969, "nfs/nfs4", true), (0x517B, "smbfs", true), (0xFF53_4D42, "cifs/smb3", true),
            (0xFE53_4D42, "smb2", true), (0x6573_5546, "fuse/fuseblk", true), (0x0102_1997, "9p", true),
            (0x00C3_6400, "ceph", true), (0x5346_414F, "afs", true), (0x6B41_4653, "kafs", true),
            (0x0BD0_0BD0, "lustre", true), (0x4750_4653, "gpfs", true), (0x7375_7245, "coda", true),
            (0x0116_1970, "gfs2", true), (0x7461_636F, "ocfs2", true), (0x786F_4256, "vboxsf", true),
            (0xEF53, "ext4/ext3/ext2", false), (0x9123_683E, "btrfs", false), (0x5846_5342, "xfs", false),
            (0x0102_1994, "tmpfs", false), (0x794C_7630, "overlay", false), (0x2FC1_2FC1, "zfs", false),
            (0xF2F5_2010, "f2fs", false), (0x4D44, "vfat/msdos", false),
        ] as [(UInt32, String, Bool)]
    )
    func classification(magic: UInt32, name: String, isRemote: Bool) {
        let type = FileSystemType.classify(magic: magic)
        #expect(type.description == name)
        #expect(type.isRemote == isRemote)
        #expect(type.isKnown)
    }

    @Test("an unknown magic number is named by its hex value and taken as local")
    func unknown() {
        let type = FileSystemType.classify(magic: 0x1234_ABCD)
        #expect(!type.isKnown)
        #expect(!type.isRemote)
        #expect(type.description == "unknown (0x1234abcd)")
    }

    @Test("statfs on a temporary folder finds the type /proc/self/mountinfo lists for its mount, and it is local")
    func realFileSystem() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let type = try FileSystemType.of(path: folder.path).get()
        let mounted = try #require(MountTable.fileSystemType(of: folder.path))
        // mountinfo names FUSE mounts "fuse.sshfs" and the like; the kernel's type is the part before the dot.
        let kernelName = String(mounted.split(separator: ".").first ?? "")
        #expect(type.names.contains(kernelName), "statfs says \(type), mountinfo says \(mounted)")
        if !["fuse", "fuseblk", "nfs", "nfs4", "cifs", "smb3", "9p"].contains(kernelName) {
            #expect(!type.isRemote, "\(type) on a local test folder")
        }
    }

    @Test("statfs on a missing path fails with ENOENT")
    func missing() {
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try FileSystemType.of(path: "/nonexistent-\(UUID().uuidString)").get()
        }
    }

    @Test(
        "auto scans on a network file system, and keeps scanning after one was seen; inotify never; poll always",
        arguments: [
            (WatchMode.auto, "nfs", false, true), (.auto, "ext4", false, false), (.auto, "ext4", true, true),
            (.auto, nil, false, false), (.inotify, "nfs", false, false), (.inotify, "ext4", true, false),
            (.poll, "ext4", false, true), (.poll, nil, false, true),
        ] as [(WatchMode, String?, Bool, Bool)]
    )
    func periodicScan(mode: WatchMode, fileSystem: String?, afterRemote: Bool, scans: Bool) {
        let type = fileSystem.map { $0 == "nfs" ? FileSystemType.classify(magic: 0x6969) : .classify(magic: 0xEF53) }
        #expect(mode.scansPeriodically(on: type, afterRemote: afterRemote) == scans)
    }

    @Test("only poll mode does without inotify; modes parse from their names")
    func modes() {
        #expect(WatchMode.allCases.filter { !$0.usesInotify } == [.poll])
        #expect(WatchMode(rawValue: "auto") == .auto)
        #expect(WatchMode(rawValue: "poll") == .poll)
        #expect(WatchMode(rawValue: "inotify") == .inotify)
        #expect(WatchMode(rawValue: "fanotify") == nil)
    }
}

/// What /proc/self/mountinfo says.
enum MountTable {
    /// The file system type of the mount holding `path` (the longest mount point that is a prefix of it).
    static func fileSystemType(of path: String) -> String? {
        guard let resolved = AbsolutePath(path).real?.string,
            let table = Disk.readProcFile("/proc/self/mountinfo")
        else { return nil }
        var best: (mountPoint: String, type: String)?
        for line in table.split(separator: "\n") {
            // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
            let halves = line.components(separatedBy: " - ")
            let fields = halves[0].split(separator: " ")
            guard halves.count == 2, fields.count > 4, let type = halves[1].split(separator: " ").first else {
                continue
            }
            let mountPoint = unescape(String(fields[4]))
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.mountPoint.count ?? -1) { best = (mountPoint, String(type)) }
        }
        return best?.type
    }

    /// mountinfo writes a space as `\040`, a tab as `\011`, a newline as `\012` and a backslash as `\134`.
    private static func unescape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }
}
