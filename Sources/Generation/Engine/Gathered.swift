/// What the engine read from disk for a plan: the manifest, the managed files in the folder and
/// the stored texts rendered for their chapters.
struct Gathered: Sendable {
    struct LiveFile: Sendable {
        var identity: FileSystem.Identity
        var bytes: [UInt8]
        var hash: String
    }

    var previous: Manifest?
    /// Managed files in the folder now, by name.
    var live: [String: LiveFile] = [:]
    /// Chapter keys whose text is available -> the file that text renders to.
    var rendered: [ChapterKey: [UInt8]] = [:]
    /// Chapter keys whose text is available -> the tokens that text took.
    var usage: [ChapterKey: Usage] = [:]
    /// What the sanitizer neutralised in each rendered text.
    var neutralised: [ChapterKey: ChapterSanitizer.Neutralised] = [:]
    /// The SHA-256 of each rendered text, computed once when it is set: a plan is made at every
    /// chapter's arrival, and hashing every chapter each time made a long course quadratic.
    var renderedHashes: [ChapterKey: String] = [:]

    /// Reads the manifest and the folder's managed files; a file whose identity (inode, size,
    /// times) is the one `earlier` read is not read again. `rendered` and `neutralised` are
    /// carried from `earlier`.
    static func read(folder: String, state: StateDirectory, reusing earlier: Gathered) throws(FileError) -> Gathered {
        var gathered = Gathered(
            previous: try state.manifests.manifest(forFolder: folder),
            rendered: earlier.rendered,
            usage: earlier.usage,
            neutralised: earlier.neutralised,
            renderedHashes: earlier.renderedHashes
        )
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

    /// Records the text `key` renders to, and its hash.
    mutating func setRendered(_ bytes: [UInt8], for key: ChapterKey) {
        rendered[key] = bytes
        renderedHashes[key] = sha256Hex(bytes)
    }
}
