import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file operation that failed, with the path and what to do about it.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    /// What coursegen was doing ("write", "rename", ...).
    public var operation: String
    public var errno: Int32

    public var description: String {
        let reason = String(cString: strerror(errno))
        let hint: String
        switch errno {
        case ENOSPC, EDQUOT:
            hint = "; the disk is full: free some space and run again (nothing already published was changed)"
        case EACCES, EPERM: hint = "; check the permissions of this path and of its folder"
        case EROFS: hint = "; the file system is read-only"
        case ENAMETOOLONG: hint = "; the name is too long"
        default: hint = ""
        }
        return "cannot \(operation) \(path): \(reason)\(hint)"
    }
}

/// The few POSIX file operations coursegen's durability depends on: write to a temporary name,
/// fsync, rename, fsync the folder.
enum FileSystem {
    /// Creates `path` and its missing parents.
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(FileError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw FileError(path: path, operation: "create folder", errno: errno)
        }
    }

    /// Writes `bytes` to a new file at `path` (which must not exist), and fsyncs it.
    static func writeNewFile(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(path: path, operation: "create", errno: errno) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = errno
                unlink(path)
                throw FileError(path: path, operation: "write", errno: error)
            }
            written += result
        }
        if fsync(fd) != 0 {
            let error = errno
            unlink(path)
            throw FileError(path: path, operation: "fsync", errno: error)
        }
    }

    /// Replaces `path` with `bytes` so that a reader (or a crash) sees the old file or the new one,
    /// never a mix: temporary file in `temporaryFolder` (same file system), fsync, rename, fsync
    /// the folder.
    static func replaceDurably(_ bytes: [UInt8], at path: String, temporaryFolder: String? = nil, mode: mode_t = 0o644)
        throws(FileError)
    {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(temporaryFolder ?? folder)/.tmp-\(UInt64.random(in: 0 ... .max))"
        try writeNewFile(bytes, to: temporary, mode: mode)
        try rename(temporary, to: path)
        try syncDirectory(folder)
    }

    static func rename(_ from: String, to: String) throws(FileError) {
        if Glibc.rename(from, to) != 0 {
            let error = errno
            throw FileError(path: to, operation: "rename \(from) to", errno: error)
        }
    }

    /// Atomically exchanges two existing paths (renameat2 RENAME_EXCHANGE).
    static func exchange(_ first: String, _ second: String) throws(FileError) {
        if clinux_exchange(AT_FDCWD, first, AT_FDCWD, second) != 0 {
            throw FileError(path: second, operation: "exchange \(first) with", errno: errno)
        }
    }

    /// Makes a folder's entries (new names, renames, removals) durable.
    static func syncDirectory(_ path: String) throws(FileError) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open folder", errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0, errno != EINVAL {
            throw FileError(path: path, operation: "fsync folder", errno: errno)
        }
    }

    /// The file's bytes, nil if it does not exist.
    /// - Throws: FileError if it exists but cannot be read, or is larger than `limit` bytes.
    static func read(_ path: String, limit: Int = 64 * 1024 * 1024) throws(FileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw FileError(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { throw FileError(path: path, operation: "read (too large)", errno: EFBIG) }
        }
    }

    /// Names in a folder (no "." or ".."); empty if the folder does not exist.
    static func entries(of path: String) throws(FileError) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw FileError(path: path, operation: "list", errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    enum Kind { case missing, file, directory, symlink, other }

    /// What is at `path`, without following a symlink.
    static func kind(of path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Device and inode of `path` (not following a symlink), to tell whether two names are one file.
    static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// The file's size in bytes, nil if it does not exist.
    static func size(of path: String) -> Int? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Seconds since the file was last modified, nil if it does not exist.
    static func age(of path: String, now: Date = Date()) -> TimeInterval? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return now.timeIntervalSince1970 - modified
    }

    /// Removes a file, a symlink or a whole folder; nothing if it does not exist.
    static func remove(_ path: String) throws(FileError) {
        switch kind(of: path) {
        case .missing:
            return
        case .directory:
            for name in try entries(of: path) { try remove("\(path)/\(name)") }
            if rmdir(path) != 0, errno != ENOENT {
                throw FileError(path: path, operation: "remove folder", errno: errno)
            }
        default:
            if unlink(path) != 0, errno != ENOENT { throw FileError(path: path, operation: "remove", errno: errno) }
        }
    }

    /// Makes a second name for a file (a hard link); false when the file system refuses.
    static func link(_ existing: String, as newPath: String) -> Bool {
        Glibc.link(existing, newPath) == 0
    }
}
