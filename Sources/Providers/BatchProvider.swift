import Foundation

/// A provider that can also take chapters as one Batch API job (Gemini's `batchGenerateContent`):
/// half the price, answers within a day instead of a minute.
///
/// Creating a job is not idempotent: a job created twice is paid twice. The caller keeps the
/// name `submitBatch` returns durably before it does anything else, and from then on only polls.
public protocol BatchProvider: Sendable {
    /// The requests in jobs the API takes (inline requests up to its size limit), in order:
    /// each group is one job.
    func batchGroups(_ requests: [ChapterRequest]) -> [[ChapterRequest]]

    /// Creates one job holding `requests` (one model), each tagged with its chapter's key.
    /// - Parameter displayName: shown in Google's console, to tell coursegen's jobs apart.
    /// - Throws: `ProviderError` as for a chapter (`.stopEverything` for a refused key or model).
    func submitBatch(_ requests: [ChapterRequest], displayName: String, timeout: Duration) async throws -> BatchJob

    /// The job's state now, and its results once it has finished.
    /// - Parameter keys: the keys the job was created with, in order: results without a key are
    ///   matched by position.
    /// - Throws: `ProviderError` when the job could not be read (a 404 is `.fatal`: the job is
    ///   gone).
    func batchJob(named name: String, keys: [ChapterKey], timeout: Duration) async throws -> BatchJob

    /// The name of the job created with `displayName`, found in the project's list of jobs; nil
    /// when there is none (its create never reached the API). What a create whose answer was
    /// lost left behind is found this way instead of being paid for twice.
    /// - Throws: `ProviderError` when the list cannot be read.
    func findBatch(displayName: String, timeout: Duration) async throws -> String?
}

/// Where a Batch API job is: the API's `BATCH_STATE_*` (or `JOB_STATE_*`) without its prefix.
public enum BatchJobState: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, running, succeeded, failed, cancelled, expired
    /// A state coursegen does not know (an API newer than it): polled on as if running.
    case unknown

    /// Reads `BATCH_STATE_RUNNING` and `JOB_STATE_RUNNING` alike (python-genai's `t_job_state`
    /// maps the first to the second; the REST API sends the first).
    public init(wire: String) {
        var name = wire.uppercased()
        for prefix in ["BATCH_STATE_", "JOB_STATE_"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
        }
        switch name {
        case "PENDING", "QUEUED": self = .pending
        case "RUNNING", "UPDATING", "PAUSED", "CANCELLING": self = .running
        case "SUCCEEDED", "PARTIALLY_SUCCEEDED": self = .succeeded
        case "FAILED": self = .failed
        case "CANCELLED": self = .cancelled
        case "EXPIRED": self = .expired
        default: self = .unknown
        }
    }

    /// The job will not change any more.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .expired: true
        case .pending, .running, .unknown: false
        }
    }
}

/// One Batch API job as the API described it.
public struct BatchJob: Sendable {
    /// "batches/…": what the job is polled by.
    public var name: String
    public var state: BatchJobState
    /// The job's own error, when it failed (or the reason it ended without results).
    public var message: String?
    /// What each chapter got, once the job has finished: its answer (billed at `.batch`) or its
    /// failure, classified as a streamed answer is (`GeminiWire.classify`).
    public var results: [ChapterKey: Result<ChapterResponse, ProviderError>]

    public init(
        name: String,
        state: BatchJobState,
        message: String? = nil,
        results: [ChapterKey: Result<ChapterResponse, ProviderError>] = [:]
    ) {
        self.name = name
        self.state = state
        self.message = message
        self.results = results
    }

    /// The failure every chapter of a job that ended without its result gets: the job's own
    /// words, retryable (the chapters are asked again as ordinary requests).
    public func endedWithout(key: ChapterKey) -> ProviderError {
        let reason = message.map { ": \($0)" } ?? ""
        return switch state {
        case .succeeded: ProviderError(.retry, "the batch job \(name) succeeded without an answer for this chapter")
        case .expired: ProviderError(.retry, "the batch job \(name) expired before answering (48 h)\(reason)")
        case .cancelled: ProviderError(.retry, "the batch job \(name) was cancelled\(reason)")
        default: ProviderError(.retry, "the batch job \(name) failed\(reason)")
        }
    }
}
