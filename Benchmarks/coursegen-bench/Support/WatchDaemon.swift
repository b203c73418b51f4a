import Foundation
import Platform

/// The real `coursegen watch` (the release binary) as a child process, with a notify socket of
/// the benchmark's own so READY=1 and every STATUS= line are timed as they arrive. The fake
/// Gemini server it talks to runs in the benchmark's process: its request arrivals are on the
/// benchmark's clock, and the daemon, the client being measured, is a process of its own.
final class WatchDaemon: Sendable {
    let child: ChildProcess
    let notify: NotifyListener
    let inbox: String
    let output: String

    /// Arguments every watch scenario passes besides its own: no settle delay (5 s by default),
    /// so a save's time to its first request is the debounce and coursegen's own work.
    static let settleArguments = ["--settle", "0"]

    /// Starts `coursegen watch` on `folder/inbox` into `folder/output` with state in
    /// `folder/state`, against `baseURL`, with `arguments` added (limits, debounce).
    /// - Parameter watchdog: sets `WATCHDOG_USEC` as the unit's `WatchdogSec=30s` does.
    init(
        binary: String,
        folder: String,
        baseURL: String,
        apiKey: String,
        arguments: [String] = [],
        watchdog: Bool = false
    ) throws {
        inbox = "\(folder)/inbox"
        output = "\(folder)/output"
        for path in [inbox, output, "\(folder)/state"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        notify = try NotifyListener(path: "\(folder)/notify-\(UInt32.random(in: 0...UInt32.max)).socket")
        var environment = ["GEMINI_API_KEY": apiKey, "NOTIFY_SOCKET": notify.address]
        if watchdog { environment["WATCHDOG_USEC"] = "30000000" }
        child = try ChildProcess(
            binary,
            [
                "watch", "--inbox", inbox, "--output", output, "--state", "\(folder)/state", "--base-url", baseURL,
            ] + Self.settleArguments + arguments,
            environment: environment,
            logPath: "\(folder)/daemon-\(UInt32.random(in: 0...UInt32.max)).log"
        )
    }

    /// Waits for READY=1 (the start-up scan is done) and returns when it arrived.
    func ready(timeout: Duration = .seconds(120)) async throws -> ContinuousClock.Instant {
        let notify = self.notify
        return try await wait(timeout, "READY=1") { try await notify.ready() }.received
    }

    /// Waits for the first status line at message position `after` or later saying that
    /// `courses` courses are up to date, none with problems, and returns it.
    func upToDate(_ courses: Int, after: Int = 0, timeout: Duration) async throws -> NotifyListener.Message {
        let notify = self.notify
        let wanted = ": \(courses) course\(courses == 1 ? "" : "s") up to date"
        return try await wait(timeout, "\"\(wanted)\"") {
            try await notify.status(after: after) { $0.hasPrefix("Watching ") && $0.hasSuffix(wanted) }
        }
    }

    /// Waits for a status line at `after` or later saying that a run started.
    func generating(after: Int, timeout: Duration) async throws -> NotifyListener.Message {
        let notify = self.notify
        return try await wait(timeout, "a Generating status") {
            try await notify.status(after: after) { $0.contains("Generating ") }
        }
    }

    /// Runs `body` within `timeout`; on a timeout or an early exit the error holds the daemon's
    /// last log lines.
    private func wait<T: Sendable>(
        _ timeout: Duration,
        _ what: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let child = self.child
        do {
            return try await within(timeout, what) {
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask { try await body() }
                    group.addTask {
                        // An exited daemon will never say it; stop waiting then.
                        while child.process.isRunning { try await Task.sleep(for: .milliseconds(200)) }
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let first = try await group.next(), let value = first else {
                        throw BenchError("coursegen exited (status \(child.process.terminationStatus))")
                    }
                    return value
                }
            }
        } catch {
            throw BenchError("\(error); daemon log \(child.logPath):\n\(child.logTail())")
        }
    }

    /// SIGTERM, and the listener closed.
    func stop() async {
        await child.stop()
        await notify.close()
    }
}
