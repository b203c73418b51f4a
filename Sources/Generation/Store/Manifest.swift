import Foundation
import Providers
import Outlines
import Platform

/// What coursegen last published into one outline's folder, and why: per chapter its key, its
/// file and the hash of that file as written (so a hand edit is recognised), plus totals for
/// `coursegen status`. Stored as `STATE/manifests/<id>.json`, replaced atomically.
struct Manifest: Codable, Sendable, Hashable {
    static let currentVersion = 1

    struct Chapter: Codable, Sendable, Hashable {
        enum State: String, Codable, Sendable {
            /// The file holds the text for the chapter's current key.
            case upToDate = "up-to-date"
            /// Generation failed; `error` says why; an earlier version may still be published.
            case failed
            /// Someone edited the file; it is kept until `--force`.
            case handEdited = "hand-edited"
            /// Its text is being generated; an earlier version may still be published.
            case pending
            /// Not generated: the run's budget would not cover its request (`error` says how
            /// much); an earlier version may still be published. A save or a higher budget (or
            /// other prices) tries it again; the daemon's own retries do not.
            case skippedForBudget = "skipped-for-budget"
        }

        var title: String
        /// The key the current outline wants.
        var key: String
        /// The published file's name, nil when nothing is published for this chapter.
        var file: String?
        /// SHA-256 of the file as coursegen wrote it.
        var sha256: String?
        /// The key whose text the published file holds (differs from `key` while stale).
        var publishedKey: String?
        var state: State
        var error: String?
        /// For a failed chapter: whether trying again later may help (false: only the author, or
        /// the configuration, can fix it). Nil when not known.
        var retryable: Bool?
        /// For a failed chapter: how the failure was classified (who can fix it). Nil in
        /// manifests from before it was kept.
        var disposition: ProviderError.Disposition?
        /// Tokens the text it holds took, retries included, when it holds the text of `key`.
        var usage: Usage?
        /// Their estimated cost, at the price of its model when the text was generated.
        var cost: CostEstimate?
    }

    var version = Manifest.currentVersion
    /// The outline's name in the output tree (`team-a/practical-rust`).
    var outline: String
    /// The outline file last used.
    var source: String
    /// The published folder (absolute).
    var folder: String
    var title: String
    /// `Outline.digest` of the outline last brought up to date.
    var outlineDigest: String
    var chapters: [Chapter]
    /// SHA-256 of `SUMMARY.md` as written.
    var summarySha256: String?
    /// Tokens spent on this outline, retries included.
    var usage: Usage
    /// Their estimated cost, each run's at the prices it had. Nil in manifests written before
    /// costs were estimated (their tokens are then counted as unpriced).
    var cost: CostEstimate?
    var requests: Int
    var lastRun: Date
    /// When a chapter of it was last generated (a request answered).
    var lastGenerated: Date?
    /// The model the outline was last generated with.
    var model: String?
    /// The service tier of its last run, nil for standard (and in manifests from before tiers).
    var serviceTier: ServiceTier?
    /// Whether the chapters were published with the model's HTML kept as written
    /// (`--allow-html`); nil in a manifest from before chapters were sanitized.
    var htmlAllowed: Bool?
    /// `ChapterSanitizer.version` of the rules the chapters were published with; nil in a
    /// manifest from before it was recorded (older rules).
    var sanitizerVersion: Int?
    /// The daemon's next try of the chapters that failed for a reason that may pass, and how
    /// many tries of them failed in a row (`watch` only).
    var retry: RetryTime?
    /// The last run's budget (nil: none) and the price it estimated with: chapters it skipped
    /// for the budget are tried again by a run with a higher budget or another price.
    var budget: Double?
    var price: Price?

    /// The outline file that published this folder before `source` took it over (`course.md`
    /// removed, `course.yaml` refused for the folder until then), and when; costs count from then.
    var takenOver: TakeOver?

    struct TakeOver: Codable, Sendable, Hashable {
        var from: String
        var at: Date
    }

    /// Hashes of files a publish in progress may have left (the previous or next version), also
    /// recognised as written by coursegen: a crash between writing the manifest and swapping
    /// files must not make coursegen's own files look hand-edited.
    var transitionalHashes: [String] = []

    /// Hashes of every file coursegen wrote for this folder, as far as this manifest knows.
    var allHashes: Set<String> {
        Set(chapters.compactMap(\.sha256) + [summarySha256].compactMap { $0 } + transitionalHashes)
    }

    /// True when `hash` is the hash of a file coursegen wrote for this folder.
    func wrote(_ hash: String) -> Bool {
        allHashes.contains(hash)
    }
}

/// Manifests by output folder: `STATE/manifests/<first 32 hex of sha256(folder)>.json`.
struct ManifestStore: Sendable {
    let directory: String
    let files: FileSystem

    func path(forFolder folder: String) -> String {
        "\(directory)/\(sha256Hex(folder.utf8).prefix(32)).json"
    }

    /// The manifest for `folder`, nil if there is none or it cannot be decoded (then the folder's
    /// files are treated as not written by coursegen: hand edits are kept, nothing is lost).
    func manifest(forFolder folder: String) throws(FileError) -> Manifest? {
        try files.readJSON(Manifest.self, at: path(forFolder: folder))
    }

    func save(_ manifest: Manifest) throws(FileError) {
        try files.saveJSON(manifest, at: path(forFolder: manifest.folder))
    }

    func all() throws(FileError) -> [Manifest] {
        try files.readAllJSON(Manifest.self, in: directory)
    }
}
