import Platform
import SystemPackage

/// What a periodic scan compares to tell, without reading a file, whether it may have changed: which file it is
/// (device and inode: a rename onto it replaces it), its size, and its modification and status-change times
/// (`ctime` also moves on a chmod, a rename or a write that kept `mtime`). Equal signatures mean the content
/// is taken as unchanged; different ones mean the file is read and its content compared.
struct FileSignature: Sendable, Hashable {
    var identity: FileIdentity
    /// Size in bytes.
    var size: Int64
    /// `st_mtim` and `st_ctim`, as time since the epoch (nanosecond resolution where the file system has it).
    var modified: Duration
    var statusChanged: Duration

    init(identity: FileIdentity, size: Int64, modified: Duration, statusChanged: Duration) {
        self.identity = identity
        self.size = size
        self.modified = modified
        self.statusChanged = statusChanged
    }

    init(_ status: Stat) {
        self.init(
            identity: FileIdentity(status),
            size: status.size,
            modified: .seconds(status.st_mtim.tv_sec) + .nanoseconds(status.st_mtim.tv_nsec),
            statusChanged: .seconds(status.st_ctim.tv_sec) + .nanoseconds(status.st_ctim.tv_nsec)
        )
    }
}
