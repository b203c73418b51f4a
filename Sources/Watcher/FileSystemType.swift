import CLinux
import Glibc
import SystemPackage

/// The type of file system a folder is on, from `statfs`'s `f_type`, and whether inotify can be trusted there.
///
/// inotify reports what goes through this machine's kernel. On a network or cluster file system (NFS, SMB/CIFS,
/// FUSE such as sshfs, 9p, Ceph, AFS, Lustre, ...) a file saved on another machine changes without any event
/// here: such file systems are `isRemote`, and the watcher scans the inbox periodically there (`WatchMode.auto`).
struct FileSystemType: Sendable, Hashable, CustomStringConvertible {
    /// `f_type`, the file system's magic number (Linux `<linux/magic.h>`).
    let magic: UInt32
    /// The kernel's names for this magic number (as in /proc/filesystems), e.g. `["nfs", "nfs4"]`; empty if
    /// the magic number is not one this table knows.
    let names: [String]
    /// Whether files can change there without this kernel seeing it (network, remote or cluster file systems).
    let isRemote: Bool

    /// The names joined with "/", or "unknown (0x...)" for a magic number not in the table.
    var description: String {
        names.isEmpty ? "unknown (0x\(String(magic, radix: 16)))" : names.joined(separator: "/")
    }

    /// Whether the magic number is one this table knows.
    var isKnown: Bool { !names.isEmpty }

    /// Classifies a magic number. An unknown one is taken as local: most exotic file systems are, and a
    /// user who knows better can choose `WatchMode.poll`.
    static func classify(magic: UInt32) -> FileSystemType {
        if let known = table[magic] {
            return FileSystemType(magic: magic, names: known.names, isRemote: known.isRemote)
        }
        return FileSystemType(magic: magic, names: [], isRemote: false)
    }

    /// The file system `path` is on (following symlinks).
    /// - Returns: the failure of `statfs` (e.g. `ENOENT`) as an `Errno`.
    static func of(path: String) -> Result<FileSystemType, Errno> {
        var info = statfs()
        guard statfs(path, &info) == 0 else { return .failure(Errno(rawValue: errno)) }
        // f_type is a signed word: magic numbers above 0x7fffffff come out negative on 32-bit systems.
        return .success(classify(magic: UInt32(truncatingIfNeeded: info.f_type)))
    }

    private static let table: [UInt32: (names: [String], isRemote: Bool)] = [
        // Network, remote and cluster file systems: inotify misses changes made elsewhere.
        0x6969: (["nfs", "nfs4"], true),
        0x517B: (["smbfs"], true),
        0xFF53_4D42: (["cifs", "smb3"], true),
        0xFE53_4D42: (["smb2"], true),
        // FUSE: sshfs, GlusterFS, virtiofs, rclone mount, s3fs, bindfs... a local FUSE file system is rare,
        // and a periodic scan costs little there.
        0x6573_5546: (["fuse", "fuseblk"], true),
        0x0102_1997: (["9p"], true),
        0x00C3_6400: (["ceph"], true),
        0x5346_414F: (["afs"], true),
        0x6B41_4653: (["kafs"], true),
        0x7375_7245: (["coda"], true),
        0x564C: (["ncpfs"], true),
        0x0BD0_0BD0: (["lustre"], true),
        0x4750_4653: (["gpfs"], true),
        0x1983_0326: (["beegfs"], true),
        0x0116_1970: (["gfs2"], true),
        0x7461_636F: (["ocfs2"], true),
        0x786F_4256: (["vboxsf"], true),
        // Local file systems, named for the logs.
        0xEF53: (["ext4", "ext3", "ext2"], false),
        0x9123_683E: (["btrfs"], false),
        0x5846_5342: (["xfs"], false),
        0x0102_1994: (["tmpfs"], false),
        0x8584_58F6: (["ramfs"], false),
        0x794C_7630: (["overlay"], false),
        0x2FC1_2FC1: (["zfs"], false),
        0xF2F5_2010: (["f2fs"], false),
        0xCA45_1A4E: (["bcachefs"], false),
        0x4D44: (["vfat", "msdos"], false),
        0x2011_BAB0: (["exfat"], false),
        0x5346_544E: (["ntfs"], false),
        0x7371_7368: (["squashfs"], false),
        0xE0F5_E1E2: (["erofs"], false),
        0x9660: (["iso9660"], false),
        0x5265_4973: (["reiserfs"], false),
        0x3153_464A: (["jfs"], false),
        0x3434: (["nilfs2"], false),
        0x1501_3346: (["udf"], false),
    ]
}
