import Glibc

/// Looks at inbox entries on disk: what a path is, and what a folder holds. Never opens a file.
struct InboxInspector: Sendable {
    /// The inbox's absolute path as given.
    let inbox: String
    /// Excluded folders as absolute paths (as given and resolved).
    let excludedPaths: [String]

    /// What `path` is now. A symlink is resolved (without reading its target) and accepted only if it
    /// leads to a regular file inside the inbox and outside the excluded folders; a regular file too must
    /// resolve inside the inbox.
    func entry(at path: String) -> InboxEntry {
        guard let status = FileStatus(path: path, followingLinks: false) else { return .missing }
        switch status.kind {
        case .directory: return .folder
        case .other: return .other
        case .regularFile:
            // Reached through a folder that a symlink replaced after it was watched: treat as a link.
            guard let target = Self.resolvedPath(path) else { return .missing }
            guard let root = Self.resolvedPath(inbox), target.hasPrefix(root + "/") else {
                return .linkOutsideInbox(target: target)
            }
            return .file
        case .symlink:
            guard let target = Self.resolvedPath(path) else { return .other }
            guard let root = Self.resolvedPath(inbox), target.hasPrefix(root + "/") else {
                return .linkOutsideInbox(target: target)
            }
            let excluded = excludedPaths.compactMap(Self.resolvedPath)
            if excluded.contains(where: { target == $0 || target.hasPrefix($0 + "/") }) { return .other }
            return FileStatus(path: target, followingLinks: false)?.kind == .regularFile ? .linkToFile : .other
        }
    }

    /// Whether the inbox exists as a folder (directly or through a symlink).
    var inboxIsFolder: Bool {
        FileStatus(path: inbox, followingLinks: true)?.kind == .directory
    }

    /// Excluded folders relative to the inbox, matched as given and with symlinks resolved
    /// (so `/srv/inbox/out` and `/data/inbox/out` both match when `/srv/inbox` links to `/data/inbox`).
    func excludedRelativePaths() -> Set<String> {
        var relative: Set<String> = []
        let root = Self.resolvedPath(inbox)
        for excluded in excludedPaths {
            if let path = Self.relative(excluded, to: inbox) { relative.insert(path) }
            if let root, let resolved = Self.resolvedPath(excluded), let path = Self.relative(resolved, to: root) {
                relative.insert(path)
            }
        }
        relative.remove("")
        return relative
    }

    /// A folder's entries, sorted by name, each marked as a (real, not symlinked) folder or not.
    /// - Returns: nil if the folder is gone (or not a folder); the errno for other failures.
    func entries(ofFolder path: String) -> Result<[(name: String, isFolder: Bool)], SystemError>? {
        guard let directory = opendir(path) else {
            let code = errno
            return code == ENOENT || code == ENOTDIR ? nil : .failure(SystemError(code: code))
        }
        defer { closedir(directory) }
        var entries: [(name: String, isFolder: Bool)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(validatingCString: bytes.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard let name, name != ".", name != ".." else { continue }
            let type = entry.pointee.d_type
            let isFolder: Bool
            if type == UInt8(DT_UNKNOWN) {
                isFolder = FileStatus(path: path + "/" + name, followingLinks: false)?.kind == .directory
            } else {
                isFolder = type == UInt8(DT_DIR)
            }
            entries.append((name, isFolder))
        }
        return .success(entries.sorted { $0.name < $1.name })
    }

    /// `path` with every symlink resolved, or nil if it does not resolve.
    static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` relative to `root` ("" for the root itself), or nil if it is not inside it.
    static func relative(_ path: String, to root: String) -> String? {
        let path = normalized(path)
        let root = normalized(root)
        if path == root { return "" }
        let prefix = root == "/" ? "/" : root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }

    /// An absolute path with `.` and empty components removed and `..` applied lexically (symlinks untouched).
    static func normalized(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}

/// The type of a file system entry, from `lstat`/`stat`.
struct FileStatus {
    enum Kind { case regularFile, directory, symlink, other }
    let kind: Kind
    let device: UInt64
    let inode: UInt64

    /// nil if the path does not exist (or cannot be looked at).
    init?(path: String, followingLinks: Bool) {
        var info = stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regularFile
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// An `errno` value with its message.
struct SystemError: Error, Sendable, CustomStringConvertible {
    let code: Int32
    var description: String { systemMessage(code) }
}

/// `strerror(code)`, e.g. "No such file or directory".
func systemMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}
