public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Which file system object something is: its device and inode. Two names, or a name and an open
/// descriptor, are the same file when their identities are equal (a rename onto a name gives it
/// a new identity; an edit in place does not).
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public init(_ status: Stat) {
        self.init(device: UInt64(status.deviceID.rawValue), inode: UInt64(status.inode.rawValue))
    }

    /// What `path` names (its symlink's target when `followingSymlink`), nil when nothing is
    /// there.
    public init?(path: String, followingSymlink: Bool = false) {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: followingSymlink) else { return nil }
        self.init(status)
    }

    /// What `descriptor` has open, nil when it is closed.
    public init?(descriptor: CInt) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
