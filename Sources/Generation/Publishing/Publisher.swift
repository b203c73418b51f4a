import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Puts an outline's chapter files in place so that a reader of the folder never sees a partial
/// file, an empty file, a temporary file, or two numberings mixed.
///
/// Everything is first written under `<parent>/.coursegen-staging/` (same file system) and
/// fsync'd. When the set of chapter file names is unchanged or only grows, changed files are
/// renamed into place one by one (chapters first, `SUMMARY.md` last). When a name goes away (a
/// renumbering, a removal, a retitle), a complete new folder is staged and exchanged with the live
/// one in one `renameat2(RENAME_EXCHANGE)`. Files the publisher does not own (`book.toml`, the
/// `book/` build, `.orig` backups, anything a user put there) are carried over. The replaced
/// version is left intact in the staging area for a while, for readers still listing it.
struct Publisher {
    /// The outline's folder, e.g. `OUTPUT/practical-rust`.
    let folder: String

    struct Plan {
        /// Chapter files in outline order, named by `ChapterFile.name`.
        var chapters: [(name: String, bytes: [UInt8])]
        var summary: [UInt8]
        /// Written only when the folder is created.
        var bookConfiguration: [UInt8]
        /// Live files to keep as `NAME.orig` before they are replaced or removed (hand edits).
        var backups: [String]
    }

    struct Result {
        /// SHA-256 of every file written or kept, by name.
        var hashes: [String: String]
        /// Backups made: original name -> backup name.
        var backups: [String: String]
        /// True when the folder was exchanged as a whole.
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

    /// Names of the managed files now in the folder.
    func liveManagedNames() throws(FileError) -> [String] {
        try FileSystem.entries(of: folder).filter(Self.isManaged)
    }

    /// How long a replaced version of the folder is kept after a swap. A reader that opened the
    /// folder just before the swap is reading that version: emptying it at once would show the
    /// reader files vanishing mid-listing.
    static let retiredVersionLifetime: TimeInterval = 120

    /// Removes what an interrupted earlier publish of this folder left in the staging area, and
    /// replaced versions older than `retiredVersionLifetime`.
    func removeLeftovers(now: Date = Date()) throws(FileError) {
        let retiredPrefix = "\(baseName).retired."
        for name in try FileSystem.entries(of: stagingRoot) where name.hasPrefix(baseName + ".") {
            if name.hasPrefix(retiredPrefix),
                let retiredAt = name.dropFirst(retiredPrefix.count).split(separator: ".").first.flatMap({
                    TimeInterval($0)
                }),
                now.timeIntervalSince1970 - retiredAt < Self.retiredVersionLifetime
            {
                continue
            }
            try FileSystem.remove("\(stagingRoot)/\(name)")
        }
    }

    func publish(_ plan: Plan) throws(FileError) -> Result {
        switch FileSystem.kind(of: folder) {
        case .missing, .directory: break
        default:
            throw FileError(path: folder, operation: "publish into (it exists and is not a folder)", errno: ENOTDIR)
        }
        try FileSystem.makeDirectory(stagingRoot)
        try removeLeftovers()

        var desired = plan.chapters
        desired.append((Self.summaryName, plan.summary))
        let hashes = Dictionary(desired.map { ($0.name, sha256Hex($0.bytes)) }, uniquingKeysWith: { first, _ in first })
        let backups = try makeBackups(plan.backups)

        if FileSystem.kind(of: folder) == .missing {
            let staged = try stage(desired, plan: plan, carryingFrom: nil)
            try FileSystem.rename(staged, to: folder)
            try FileSystem.syncDirectory(parent)
            return Result(hashes: hashes, backups: backups, swappedFolder: true)
        }

        let desiredNames = Set(desired.map(\.name))
        let disappearing = try liveManagedNames().filter { !desiredNames.contains($0) }
        if disappearing.isEmpty {
            try replaceChangedFiles(desired)
            return Result(hashes: hashes, backups: backups, swappedFolder: false)
        }
        try swapFolder(desired, plan: plan)
        return Result(hashes: hashes, backups: backups, swappedFolder: true)
    }

    // MARK: - Steps

