import Foundation
public import Outlines
import Platform

/// Which outline file owns each output folder, so that two outlines never publish into one
/// folder (`course.md` and `course.yaml` both map to `OUTPUT/course/`). Kept in the state folder
/// (`STATE/claims/<sha256 of the folder>.json`).
///
/// The rule: the outline that claimed the folder first keeps it. When no claim is recorded and
/// several outlines map to the folder, the first path in byte order wins. A claim ends when its
/// outline file no longer exists (removed, or renamed: the renamed file then claims afresh, so
/// a rename still publishes under the new name from the cache). Blocking: call it from
/// `BlockingIO`.
public struct FolderClaims: Sendable {
    struct Claim: Codable, Hashable {
        var folder: String
        var source: String
    }

    /// What `claim` decided.
    public enum Decision: Sendable, Hashable {
        /// `source` owns the folder.
        case granted
        /// Another outline owns it; nothing of `source` may be published there.
        case refused(owner: String)
    }

    let directory: String
    let files: FileSystem

    public init(stateDirectory: String) {
        self.init(directory: "\(stateDirectory)/claims", files: .posix)
    }

    init(directory: String, files: FileSystem) {
        self.directory = directory
        self.files = files
    }

    func path(forFolder folder: String) -> String {
        "\(directory)/\(sha256Hex(folder.utf8).prefix(32)).json"
    }

    /// Claims `folder` for the outline at `source` (absolute).
    /// - Parameter rivals: every other outline file that maps to `folder` now (absolute paths);
    ///   used only when no claim is recorded.
    public func claim(_ folder: String, for source: String, rivals: [String]) throws(FileError) -> Decision {
        if let recorded = try read(folder) {
            if recorded.source == source { return .granted }
            // A claim whose outline is gone ended with it.
            if files.kind(of: recorded.source) != .missing { return .refused(owner: recorded.source) }
        }
        let contenders = (rivals.filter { files.kind(of: $0) != .missing } + [source])
        let winner = contenders.min { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }!
        try files.saveJSON(Claim(folder: folder, source: winner), at: path(forFolder: folder))
        return winner == source ? .granted : .refused(owner: winner)
    }

    /// Ends `source`'s claim on `folder`, if it holds it (its outline was removed).
    public func release(_ folder: String, from source: String) throws(FileError) {
        guard try read(folder)?.source == source else { return }
        try files.remove(path(forFolder: folder))
    }

    /// The outline that owns `folder`, if any claimed it.
    public func owner(of folder: String) throws(FileError) -> String? {
        try read(folder)?.source
    }

    private func read(_ folder: String) throws(FileError) -> Claim? {
        guard let claim = try files.readJSON(Claim.self, at: path(forFolder: folder)), claim.folder == folder else {
            return nil
        }
        return claim
    }
}

extension Outline {
    /// The folder name an outline file publishes under: its name without the extension
    /// (`practical-rust.md` -> `practical-rust`, `course.v2.md` -> `course.v2`). Nil when that
    /// leaves nothing usable (`.hidden.md`, `.md`) or a name with a control character.
    public static func folderName(forFile fileName: String) -> String? {
        guard OutlineFormat(fileName: fileName) != nil, let dot = fileName.lastIndex(of: ".") else { return nil }
        let stem = String(fileName[..<dot])
        guard !stem.isEmpty, !stem.hasPrefix("."), !stem.contains("/"),
            !stem.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        return stem
    }

    /// The other outline files in `folder` (names, not paths) that would publish under the same
    /// folder name as `fileName`: `course.yaml` beside `course.md`.
    public static func rivals(of fileName: String, among names: [String]) -> [String] {
        guard let stem = folderName(forFile: fileName) else { return [] }
        return names.filter { $0 != fileName && folderName(forFile: $0) == stem }.sorted()
    }
}
