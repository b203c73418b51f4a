public import Foundation
import Platform

/// coursegen's state folder: stored bodies (`store/`), manifests (`manifests/`), publishing locks
/// (`locks/`), the chapters being asked for (`inflight/`), the daemon's lock (`watch.lock`).
/// Read by `coursegen status`, swept by `coursegen gc`.
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
    var inflight: String { "\(path)/inflight" }

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

    /// Whether the file at `path` is one coursegen wrote, never an outline: a chapter,
    /// `SUMMARY.md` or anything else in a folder this state folder publishes into (it has a
    /// manifest), or a course's status page (`STATUS.md`, which also stands in folders of
    /// outlines that never published). Reading one as an outline would pay for chapters about
    /// chapters, and publish them, without end.
    public func wroteFile(at path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        if files.kind(of: manifests.path(forFolder: folder)) == .file { return true }
        guard (path as NSString).lastPathComponent == StatusPage.fileName,
            let bytes = try? files.read(path, limit: 1 << 20)
        else { return false }
        return StatusPage.isStatusPage(bytes)
    }

    /// The status of every course this state folder knows, by outline name: the daemon's latest
    /// for the courses it watches, else what each folder's manifest says (a manifest newer than
    /// the daemon's status wins: `coursegen generate` ran since).
    public func status() throws(FileError) -> [CourseStatus] {
        var byFolder: [String: CourseStatus] = [:]
        for manifest in try manifests.all() {
            byFolder[manifest.folder] = CourseStatus(manifest: manifest, updated: manifest.lastRun)
        }
        for kept in try courseStatuses() {
            if let derived = byFolder[kept.folder], let lastRun = derived.lastRun, lastRun > kept.updated { continue }
            byFolder[kept.folder] = kept
        }
        return byFolder.values.sorted { $0.outline < $1.outline }
    }

    private var coursesPath: String { "\(path)/courses" }

    func courseStatusPath(forFolder folder: String) -> String {
        "\(coursesPath)/\(sha256Hex(folder.utf8).prefix(32)).json"
    }

    /// Keeps `status` as the latest of its course (the daemon does, whenever it changes).
    public func saveCourseStatus(_ status: CourseStatus) throws(FileError) {
        let bytes: [UInt8]
        do { bytes = Array(try BodyStore.encoder.encode(status)) } catch {
            preconditionFailure("encoding a CourseStatus cannot fail: \(error)")
        }
        try files.makeDirectory(coursesPath, mode: [.ownerReadWriteExecute, .groupReadExecute])
        try files.replaceDurably(bytes, at: courseStatusPath(forFolder: status.folder), mode: [.ownerReadWrite, .groupRead])
    }

    /// The statuses the daemon kept; unreadable ones are skipped.
    func courseStatuses() throws(FileError) -> [CourseStatus] {
        var statuses: [CourseStatus] = []
        for name in try files.entries(of: coursesPath).sorted() where name.hasSuffix(".json") {
            guard let bytes = try files.read("\(coursesPath)/\(name)"),
                let status = try? BodyStore.decoder.decode(CourseStatus.self, from: Data(bytes))
            else { continue }
            statuses.append(status)
        }
        return statuses
    }

    public struct GarbageReport: Sendable, Hashable {
        /// Bodies no manifest references that were older than the grace period.
        public var removed: Int
        public var bytesFreed: Int
        /// Bodies no manifest references yet, still inside the grace period.
        public var kept: Int
        /// Temporary files a crash left behind: half-written answers, and the lock files of
        /// chapters in flight in a process that was killed.
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
        report.temporariesRemoved += try InFlightChapters.sweep(directory: inflight)
        return report
    }
}
