import FakeServerKit
import Foundation
import NIOConcurrencyHelpers

/// The fake's Batch API jobs (`POST …/models/{model}:batchGenerateContent`, `GET …/batches/{id}`),
/// shaped as python-genai's `_mldev` converters read them: an operation whose `metadata` is the
/// `GenerateContentBatch` (`state` `BATCH_STATE_*`, `displayName`, `model`, `batchStats`, and
/// once it succeeded `output.inlinedResponses.inlinedResponses[]`), `done` once it ended, and then
/// `response` (the output again) or `error`.
///
/// A job's state follows its ``Schedule`` on the server's clock (a test's `FakeServerClock`, or
/// the machine's): pending, then running, then its end. A held job stays running until the test
/// calls ``release()``. Each inline request is answered by the server's reply decision, as a
/// `generateContent` call would be: a success is its `response`, an error reply its `error` (a
/// `google.rpc.Status`), so a test fails one chapter of a job the way it fails a request.
public final class FakeBatchJobs: Sendable {
    /// How a job's state changes after it is created.
    public struct Schedule: Sendable {
        /// How a job that ran ends.
        public enum End: Sendable, Hashable {
            case succeeded
            case failed(message: String)
            case cancelled
            case expired
        }

        /// Time spent in BATCH_STATE_PENDING.
        public var pending: Duration
        /// Time then spent in BATCH_STATE_RUNNING before the end.
        public var running: Duration
        public var end: End
        /// Jobs stay running, whatever the time, until ``FakeBatchJobs/release()``.
        public var held: Bool
        /// Answers carry no `metadata` (the client must match them by position).
        public var dropsMetadata: Bool
        /// The first create makes its job but its answer is cut in half (a connection lost after
        /// the API acted): the client must find the job in the list, not create another.
        public var cutsFirstCreateAnswer: Bool

        /// Defaults: a job that has succeeded by its first poll.
        public init(
            pending: Duration = .zero,
            running: Duration = .zero,
            end: End = .succeeded,
            held: Bool = false,
            dropsMetadata: Bool = false,
            cutsFirstCreateAnswer: Bool = false
        ) {
            self.pending = pending
            self.running = running
            self.end = end
            self.held = held
            self.dropsMetadata = dropsMetadata
            self.cutsFirstCreateAnswer = cutsFirstCreateAnswer
        }
    }

    private struct Job {
        var id: String
        var displayName: String
        var model: String
        var created: ContinuousClock.Instant
        var createTime: String
        var requests: [(request: FakeGeminiServer.Request, metadata: JSONValue?)]
        /// The answers, made once when the job first shows itself finished.
        var output: [JSONValue]?
    }

    private struct State {
        var jobs: [String: Job] = [:]
        var order: [String] = []
        var created = 0
        var polls = 0
        var held: Bool
    }

    private let state: NIOLockedValueBox<State>
    let schedule: Schedule
    private let clock: FakeServerClock?

    init(schedule: Schedule, clock: FakeServerClock?) {
        self.schedule = schedule
        self.clock = clock
        state = NIOLockedValueBox(State(held: schedule.held))
    }

    /// Jobs created so far.
    public var createdCount: Int { state.withLockedValue { $0.created } }
    /// Polls (`GET …/batches/{id}`) answered so far.
    public var pollCount: Int { state.withLockedValue { $0.polls } }
    /// The names of the jobs created, in order ("batches/…").
    public var names: [String] { state.withLockedValue { $0.order.map { "batches/\($0)" } } }
    /// Lets held jobs end (at their next poll, once their schedule's time has passed).
    public func release() { state.withLockedValue { $0.held = false } }

    private var now: ContinuousClock.Instant { clock?.now ?? .now }

    /// The state `job` shows at `now`.
    private func wireState(of job: Job, held: Bool) -> String {
        let elapsed = job.created.duration(to: now)
        if elapsed < schedule.pending { return "BATCH_STATE_PENDING" }
        if held || elapsed < schedule.pending + schedule.running { return "BATCH_STATE_RUNNING" }
        switch schedule.end {
        case .succeeded: return "BATCH_STATE_SUCCEEDED"
        case .failed: return "BATCH_STATE_FAILED"
        case .cancelled: return "BATCH_STATE_CANCELLED"
        case .expired: return "BATCH_STATE_EXPIRED"
        }
    }

