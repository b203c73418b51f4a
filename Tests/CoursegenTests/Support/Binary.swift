import Foundation
import TestSupport
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// The `coursegen` executable this test run built, run as a child process with its own
/// environment (tests never change their own).
struct Binary {
    /// `.build/<triple>/debug/coursegen`, beside the test bundle.
    static let url: URL = {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ].compactMap { $0 }
        for folder in candidates {
            let binary = folder.appendingPathComponent("coursegen")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        // Fallback: the package's default build folder.
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent(".build/debug/coursegen")
    }()

    /// A finished run.
    struct Result: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var wasKilled: Bool
    }

    /// A running process: output is collected as it comes; `wait()` returns when it exits.
    final class Running: Sendable {
        private let process: SpawnedProcess

        /// - Parameter launcher: a command that execs `coursegen` in its place (`nsenter ... --`),
        ///   or none.
        fileprivate init(arguments: [String], environment: [String: String], directory: String?, launcher: [String])
            throws
        {
            let command = launcher + [Binary.url.path] + arguments
            process = try SpawnedProcess(
                command[0],
                Array(command.dropFirst()),
                environment: environment,
                directory: directory
            )
        }

        var pid: pid_t { process.pid }

        /// What it wrote to standard error so far.
        var standardError: String { process.standardError }

        func signal(_ number: Int32) { process.signal(number) }

        /// Waits until `condition` holds for what the process wrote to standard error, checking
        /// whenever it writes: an event, given up only after `TestTime.hangGuard` (so a starved
        /// machine makes a test slower, not failed).
        /// - Throws: `BinaryError` when the process exits first, or the guard passes.
        func waitForStandardError(_ condition: @escaping @Sendable (String) -> Bool) async throws {
            let process = self.process
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    guard await process.waitForOutput({ _, errors in condition(errors) }) else {
                        throw BinaryError("coursegen exited before: \(process.standardError.suffix(2000))")
                    }
                }
                group.addTask {
                    try await Task.sleep(for: TestTime.hangGuard)
                    throw BinaryError(
                        "still waiting after \(TestTime.hangGuard) (the hang guard); standard error so far: "
                            + process.standardError.suffix(2000)
                    )
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }

        /// Waits until standard error holds `count` lines containing `text` (see
        /// `waitForStandardError`).
        func waitForLines(containing text: String, count: Int = 1) async throws {
            try await waitForStandardError { output in
                output.split(separator: "\n").filter { $0.contains(text) }.count >= count
            }
        }

        /// Lines of standard error containing `text`.
        func lines(containing text: String) -> [Substring] {
            standardError.split(separator: "\n").filter { $0.contains(text) }
        }

        /// Waits for the process to exit. It is killed after `timeout` if one is given (widened by
        /// `TestTime`), else after `TestTime.hangGuard`.
        func wait(timeout: Duration? = nil) async -> Result {
            let process = self.process
            let status = await withTaskGroup(of: Int32?.self) { group in
                group.addTask { await process.exit() }
                group.addTask {
                    try? await Task.sleep(for: timeout.map(TestTime.scaled) ?? TestTime.hangGuard)
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            var wasKilled = false
            var final = status
            if final == nil {
                process.signal(SIGKILL)
                final = await process.exit()
                wasKilled = true
            }
            let code = final ?? -1
            return Result(
                status: code,
                standardOutput: process.standardOutput,
                standardError: process.standardError,
                wasKilled: wasKilled || code > 128
            )
        }
    }

    /// Starts `coursegen arguments...` with exactly `environment` (plus PATH and HOME), through
    /// `launcher` if any (a command that execs it, such as `nsenter ... --`).
    static func start(
        _ arguments: [String],
        environment: [String: String] = [:],
        directory: String? = nil,
        launcher: [String] = []
    ) throws -> Running {
        var base = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1"]
        base.merge(environment) { $1 }
        return try Running(arguments: arguments, environment: base, directory: directory, launcher: launcher)
    }

    /// Runs `coursegen arguments...` to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) async throws
        -> Result
    {
        try await start(arguments, environment: environment, directory: directory).wait()
    }
}

struct BinaryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for a file to appear, checking every 10 ms (the file is written by another process),
/// given up only after `TestTime.hangGuard`.
/// - Throws: `BinaryError` after the guard.
func waitForFile(_ path: String) async throws {
    try await waitUntil("\(path) exists") { FileManager.default.fileExists(atPath: path) }
}

/// Waits until `condition` holds, checking every 5 ms (what it reads is written by another
/// process), given up only after `TestTime.hangGuard`: a starved machine makes a test slower, not
/// failed.
/// - Throws: `BinaryError` naming `what` after the guard.
func waitUntil(_ what: @autoclosure () -> String, _ condition: () throws -> Bool) async throws {
    let guardPassed = ContinuousClock.now + TestTime.hangGuard
    while try !condition() {
        guard ContinuousClock.now < guardPassed else {
            throw BinaryError("still waiting until \(what()) after \(TestTime.hangGuard) (the hang guard)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