    /// Hard-links each named live file to a free `NAME.orig` name (a copy if links are refused):
    /// the hand edit survives whatever happens to NAME next.
    private func makeBackups(_ names: [String]) throws(FileError) -> [String: String] {
        var made: [String: String] = [:]
        for name in names where FileSystem.kind(of: "\(folder)/\(name)") == .file {
            var candidate = "\(name).orig"
            var counter = 2
            while FileSystem.kind(of: "\(folder)/\(candidate)") != .missing {
                candidate = "\(name).orig-\(counter)"
                counter += 1
            }
            let source = "\(folder)/\(name)"
            if !FileSystem.link(source, as: "\(folder)/\(candidate)") {
                let bytes = try FileSystem.read(source) ?? []
                try FileSystem.replaceDurably(bytes, at: "\(folder)/\(candidate)", temporaryFolder: stagingRoot)
            }
            made[name] = candidate
        }
        if !made.isEmpty { try FileSystem.syncDirectory(folder) }
        return made
    }

    /// Per-file mode: no name disappears, so replacing files one by one never mixes numberings.
    private func replaceChangedFiles(_ desired: [(name: String, bytes: [UInt8])]) throws(FileError) {
        var changed = false
        for file in desired {
            let path = "\(folder)/\(file.name)"
            if FileSystem.kind(of: path) == .file, let live = try FileSystem.read(path), live == file.bytes { continue }
            let temporary = "\(stagingRoot)/\(baseName).\(UInt64.random(in: 0 ... .max)).tmp"
            try FileSystem.writeNewFile(file.bytes, to: temporary)
            try FileSystem.rename(temporary, to: path)
            changed = true
        }
        if changed { try FileSystem.syncDirectory(folder) }
    }

    /// Folder mode: stage the whole new folder, exchange it with the live one, carry back what
    /// the publisher does not own, and drop the old one.
    private func swapFolder(_ desired: [(name: String, bytes: [UInt8])], plan: Plan) throws(FileError) {
        let staged = try stage(desired, plan: plan, carryingFrom: folder)
        try FileSystem.exchange(staged, folder)
        try FileSystem.syncDirectory(parent)
        // `staged` now holds the old folder. Whatever it has that we do not own and the new folder
        // lacks (a folder such as `book/`, a file someone replaced or created since staging) goes
        // back in: nothing of the user's is lost.
        var carried = false
        for name in try FileSystem.entries(of: staged) where !Self.isManaged(name) {
            let old = "\(staged)/\(name)"
            let new = "\(folder)/\(name)"
            let sameFile =
                FileSystem.identity(of: old).map { old in
                    FileSystem.identity(of: new).map { $0 == old } ?? false
                } ?? false
            if !sameFile {
                try FileSystem.remove(new)
                try FileSystem.rename(old, to: new)
                carried = true
            }
        }
        if carried { try FileSystem.syncDirectory(folder) }
        let retired =
            "\(stagingRoot)/\(baseName).retired.\(Int(Date().timeIntervalSince1970)).\(UInt64.random(in: 0 ... .max))"
        try FileSystem.rename(staged, to: retired)
    }

    /// Builds a complete folder in the staging area and returns its path. Unchanged chapter files
    /// and every regular file the publisher does not own are hard-linked from `source`.
    private func stage(_ desired: [(name: String, bytes: [UInt8])], plan: Plan, carryingFrom source: String?)
        throws(FileError) -> String
    {
        let staged = "\(stagingRoot)/\(baseName).\(UInt64.random(in: 0 ... .max))"
        try FileSystem.makeDirectory(staged)
        for file in desired {
            let target = "\(staged)/\(file.name)"
            if let source, FileSystem.kind(of: "\(source)/\(file.name)") == .file,
                try FileSystem.read("\(source)/\(file.name)") == file.bytes,
                FileSystem.link("\(source)/\(file.name)", as: target)
            {
                continue
            }
            try FileSystem.writeNewFile(file.bytes, to: target)
        }
        if let source {
            for name in try FileSystem.entries(of: source) where !Self.isManaged(name) {
                if FileSystem.kind(of: "\(source)/\(name)") == .file {
                    _ = FileSystem.link("\(source)/\(name)", as: "\(staged)/\(name)")
                }
            }
        }
        if source == nil {
            // A new folder gets a book.toml once; after that it is the user's to edit or delete.
            try FileSystem.writeNewFile(plan.bookConfiguration, to: "\(staged)/\(Self.bookConfigurationName)")
        }
        try FileSystem.syncDirectory(staged)
        return staged
    }
}