    /// Creates a job of `requests` (already checked) and answers its operation.
    func create(
        model: String,
        displayName: String,
        requests: [(request: FakeGeminiServer.Request, metadata: JSONValue?)]
    ) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let job = state.withLockedValue { state in
            state.created += 1
            let id = "fake\(state.created)x\(UInt32.random(in: 0...UInt32.max))"
            let job = Job(
                id: id,
                displayName: displayName,
                model: model,
                created: now,
                createTime: formatter.string(from: Date()),
                requests: requests
            )
            state.jobs[id] = job
            state.order.append(id)
            return job
        }
        return operation(job, state: wireState(of: job, held: schedule.held || state.withLockedValue { $0.held }))
    }

    /// Every job's operation, newest first, in pages of `pageSize` from `start` (a page token is
    /// the index of the next job), and the next page's start.
    func list(pageSize: Int, start: Int) -> (operations: [JSONValue], next: Int?) {
        let (jobs, held) = state.withLockedValue { state in
            (state.order.reversed().compactMap { state.jobs[$0] }, state.held)
        }
        let end = min(start + max(pageSize, 1), jobs.count)
        guard start < end else { return ([], nil) }
        return (
            jobs[start..<end].map { operation($0, state: wireState(of: $0, held: held)) }, end < jobs.count ? end : nil
        )
    }

    /// The operation of job `id`, nil when there is no such job; finished jobs get their answers
    /// from `answer` (called once per request, the first time the job shows itself finished).
    func poll(_ id: String, answer: (FakeGeminiServer.Request) -> JSONValue) -> JSONValue? {
        let found: (Job, String)? = state.withLockedValue { state in
            guard var job = state.jobs[id] else { return nil }
            state.polls += 1
            let wire = wireState(of: job, held: state.held)
            if wire == "BATCH_STATE_SUCCEEDED", job.output == nil {
                job.output = job.requests.map { entry in
                    var members: [(key: String, value: JSONValue)] = []
                    let answered = answer(entry.request)
                    if case .object(let fields) = answered { members += fields }
                    if !schedule.dropsMetadata, let metadata = entry.metadata { members.append(("metadata", metadata)) }
                    return .object(members)
                }
                state.jobs[id] = job
            }
            return (job, wire)
        }
        return found.map { operation($0.0, state: $0.1) }
    }

    private func operation(_ job: Job, state wire: String) -> JSONValue {
        let finished = ["BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"]
            .contains(wire)
        let count = job.requests.count
        var stats: [(key: String, value: JSONValue)] = [("requestCount", .string("\(count)"))]
        if wire == "BATCH_STATE_SUCCEEDED" {
            stats.append(("successfulRequestCount", .string("\(count)")))
        } else if !finished {
            stats.append(("pendingRequestCount", .string("\(count)")))
        }
        let output: JSONValue? = job.output.map {
            .object([("inlinedResponses", .object([("inlinedResponses", .array($0))]))])
        }
        var metadata: [(key: String, value: JSONValue)] = [
            ("@type", .string("type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch")),
            ("model", .string("models/\(job.model)")),
            ("displayName", .string(job.displayName)),
            ("createTime", .string(job.createTime)),
            ("batchStats", .object(stats)),
            ("state", .string(wire)),
            ("name", .string("batches/\(job.id)")),
        ]
        if let output { metadata.append(("output", output)) }
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string("batches/\(job.id)")), ("metadata", .object(metadata)),
        ]
        if finished { members.append(("done", .bool(true))) }
        if case .object(let fields)? = output, wire == "BATCH_STATE_SUCCEEDED" {
            members.append(
                (
                    "response",
                    .object(
                        [
                            (
                                "@type",
                                .string(
                                    "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
                                )
                            )
                        ]
                            + fields
                    )
                )
            )
        }
        if wire == "BATCH_STATE_FAILED", case .failed(let message) = schedule.end {
            members.append(("error", .object([("code", .integer(13)), ("message", .string(message))])))
        }
        return .object(members)
    }
}
