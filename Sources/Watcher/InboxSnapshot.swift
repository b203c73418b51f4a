import Platform
import SystemPackage

/// What the watcher knows of each outline while the inbox is scanned periodically: the signature it last saw and
/// the content it last reported. Pure: the scans and readings it judges are handed to it.
///
/// It makes the periodic scan cheap and exact:
/// - `changes(in:)` compares a scan's signatures with the ones seen before: only paths that appeared, vanished
///   or whose signature changed are to be looked at (a scan of 500 unchanged outlines reads nothing);
/// - `judge(_:_:)` decides what a look at one of them (after the debounce) means: a file that changed
///   since the scan saw it, or while it was read, is still being written and is looked at again later; a file
///   whose content is the one last reported is not reported (a touch, a chmod, an identical rewrite); any other
///   content is reported once and remembered.
///
/// A file read within `timestampGranularity` of its last modification is "racily clean", as git calls it: a
/// second write in the same timestamp tick, of the same size, would leave its signature as it is. The next scan
/// reads such a file again whatever its signature.
struct InboxSnapshot: Sendable {
    /// The coarsest modification-time resolution expected: 2 s (FAT; ext3 and some NFS servers have 1 s).
    static let timestampGranularity = Duration.seconds(2)

    /// The signature each inbox-relative path had when a scan or a look last saw it; no entry: not there.
    private(set) var seen: [String: FileSignature] = [:]
    /// The content each path had when it was last reported changed.
    private(set) var reported: [String: ContentDigest] = [:]
    /// Paths a scan saw change and no look has settled since: a look must find them as `seen` says, or they
    /// are still changing.
    private(set) var awaitingLook: Set<String> = []
    /// Paths whose last reading came within `timestampGranularity` of their modification.
    private(set) var racilyClean: Set<String> = []

    /// Records a periodic scan of every outline candidate (symlinks by their target's signature).
    /// - Parameters:
    ///   - scan: the signature of every outline candidate found, by inbox-relative path.
    ///   - unlistedFolders: folders (inbox-relative, "" for the inbox) the scan could not list: what was seen
    ///     below them is kept as it was, rather than taken as gone.
    /// - Returns: the paths that appeared, vanished or changed signature since they were last seen, and the
    ///   racily clean ones, sorted: each is to be looked at once it has settled. Other paths are not.
    mutating func changes(in scan: [String: FileSignature], unlistedFolders: Set<String> = []) -> [String] {
        func isUnlisted(_ path: String) -> Bool {
            unlistedFolders.contains { path.isPath(within: $0) }
        }
        var changed: [String] = []
        for path in Set(scan.keys).union(seen.keys).sorted() {
            let racy = scan[path] != nil && racilyClean.contains(path)
            guard scan[path] != seen[path] || racy else { continue }
            if scan[path] == nil, isUnlisted(path) { continue }
            racilyClean.remove(path)
            seen[path] = scan[path]
            awaitingLook.insert(path)
            changed.append(path)
        }
        return changed
    }

    /// One look at a path, once its report is due.
    struct Look: Sendable, Equatable {
        /// What the path is (see `InboxInspector.entry(at:)`).
        var entry: InboxEntry
        /// Its signature as a scan takes it (`InboxInspector.signature(at:)`): nil unless it is, or leads to, a
        /// regular file.
        var signature: FileSignature?
        /// Its reading when `entry` is `.file` or `.linkToFile`; nil otherwise.
        var sample: Result<ContentReader.Sample, Errno>?
    }

    /// Decides what a look at `path` means, and remembers it.
    /// - Returns: `look.entry` when it is to be reported as it is (a changed outline, or something gone or not
    ///   an outline); `.changingFile` when it is still being written (look again after the debounce);
    ///   `.unchangedFile` when its content is the one last reported.
    mutating func judge(_ path: String, _ look: Look) -> InboxEntry {
        let entry = look.entry
        guard entry == .file || entry == .linkToFile, let sample = look.sample else {
            // Gone, or not an outline (any more): a later reappearance is new content. It is seen as a scan
            // sees it, so that the next scan does not ask about it again.
            reported[path] = nil
            awaitingLook.remove(path)
            racilyClean.remove(path)
            seen[path] = look.signature
            return entry
        }
        switch sample {
        case .failure(.noSuchFileOrDirectory):
            // Gone between the look and the reading (a rename dance): look again.
            seen[path] = nil
            awaitingLook.insert(path)
            return .changingFile
        case .failure:
            // Unreadable: report it, so that whoever reads it says why; its content is unknown.
            reported[path] = nil
            awaitingLook.remove(path)
            racilyClean.remove(path)
            seen[path] = look.signature
            return entry
        case .success(let reading):
            let sinceScan = awaitingLook.contains(path) && seen[path] != reading.before
            guard reading.isConsistent, !sinceScan else {
                seen[path] = reading.current ?? reading.after
                awaitingLook.insert(path)
                return .changingFile
            }
            seen[path] = reading.after
            awaitingLook.remove(path)
            if reading.readAt < reading.after.modified + Self.timestampGranularity {
                racilyClean.insert(path)
            } else {
                racilyClean.remove(path)
            }
            if reported[path] == reading.digest { return .unchangedFile }
            reported[path] = reading.digest
            return entry
        }
    }
}
