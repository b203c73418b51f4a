import Outlines
import Platform
import Providers

/// What the engine read from disk for a plan: the manifest, the managed files in the folder and
/// the stored texts rendered for their chapters.
struct Gathered: Sendable {
    struct LiveFile: Sendable {
        var identity: FileSystem.Identity
        var bytes: [UInt8]
        var hash: String
    }

    /// A chapter's text rendered as its file.
    struct Text: Sendable {
        var bytes: [UInt8]
        /// Computed once, when the text is set: a plan is made at every chapter's arrival, and
        /// hashing every chapter each time made a long course quadratic.
        var hash: String
        var neutralised: ChapterSanitizer.Neutralised
        var usage: Usage
        /// What `usage` was billed at.
        var tier: BillingTier

        /// `body` rendered for its chapter `title`.
        init(_ body: BodyStore.Body, title: String, allowHTML: Bool) {
            let file = ChapterFile.render(title: title, body: body.text, allowHTML: allowHTML)
            (bytes, hash, neutralised, usage) = (file.bytes, sha256Hex(file.bytes), file.neutralised, body.usage)
            tier = body.tier ?? .standard
        }
    }

    var previous: Manifest?
    /// Managed files in the folder now, by name.
    var live: [String: LiveFile] = [:]
    /// The chapters whose text is available, by key.
    var texts: [ChapterKey: Text] = [:]

    /// Reads the manifest and the folder's managed files; a file whose identity (inode, size,
    /// times) is the one `earlier` read is not read again. The texts are carried from `earlier`.
    static func read(folder: String, state: StateDirectory, reusing earlier: Gathered) throws(FileError) -> Gathered {
        var gathered = Gathered(previous: try state.manifests.manifest(forFolder: folder), texts: earlier.texts)
        for name in try state.files.entries(of: folder) where Publisher.isManaged(name) {
            let path = "\(folder)/\(name)"
            guard let identity = state.files.contentIdentity(of: path) else { continue }
            if let known = earlier.live[name], known.identity == identity {
                gathered.live[name] = known
            } else if let bytes = try state.files.read(path) {
                gathered.live[name] = LiveFile(identity: identity, bytes: bytes, hash: sha256Hex(bytes))
            }
        }
        return gathered
    }
}
