public import Logging
import NIOConcurrencyHelpers

/// Collects everything logged through its loggers, for assertions, and lets a test wait for a
/// message (an event, not a pause).
public final class LogRecorder: Sendable {
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        /// The logger's and the call's metadata, merged, as text.
        public let metadata: [String: String]
    }

    private struct State {
        var records: [Record] = []
        var waiters: [(message: String, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = NIOLockedValueBox(State())
    /// Every message, as it is logged.
    public let messages: AsyncStream<String>
    private let messagesContinuation: AsyncStream<String>.Continuation

    public init() {
        (messages, messagesContinuation) = AsyncStream.makeStream()
    }

    /// A logger at trace level whose every entry is recorded here.
    public func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    /// `logger()`.
    public var logger: Logger { logger() }

    public var all: [Record] { state.withLockedValue { $0.records } }

    /// Everything logged, as one string, for "never contains" checks.
    public var text: String {
        all.map { "\($0.level) \($0.message) \($0.metadata.sorted { $0.key < $1.key })" }.joined(separator: "\n")
    }

    func append(_ record: Record) {
        let ready = state.withLockedValue { state in
            state.records.append(record)
            let ready = state.waiters.filter { $0.message == record.message }.map(\.continuation)
            state.waiters.removeAll { $0.message == record.message }
            return ready
        }
        messagesContinuation.yield(record.message)
        for continuation in ready { continuation.resume() }
    }

    /// Waits until a record with `message` has been logged: an event, given up only after
    /// `timeout` (for "not within this time" checks) or, without one, `TestTime.hangGuard`.
    /// - Returns: whether it was; false after `timeout`, or if the waiting task was cancelled.
    public func waitFor(message: String, timeout: Duration? = nil) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let logged = self.state.withLockedValue { state in
                        if state.records.contains(where: { $0.message == message }) { return true }
                        state.waiters.append((message, continuation))
                        return false
                    }
                    if logged { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout ?? TestTime.hangGuard)
                return false
            }
            let first = await group.next()!
            if !first {
                // Timed out: release the waiter so the group can finish.
                let waiters = state.withLockedValue { state in
                    defer { state.waiters.removeAll { $0.message == message } }
                    return state.waiters.filter { $0.message == message }.map(\.continuation)
                }
                for continuation in waiters { continuation.resume() }
            }
            group.cancelAll()
            return first
        }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(
                Record(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })
            )
        }
    }
}

extension Logger {
    /// A logger that drops everything, so test output stays readable.
    public static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
}
