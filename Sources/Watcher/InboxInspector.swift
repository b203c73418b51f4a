import Glibc
import Platform
import SystemPackage

/// Looks at inbox entries on disk: what a path is, what a folder holds, and the signatures a periodic scan
/// compares. Never opens a file (`ContentReader` does).
struct InboxInspector: Sendable {
    /// The inbox's absolute path as given.
    let inbox: String
    /// Excluded folders as absolute paths (as given and resolved).
    let excludedPaths: [String]

    /// The absolute path of an inbox-relative path.
    func absolute(_ relativePath: String) -> String {
        Self.path(of: relativePath, in: inbox)
    }

    /// `relativePath` ("" for the inbox itself) inside `inbox`.
    static func path(of relativePath: String, in inbox: String) -> String {
        relativePath.isEmpty ? inbox : inbox + "/" + relativePath
    }

    /// What `path` is now. A symlink is resolved (without reading its target) and accepted only if it
    /// leads to a regular file inside the inbox and outside the excluded folders; a regular file too must
    /// resolve inside the inbox.
    func entry(at path: String) -> InboxEntry {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: false) else { return .missing }
        switch status.type {
        case .directory: return .folder
        case .regular:
            // Reached through a folder that a symlink replaced after it was watched: treat as a link.
            guard let target = AbsolutePath(path).real else { return .missing }
            guard let root = AbsolutePath(inbox).real, root.contains(target) else {
                return .linkOutsideInbox(target: target.string)
            }
            return .file
        case .symbolicLink:
            guard let target = AbsolutePath(path).real else { return .other }
            guard let root = AbsolutePath(inbox).real, root.contains(target) else {
                return .linkOutsideInbox(target: target.string)
            }
            let excluded = excludedPaths.compactMap { AbsolutePath($0).real }
            if excluded.contains(where: { target == $0 || $0.contains(target) }) { return .other }
            let targetStatus = try? Stat(target.path, followTargetSymlink: false)
            return targetStatus?.type == .regular ? .linkToFile : .other
        default:
            return .other
        }
    }

    /// The inbox folder's identity (directly or through a symlink); nil if it is missing or not a folder.
    var inboxIdentity: FileIdentity? {
        guard let status = try? Stat(FilePath(inbox)), status.type == .directory else { return nil }
        return FileIdentity(status)
    }

    /// Whether the inbox exists as a folder (directly or through a symlink).
    var inboxIsFolder: Bool { inboxIdentity != nil }

    /// Excluded folders relative to the inbox, matched as given and with symlinks resolved
    /// (so `/srv/inbox/out` and `/data/inbox/out` both match when `/srv/inbox` links to `/data/inbox`).
    func excludedRelativePaths() -> Set<String> {
        var relative: Set<String> = []
        let (inbox, root) = (AbsolutePath(inbox), AbsolutePath(inbox).real)
        for excluded in excludedPaths.map({ AbsolutePath($0) }) {
            if let path = inbox.relative(excluded) { relative.insert(path) }
            if let root, let resolved = excluded.real, let path = root.relative(resolved) {
                relative.insert(path)
            }
        }
        relative.remove("")
        return relative
    }

    /// A folder's entries, sorted by name, each marked as a (real, not symlinked) folder or not.
    /// - Returns: nil if the folder is gone (or not a folder); the errno for other failures.
    func entries(ofFolder path: String) -> Result<[(name: String, isFolder: Bool)], Errno>? {
        guard let directory = opendir(path) else {
            let code = Errno(rawValue: errno)
            return code == .noSuchFileOrDirectory || code == .notDirectory ? nil : .failure(code)
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
                let status = try? Stat(FilePath(path + "/" + name), followTargetSymlink: false)
                isFolder = status?.type == .directory
            } else {
                isFolder = type == UInt8(DT_DIR)
            }
            entries.append((name, isFolder))
        }
        return .success(entries.sorted { $0.name < $1.name })
    }

    /// Scans the inbox for a periodic comparison: lists every folder `filter` watches and takes the signature
    /// of every outline candidate, with one `lstat` each (and one `stat` more for a symlink, which is signed by
    /// its target). Reads no file.
    func scan(filter: InboxFilter) -> InboxScan {
        var scan = InboxScan(inbox: inboxIdentity)
        guard scan.inbox != nil else { return scan }
        var folders = [""]
        while let folder = folders.popLast() {
            switch entries(ofFolder: absolute(folder)) {
            case nil:
                if folder.isEmpty { return InboxScan(inbox: nil) }
            case .failure(let error)?:
                scan.unlistable[folder] = error
            case .success(let entries)?:
                scan.folders.append(folder)
                for entry in entries {
                    let child = folder.isEmpty ? entry.name : folder + "/" + entry.name
                    if entry.isFolder {
                        if filter.watchesFolder(child) { folders.append(child) }
                    } else if filter.isOutlineCandidate(child), let signature = signature(at: absolute(child)) {
                        scan.files[child] = signature
                    }
                }
            }
        }
        return scan
    }

    /// The signature of a regular file, or of the regular file a symlink leads to; nil for anything else.
    func signature(at path: String) -> FileSignature? {
        guard var status = try? Stat(FilePath(path), followTargetSymlink: false) else { return nil }
        if status.type == .symbolicLink {
            guard let target = try? Stat(FilePath(path)) else { return nil }
            status = target
        }
        return status.type == .regular ? FileSignature(status) : nil
    }
}

/// What a periodic scan of the inbox found.
struct InboxScan: Sendable {
    /// The inbox folder's identity; nil if it is missing (nothing else is then filled in).
    var inbox: FileIdentity?
    /// Every outline candidate's signature, by inbox-relative path.
    var files: [String: FileSignature] = [:]
    /// Every folder listed, inbox-relative ("" for the inbox itself).
    var folders: [String] = []
    /// Folders that could not be listed, with why; their outlines are not in `files`.
    var unlistable: [String: Errno] = [:]
}
