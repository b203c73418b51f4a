import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process the benchmark starts (the fake server, the daemon, the binary being timed),
/// with its output in a log file, and what /proc says about it.
final class ChildProcess: Sendable {
    let process: Process
    /// Where its standard output and standard error go.
    let logPath: String
    /// When `run()` was called.
    let started: ContinuousClock.Instant
    /// Finishes when the process has exited (Foundation's termination handler, no run loop).
    private let exited: AsyncStream<Void>

    /// Starts `executable arguments...` with exactly `environment`, in `directory`.
    init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        directory: String? = nil,
        logPath: String
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1"]
            .merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let (exited, exit) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exit.finish() }
        self.exited = exited
        self.process = process
        self.logPath = logPath
        started = .now
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Memory and threads now; nil once it has exited.
    func status() -> ProcFS.Status? {
        (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).flatMap(ProcFS.status)
    }

    /// CPU time so far; nil once it has exited.
    func times() -> ProcFS.Times? {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap(ProcFS.times)
    }

    /// The last lines it wrote, for error messages.
    func logTail(_ count: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// Sends SIGTERM and waits for it to exit (SIGKILL after `timeout`); returns its status.
    @discardableResult
    func stop(timeout: Duration = .seconds(30)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        return await waitForExit(timeout: timeout)
    }

    /// Waits for it to exit by itself (SIGKILL after `timeout`); returns its status.
    func waitForExit(timeout: Duration) async -> Int32 {
        let process = self.process
        let exited = self.exited
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited {}
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            if !first {
                kill(process.processIdentifier, SIGKILL)
                for await _ in exited {}
            }
            return first
        }
        return ended ? process.terminationStatus : -9
    }
}

/// Why a benchmark step failed; the scenario's figures then say "not measured" with it.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, throwing `BenchError` with `what` if it has not finished after `timeout` (a
/// safety net: every wait in the benchmark is on an event).
func within<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw BenchError("timed out after \(timeout) waiting for \(what)")
        }
        return value
    }
}
