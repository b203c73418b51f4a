import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Puts a version of an outline's folder in place so that a reader of the folder never sees a
/// partial file, an empty file, a temporary file, or two numberings mixed. It writes what it is
/// told (`Version`, from a `Plan`): which file holds what, which live files to keep as backups,
/// which disappear. It decides nothing about chapters.
///
/// Everything is first written under `<parent>/.coursegen-staging/` (same file system) and
/// fsync'd. When no chapter file disappears, changed files are renamed into place one by one
/// (chapters first, `SUMMARY.md` last). When one does (a renumbering, a removal, a retitle), a
/// complete new folder is staged and exchanged with the live one in one
/// `renameat2(RENAME_EXCHANGE)`. Files the publisher does not own (`book.toml`, the `book/`
/// build, `.orig` backups, anything a user put there) are carried over. The replaced version is
/// left intact in the staging area for a while, for readers still listing it.
struct Publisher {
    /// The outline's folder, e.g. `OUTPUT/practical-rust`.
    let folder: String
    let files: FileSystem

    init(folder: String, files: FileSystem = .posix) {
        self.folder = folder
        self.files = files
    }

    /// What the folder should hold.
    struct Version {
        /// Chapter files in outline order, named by `ChapterFile.name`.
        var chapters: [(name: String, bytes: [UInt8])]
        /// Names whose live file already holds exactly these bytes: not rewritten.
        var unchanged: Set<String> = []
        var summary: [UInt8]
        /// Written when the folder is created, and in place of `previousBookConfiguration` when
        /// the folder holds exactly that (the course's title changed, or another outline took the
        /// folder over): a `book.toml` someone edited is never touched.
        var bookConfiguration: [UInt8]
        var previousBookConfiguration: [UInt8]? = nil
        /// Live files to keep as `NAME.orig` before they are replaced or removed (hand edits).
        var backups: [String] = []
        /// Live chapter files this version does not have: the folder is then exchanged whole.
        var removals: [String] = []
    }

    struct Result {
        /// Backups made: original name -> backup name.
        var backups: [String: String]
        /// True when the folder was exchanged as a whole (or created).
        var swappedFolder: Bool
    }

    static let summaryName = "SUMMARY.md"
    static let bookConfigurationName = "book.toml"
    static let stagingFolderName = ".coursegen-staging"

    var parent: String { (folder as NSString).deletingLastPathComponent }
    var stagingRoot: String { "\(parent)/\(Self.stagingFolderName)" }
    var baseName: String { (folder as NSString).lastPathComponent }

    /// True for names this publisher replaces and removes at will.
    static func isManaged(_ name: String) -> Bool {
        name == summaryName || ChapterFile.isChapterFileName(name)
    }

    /// How long a replaced version of the folder is kept after a swap. A reader that opened the
    /// folder just before the swap is reading that version: emptying it at once would show the
    /// reader files vanishing mid-listing.
    static let retiredVersionLifetime: TimeInterval = 120

    /// Removes what an interrupted earlier publish of this folder left in the staging area, and
    /// replaced versions older than `retiredVersionLifetime`.
    func removeLeftovers(now: Date = Date()) throws(FileError) {
        let retiredPrefix = "\(baseName).retired."
        for name in try files.entries(of: stagingRoot) where name.hasPrefix(baseName + ".") {
            if name.hasPrefix(retiredPrefix),
                let retiredAt = name.dropFirst(retiredPrefix.count).split(separator: ".").first.flatMap({
                    TimeInterval($0)
                }),
                now.timeIntervalSince1970 - retiredAt < Self.retiredVersionLifetime
            {
                continue
            }
            try files.remove("\(stagingRoot)/\(name)")
        }
    }

    func publish(_ version: Version) throws(FileError) -> Result {
        switch files.kind(of: folder) {
        case .missing, .directory: break
        default:
            throw FileError(path: folder, operation: "publish into (it exists and is not a folder)", errno: .notDirectory)
        }
        try files.makeDirectory(stagingRoot)
        try removeLeftovers()

        var desired = version.chapters
        desired.append((Self.summaryName, version.summary))
        let backups = try makeBackups(version.backups)

        if files.kind(of: folder) == .missing {
            let staged = try stage(desired, version: version, carryingFrom: nil)
            try files.rename(staged, to: folder)
            try files.syncDirectory(parent)
            return Result(backups: backups, swappedFolder: true)
        }
        if files.kind(of: "\(folder)/\(Self.summaryName)") == .missing,
            files.kind(of: "\(folder)/\(Self.bookConfigurationName)") == .missing
        {
            // The folder was made for the status page of an outline that had never parsed: this
            // is its first publish, and it gets its book.toml as a new folder would.
            try files.replaceDurably(
                version.bookConfiguration,
                at: "\(folder)/\(Self.bookConfigurationName)",
                temporaryFolder: stagingRoot
            )
        }
        try followTitle(version)
        if version.removals.isEmpty {
            try replaceChangedFiles(desired, unchanged: version.unchanged)
            return Result(backups: backups, swappedFolder: false)
        }
        try swapFolder(desired, version: version)
        return Result(backups: backups, swappedFolder: true)
    }

