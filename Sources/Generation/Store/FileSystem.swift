import CLinux
public import SystemPackage
public import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// A file operation that failed: what coursegen was doing, on which path, why, and what to do.
public struct FileError: CodedError {
    /// The path the operation was about.
    public let path: String
    /// What coursegen was doing ("write", "rename", ...).
    public let operation: String
    /// The system's reason.
    public let errno: Errno
    /// Where in coursegen the error was made.
    public let origin: SourceOrigin

    public init(path: String, operation: String, errno: Errno, fileID: String = #fileID, line: Int = #line) {
        self.path = path
        self.operation = operation
        self.errno = errno
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    /// The system's reason classifies it: out of space, permission, a name too long.
    public var code: Errno { errno }

    /// True when the file system is full or the quota is used up: freeing space fixes it.
    public var isOutOfSpace: Bool { errno == .noSpace || errno == .diskQuotaExceeded }

    public var message: String {
        let hint: String
        switch errno {
        case .noSpace, .diskQuotaExceeded:
            hint = "; the disk is full: free some space and run again (nothing already published was changed)"
        case .permissionDenied, .notPermitted: hint = "; check the permissions of this path and of its folder"
        case .readOnlyFileSystem: hint = "; the file system is read-only"
        case .fileNameTooLong: hint = "; the name is too long"
        default: hint = ""
        }
        return "cannot \(operation) \(path): \(errno.description.lowercasedFirst)\(hint)"
    }
}

extension String {
    fileprivate var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
}

/// The POSIX file operations coursegen's durability depends on: write to a temporary name, fsync,
/// rename, fsync the folder. Every call blocks: run them off Swift's cooperative pool
/// (`BlockingIO`).
///
/// A value, so that a test can replace how data reaches the disk (`sync`) with a slow or failing
/// double; everything else is plain system calls.
struct FileSystem: Sendable {
    /// Makes what was written through `descriptor` (a file or a folder) durable: `fsync(2)`.
    var sync: @Sendable (_ descriptor: FileDescriptor, _ path: String) throws(FileError) -> Void

    /// The real thing.
    static let posix = FileSystem { descriptor, path throws(FileError) in
        if fsync(descriptor.rawValue) != 0 {
            let error = Errno(rawValue: Glibc.errno)
            // Some file systems cannot fsync a folder; the rename is as durable as they get.
            guard error != .invalidArgument else { return }
            throw FileError(path: path, operation: "fsync", errno: error)
        }
    }

    /// Creates `path` and its missing parents.
    func makeDirectory(_ path: String, mode: FilePermissions = [.ownerReadWriteExecute, .groupReadExecute, .otherReadExecute])
        throws(FileError)
    {
        if kind(of: path) == .directory { return }
        let parent = FilePath(path).removingLastComponent().string
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode.rawValue) != 0, Glibc.errno != EEXIST {
            throw FileError(path: path, operation: "create folder", errno: .current)
        }
    }

