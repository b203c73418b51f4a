public import Foundation
import Platform
public import Providers

/// A Batch API job coursegen created and has not finished with: `STATE/batches/<id>.json`,
/// written durably the moment the API named the job, before its first poll. Creating a job is not
/// idempotent, so this record is what makes a crash, a restart or a second `generate --batch`
/// poll the same job instead of paying for a second one. Removed once every answer it brought is
/// stored (or the job ended without them).
public struct BatchJobRecord: Sendable, Hashable, Codable {
    /// "batches/…".
    public var name: String
    public var model: String
    /// The chapters' keys (hex), in the order they were sent: results without a key are matched
    /// by position.
    public var keys: [String]
    /// The outline (its name in logs and status) and the folder it publishes into.
    public var outline: String
    public var folder: String
    public var submitted: Date
    /// The state the last poll found.
    public var state: BatchJobState
    public var polled: Date?

    public init(
        name: String,
        model: String,
        keys: [ChapterKey],
        outline: String,
        folder: String,
        submitted: Date,
        state: BatchJobState = .pending
    ) {
        self.name = name
        self.model = model
        self.keys = keys.map(\.hex)
        self.outline = outline
        self.folder = folder
        self.submitted = submitted
        self.state = state
    }

    /// The keys that read back as keys (a damaged entry is dropped, its chapter asked again).
    public var chapterKeys: [ChapterKey] { keys.compactMap(ChapterKey.init(hex:)) }
}

extension StateDirectory {
    var batchesPath: String { "\(path)/batches" }

    func batchRecordPath(_ name: String) -> String {
        "\(batchesPath)/\(sha256Hex(name.utf8).prefix(32)).json"
    }

    /// Every Batch API job not finished with, oldest first.
    public func batchJobs() throws(FileError) -> [BatchJobRecord] {
        try files.readAllJSON(BatchJobRecord.self, in: batchesPath).sorted { $0.submitted < $1.submitted }
    }

    /// Keeps `record` durably (it replaces the one of the same job).
    func saveBatchJob(_ record: BatchJobRecord) throws(FileError) {
        try files.saveJSON(record, at: batchRecordPath(record.name))
    }

    /// Forgets the job `name` (its answers are stored, or it ended without them).
    func removeBatchJob(named name: String) throws(FileError) {
        try files.remove(batchRecordPath(name))
        try files.syncDirectory(batchesPath)
    }
}