    /// Rewrites `book.toml` with the course's title when it still holds exactly what coursegen
    /// wrote for the previous one.
    private func followTitle(_ version: Version) throws(FileError) {
        let path = "\(folder)/\(Self.bookConfigurationName)"
        guard let previous = version.previousBookConfiguration, previous != version.bookConfiguration,
            files.kind(of: path) == .file, try files.read(path, limit: 64 * 1024) == previous
        else { return }
        try files.replaceDurably(version.bookConfiguration, at: path, temporaryFolder: stagingRoot)
    }

    // MARK: - Steps

    /// Hard-links each named live file to a free `NAME.orig` name (a copy if links are refused):
    /// the hand edit survives whatever happens to NAME next.
    private func makeBackups(_ names: [String]) throws(FileError) -> [String: String] {
        var made: [String: String] = [:]
        for name in names where files.kind(of: "\(folder)/\(name)") == .file {
            var candidate = "\(name).orig"
            var counter = 2
            while files.kind(of: "\(folder)/\(candidate)") != .missing {
                candidate = "\(name).orig-\(counter)"
                counter += 1
            }
            let source = "\(folder)/\(name)"
            if !files.link(source, as: "\(folder)/\(candidate)") {
                let bytes = try files.read(source) ?? []
                try files.replaceDurably(bytes, at: "\(folder)/\(candidate)", temporaryFolder: stagingRoot)
            }
            made[name] = candidate
        }
        if !made.isEmpty { try files.syncDirectory(folder) }
        return made
    }

    /// Per-file mode: no name disappears, so replacing files one by one never mixes numberings.
    private func replaceChangedFiles(_ desired: [(name: String, bytes: [UInt8])], unchanged: Set<String>)
        throws(FileError)
    {
        var changed = false
        for file in desired where !unchanged.contains(file.name) {
            let temporary = "\(stagingRoot)/\(baseName).\(UInt64.random(in: 0 ... .max)).tmp"
            try files.writeNewFile(file.bytes, to: temporary)
            try files.rename(temporary, to: "\(folder)/\(file.name)")
            changed = true
        }
        if changed { try files.syncDirectory(folder) }
    }

    /// Folder mode: stage the whole new folder, exchange it with the live one, carry back what
    /// the publisher does not own, and drop the old one.
    private func swapFolder(_ desired: [(name: String, bytes: [UInt8])], version: Version) throws(FileError) {
        let staged = try stage(desired, version: version, carryingFrom: folder)
        try files.exchange(staged, folder)
        try files.syncDirectory(parent)
        // `staged` now holds the old folder. Whatever it has that we do not own and the new folder
        // lacks (a folder such as `book/`, a file someone replaced or created since staging) goes
        // back in: nothing of the user's is lost.
        var carried = false
        for name in try files.entries(of: staged) where !Self.isManaged(name) {
            let old = "\(staged)/\(name)"
            let new = "\(folder)/\(name)"
            let sameFile =
                files.identity(of: old).map { old in
                    files.identity(of: new).map { $0 == old } ?? false
                } ?? false
            if !sameFile {
                try files.remove(new)
                try files.rename(old, to: new)
                carried = true
            }
        }
        if carried { try files.syncDirectory(folder) }
        let retired =
            "\(stagingRoot)/\(baseName).retired.\(Int(Date().timeIntervalSince1970)).\(UInt64.random(in: 0 ... .max))"
        try files.rename(staged, to: retired)
    }

    /// Builds a complete folder in the staging area and returns its path. Unchanged chapter files
    /// and every regular file the publisher does not own are hard-linked from `source`.
    private func stage(_ desired: [(name: String, bytes: [UInt8])], version: Version, carryingFrom source: String?)
        throws(FileError) -> String
    {
        let staged = "\(stagingRoot)/\(baseName).\(UInt64.random(in: 0 ... .max))"
        try files.makeDirectory(staged)
        for file in desired {
            let target = "\(staged)/\(file.name)"
            if let source, version.unchanged.contains(file.name), files.link("\(source)/\(file.name)", as: target) {
                continue
            }
            try files.writeNewFile(file.bytes, to: target)
        }
        if let source {
            for name in try files.entries(of: source) where !Self.isManaged(name) {
                if files.kind(of: "\(source)/\(name)") == .file {
                    _ = files.link("\(source)/\(name)", as: "\(staged)/\(name)")
                }
            }
        }
        if source == nil {
            // A new folder gets a book.toml once; after that it is the user's to edit or delete.
            try files.writeNewFile(version.bookConfiguration, to: "\(staged)/\(Self.bookConfigurationName)")
        }
        try files.syncDirectory(staged)
        return staged
    }
}
