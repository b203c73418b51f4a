public import Foundation
import Platform
public import Providers

/// A Batch API job coursegen creates or created and has not finished with:
/// `STATE/batches/<id>.json`, written durably before the create is sent (with no name yet: an
/// intent, and the display name the job will have) and again the moment the API named the job,
/// before its first poll. Creating a job is not idempotent, so this record is what makes a
/// crash, a restart or a second `generate --batch` poll the same job instead of paying for a
/// second one; an intent whose create got no answer is looked up by its display name. Removed
/// once every answer it brought is stored (or the job ended without them).
public struct BatchJobRecord: Sendable, Hashable, Codable {
    /// "batches/…"; empty while the create has not been answered.
    public var name: String
    /// The job's display name, unique (it ends with a random token): how a job whose create
    /// lost its answer is found again, and the record's file name.
    public var displayName: String
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
        displayName: String,
        model: String,
        keys: [ChapterKey],
        outline: String,
        folder: String,
        submitted: Date,
        state: BatchJobState = .pending
    ) {
        self.name = name
        self.displayName = displayName
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

    func batchRecordPath(_ displayName: String) -> String {
        "\(batchesPath)/\(sha256Hex(displayName.utf8).prefix(32)).json"
    }

    /// Every Batch API job not finished with, oldest first.
    public func batchJobs() throws(FileError) -> [BatchJobRecord] {
        try files.readAllJSON(BatchJobRecord.self, in: batchesPath).sorted { $0.submitted < $1.submitted }
    }

    /// Keeps `record` durably (it replaces the one of the same job).
    func saveBatchJob(_ record: BatchJobRecord) throws(FileError) {
        try files.saveJSON(record, at: batchRecordPath(record.displayName))
    }

    /// Forgets `record`'s job (its answers are stored, it ended without them, or its create was
    /// refused).
    func removeBatchJob(_ record: BatchJobRecord) throws(FileError) {
        try files.remove(batchRecordPath(record.displayName))
        try files.syncDirectory(batchesPath)
    }
}