    /// Writes `bytes` to a new file at `path` (which must not exist), and makes it durable.
    func writeNewFile(_ bytes: [UInt8], to path: String, mode: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead])
        throws(FileError)
    {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                FilePath(path),
                .writeOnly,
                options: [.create, .exclusiveCreate, .closeOnExec],
                permissions: mode
            )
        } catch {
            throw FileError(path: path, operation: "create", errno: Errno(error))
        }
        defer { try? descriptor.close() }
        do {
            _ = try descriptor.writeAll(bytes)
        } catch {
            unlink(path)
            throw FileError(path: path, operation: "write", errno: Errno(error))
        }
        do {
            try sync(descriptor, path)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Replaces `path` with `bytes` so that a reader (or a crash) sees the old file or the new one,
    /// never a mix: temporary file in `temporaryFolder` (same file system), fsync, rename, fsync
    /// the folder.
    func replaceDurably(
        _ bytes: [UInt8],
        at path: String,
        temporaryFolder: String? = nil,
        mode: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    ) throws(FileError) {
        let folder = FilePath(path).removingLastComponent().string
        let temporary = "\(temporaryFolder ?? folder)/.tmp-\(UInt64.random(in: 0 ... .max))"
        try writeNewFile(bytes, to: temporary, mode: mode)
        do {
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        try syncDirectory(folder)
    }

    func rename(_ from: String, to: String) throws(FileError) {
        if Glibc.rename(from, to) != 0 {
            throw FileError(path: to, operation: "rename \(from) to", errno: .current)
        }
    }

    /// Atomically exchanges two existing paths (renameat2 RENAME_EXCHANGE).
    func exchange(_ first: String, _ second: String) throws(FileError) {
        if clinux_exchange(AT_FDCWD, first, AT_FDCWD, second) != 0 {
            throw FileError(path: second, operation: "exchange \(first) with", errno: .current)
        }
    }

    /// Makes a folder's entries (new names, renames, removals) durable.
    func syncDirectory(_ path: String) throws(FileError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                FilePath(path.isEmpty ? "." : path),
                .readOnly,
                options: [.directory, .closeOnExec]
            )
        } catch {
            throw FileError(path: path, operation: "open folder", errno: Errno(error))
        }
        defer { try? descriptor.close() }
        try sync(descriptor, path)
    }

    /// The file's bytes, nil if it does not exist.
    /// - Throws: FileError if it exists but cannot be read, or is larger than `limit` bytes.
    func read(_ path: String, limit: Int = 64 * 1024 * 1024) throws(FileError) -> [UInt8]? {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            if Errno(error) == .noSuchFileOrDirectory { return nil }
            throw FileError(path: path, operation: "open", errno: Errno(error))
        }
        defer { try? descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            } catch {
                throw FileError(path: path, operation: "read", errno: Errno(error))
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { throw FileError(path: path, operation: "read (too large)", errno: .fileTooLarge) }
        }
    }

    /// Names in a folder (no "." or ".."); empty if the folder does not exist.
    func entries(of path: String) throws(FileError) -> [String] {
        guard let directory = opendir(path) else {
            if Glibc.errno == ENOENT { return [] }
            throw FileError(path: path, operation: "list", errno: .current)
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
    func kind(of path: String) -> Kind {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: false) else { return .missing }
        switch status.type {
        case .regular: return .file
        case .directory: return .directory
        case .symbolicLink: return .symlink
        default: return .other
        }
    }

    /// Device and inode of `path` (not following a symlink), to tell whether two names are one file.
    func identity(of path: String) -> FileIdentity? {
        FileIdentity(path: path)
    }

    /// What tells two versions of a file apart without reading them: a replaced file has a new
    /// inode, an edited one a new size or new times.
    struct Identity: Sendable, Hashable {
        var file: FileIdentity
        var size: Int64
        var modified: Int64
        var changed: Int64
    }

    /// The identity of the regular file at `path` (not following a symlink); nil for anything
    /// else or nothing.
    func contentIdentity(of path: String) -> Identity? {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: false), status.type == .regular else {
            return nil
        }
        func nanoseconds(_ time: timespec) -> Int64 { Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec) }
        return Identity(
            file: FileIdentity(status),
            size: status.size,
            modified: nanoseconds(status.st_mtim),
            changed: nanoseconds(status.st_ctim)
        )
    }

    /// The file's size in bytes, nil if it does not exist.
    func size(of path: String) -> Int? {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: false) else { return nil }
        return Int(status.size)
    }

    /// Seconds since the file was last modified, nil if it does not exist.
    func age(of path: String, now: Double) -> Double? {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: false) else { return nil }
        let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        return now - modified
    }

    /// Removes a file, a symlink or a whole folder; nothing if it does not exist.
    func remove(_ path: String) throws(FileError) {
        switch kind(of: path) {
        case .missing:
            return
        case .directory:
            for name in try entries(of: path) { try remove("\(path)/\(name)") }
            if rmdir(path) != 0, Glibc.errno != ENOENT {
                throw FileError(path: path, operation: "remove folder", errno: .current)
            }
        default:
            if unlink(path) != 0, Glibc.errno != ENOENT {
                throw FileError(path: path, operation: "remove", errno: .current)
            }
        }
    }

    /// Makes a second name for a file (a hard link); false when the file system refuses.
    func link(_ existing: String, as newPath: String) -> Bool {
        Glibc.link(existing, newPath) == 0
    }
}


