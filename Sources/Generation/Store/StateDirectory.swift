public import Foundation

/// coursegen's state folder: stored bodies (`store/`), manifests (`manifests/`), locks
/// (`locks/`). Read by `coursegen status`, swept by `coursegen gc`.
public struct StateDirectory: Sendable {
    public let path: String
    let files: FileSystem

    public init(path: String) {
        self.init(path: path, files: .posix)
    }

    init(path: String, files: FileSystem) {
        self.path = path
        self.files = files
    }

    var store: BodyStore { BodyStore(directory: "\(path)/store", files: files) }
    var manifests: ManifestStore { ManifestStore(directory: "\(path)/manifests", files: files) }
    var locks: String { "\(path)/locks" }

    /// A daily-quota stop kept across restarts, so a restarted daemon does not spend a request to
    /// learn it again. Nil when there is none or it cannot be read.
    public func savedStop() -> SubmissionStop? {
        guard let bytes = try? files.read(stopPath) else { return nil }
        return try? BodyStore.decoder.decode(SubmissionStop.self, from: Data(bytes))
    }

    /// Keeps `stop` if it is a daily-quota stop; removes the kept one otherwise (it ended).
    public func saveStop(_ stop: SubmissionStop?) throws(FileError) {
        guard let stop, stop.reason == .dailyQuota else {
            try files.remove(stopPath)
            return
        }
        let bytes: [UInt8]
        do { bytes = Array(try BodyStore.encoder.encode(stop)) } catch {
            preconditionFailure("encoding a SubmissionStop cannot fail: \(error)")
        }
        try files.makeDirectory(path, mode: [.ownerReadWriteExecute, .groupReadExecute])
        try files.replaceDurably(bytes, at: stopPath, mode: [.ownerReadWrite, .groupRead])
    }

    private var stopPath: String { "\(path)/submission-stop.json" }

    /// One outline's state, as `coursegen status` shows it.
    public struct OutlineStatus: Sendable, Codable, Hashable {
        public struct Failure: Sendable, Codable, Hashable {
            public var chapter: Int
            public var title: String
            public var error: String
            /// Only the author can fix it (a blocked prompt, a refusal): it is not tried again.
            public var needsAuthor: Bool
        }
        /// One chapter, as its manifest entry has it.
        public struct Chapter: Sendable, Codable, Hashable {
            public var chapter: Int
            public var title: String
            /// `up-to-date`, `failed`, `hand-edited`, `pending` or `skipped-for-budget`.
            public var state: String
            /// The published file, if any.
            public var file: String?
            /// Tokens the text it holds took, retries included; nil when not known (hand-edited,
            /// not generated yet, or generated before costs were kept).
            public var usage: Usage?
            /// Their estimated cost at the price its model had then.
            public var cost: CostEstimate?
        }
        public var outline: String
        public var title: String
        public var source: String
        public var folder: String
        public var chapters: Int
        public var upToDate: Int
        public var handEdited: Int
        public var failed: [Failure]
        /// Chapters the last run did not request because its budget would not cover them.
        public var skippedForBudget: Int
        /// The last run's budget in US dollars, nil when it had none.
        public var budget: Double?
        /// Every chapter, in outline order, with what its text cost.
        public var chapterList: [Chapter]
        /// Tokens spent on this outline over all runs, retries included.
        public var usage: Usage
        /// Their estimated cost, each run's at the prices it had (tokens from before costs were
        /// estimated, or of a model with no price, are counted apart as unpriced).
        public var cost: CostEstimate
        /// Requests sent for this outline over all runs, retries included.
        public var requests: Int
        public var lastRun: Date
        public var lastGenerated: Date?
        /// When the daemon tries the failed chapters again, if it will.
        public var nextTry: Date?
    }

    /// Every outline this state folder has published, by name.
    public func status() throws(FileError) -> [OutlineStatus] {
        try manifests.all().map { manifest in
            OutlineStatus(
                outline: manifest.outline,
                title: manifest.title,
                source: manifest.source,
                folder: manifest.folder,
                chapters: manifest.chapters.count,
                upToDate: manifest.chapters.filter { $0.state == .upToDate }.count,
                handEdited: manifest.chapters.filter { $0.state == .handEdited }.count,
                failed: manifest.chapters.enumerated().compactMap { index, chapter in
                    guard chapter.state == .failed || (chapter.state == .handEdited && chapter.error != nil) else {
                        return nil
                    }
                    return .init(
                        chapter: index + 1,
                        title: chapter.title,
                        error: chapter.error ?? "unknown error",
                        needsAuthor: chapter.retryable == false
                    )
                },
                skippedForBudget: manifest.chapters.filter { $0.state == .skippedForBudget }.count,
                budget: manifest.budget,
                chapterList: manifest.chapters.enumerated().map { index, chapter in
                    .init(
                        chapter: index + 1,
                        title: chapter.title,
                        state: chapter.state.rawValue,
                        file: chapter.file,
                        usage: chapter.usage,
                        cost: chapter.cost
                    )
                },
                usage: manifest.usage,
                cost: manifest.cost ?? CostEstimate(unpriced: manifest.usage),
                requests: manifest.requests,
                lastRun: manifest.lastRun,
                lastGenerated: manifest.lastGenerated,
                nextTry: manifest.retry?.at
            )
        }
        .sorted { $0.outline < $1.outline }
    }

    public struct GarbageReport: Sendable, Hashable {
        /// Bodies no manifest references that were older than the grace period.
        public var removed: Int
        public var bytesFreed: Int
        /// Bodies no manifest references yet, still inside the grace period.
        public var kept: Int
        /// Temporary files a crash left behind.
        public var temporariesRemoved: Int
    }

    /// Removes stored bodies that no manifest references (neither published nor wanted by the
    /// current outline) and that are older than `grace`. The grace period protects a body that was
    /// just generated by a run that has not written its manifest yet, or a chapter an author
    /// deleted and may put back.
    public func collectGarbage(grace: Duration, now: Date = Date()) throws(FileError) -> GarbageReport {
        let referenced = Set(
            try manifests.all().flatMap { manifest in
                manifest.chapters.flatMap { [$0.key, $0.publishedKey].compactMap { $0 } }
            }
        )
        let graceSeconds = Double(grace.components.seconds)
        var report = GarbageReport(removed: 0, bytesFreed: 0, kept: 0, temporariesRemoved: 0)
        for (key, age) in try store.allKeys(now: now) where !referenced.contains(key.hex) {
            if age > graceSeconds {
                report.bytesFreed += files.size(of: store.path(for: key)) ?? 0
                try store.remove(key)
                report.removed += 1
            } else {
                report.kept += 1
            }
        }
        report.temporariesRemoved = try store.removeStaleTemporaries(olderThan: 3600, now: now)
        return report
    }
}
