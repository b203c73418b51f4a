import Foundation
import NIOConcurrencyHelpers
import TestSupport

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
        let process: Process
        private let output = OutputBuffer()
        private let exited: AsyncStream<Void>
        private let signalExit: AsyncStream<Void>.Continuation
        private let changes: AsyncStream<Void>
        private let signalChange: AsyncStream<Void>.Continuation

        /// - Parameter launcher: a command that execs `coursegen` in its place (`nsenter ... --`),
        ///   or none.
        fileprivate init(arguments: [String], environment: [String: String], directory: String?, launcher: [String])
            throws
        {
            process = Process()
            if let first = launcher.first {
                process.executableURL = URL(fileURLWithPath: first)
                process.arguments = launcher.dropFirst() + [Binary.url.path] + arguments
            } else {
                process.executableURL = Binary.url
                process.arguments = arguments
            }
            process.environment = environment
            if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
            let outPipe = Pipe()
            let errPipe = Pipe()
            process.standardOutput = outPipe
            process.standardError = errPipe
            process.standardInput = FileHandle.nullDevice
            (exited, signalExit) = AsyncStream<Void>.makeStream()
            (changes, signalChange) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let changed = signalChange
            outPipe.fileHandleForReading.readabilityHandler = { [output] handle in
                let data = handle.availableData
                output.mutex.withLockedValue { $0.out += data }
                changed.yield()
            }
            errPipe.fileHandleForReading.readabilityHandler = { [output] handle in
                let data = handle.availableData
                output.mutex.withLockedValue { $0.err += data }
                changed.yield()
            }
            let signal = signalExit
            process.terminationHandler = { _ in
                signal.finish()
                changed.finish()
            }
            try process.run()
        }

        var pid: pid_t { process.processIdentifier }

        /// What it wrote to standard error so far.
        var standardError: String { output.mutex.withLockedValue { String(decoding: $0.err, as: UTF8.self) } }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// Waits until `condition` holds for what the process wrote to standard error, checking
        /// whenever it writes (one waiter at a time).
        /// - Throws: `BinaryError` when the process exits first or after `timeout` (a safety net).
        func waitForStandardError(timeout: Duration = .seconds(60), _ condition: @escaping @Sendable (String) -> Bool)
            async throws
        {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    if condition(self.standardError) { return }
                    for await _ in self.changes where condition(self.standardError) { return }
                    if condition(self.standardError) { return }
                    throw BinaryError("coursegen exited before: \(self.standardError.suffix(2000))")
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw BinaryError("timed out waiting; standard error so far: \(self.standardError.suffix(2000))")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }

        /// Waits until standard error holds `count` lines containing `text`.
        func waitForLines(containing text: String, count: Int = 1, timeout: Duration = .seconds(60)) async throws {
            try await waitForStandardError(timeout: timeout) { output in
                output.split(separator: "\n").filter { $0.contains(text) }.count >= count
            }
        }

        /// Lines of standard error containing `text`.
        func lines(containing text: String) -> [Substring] {
            standardError.split(separator: "\n").filter { $0.contains(text) }
        }

        /// Waits for the process to exit (`timeout` is a safety net: it is killed after that).
        func wait(timeout: Duration = .seconds(120)) async -> Result {
            let finished = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in self.exited {}; return true
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            if !finished {
                kill(process.processIdentifier, SIGKILL)
                for await _ in exited {}
            }
            process.waitUntilExit()
            // Drain what the pipes still hold.
            if let out = (process.standardOutput as? Pipe)?.fileHandleForReading,
                let err = (process.standardError as? Pipe)?.fileHandleForReading
            {
                out.readabilityHandler = nil
                err.readabilityHandler = nil
                let restOut = out.readDataToEndOfFile()
                let restErr = err.readDataToEndOfFile()
                output.mutex.withLockedValue {
                    $0.out += restOut
                    $0.err += restErr
                }
            }
            return output.mutex.withLockedValue {
                Result(
                    status: process.terminationStatus,
                    standardOutput: String(decoding: $0.out, as: UTF8.self),
                    standardError: String(decoding: $0.err, as: UTF8.self),
                    wasKilled: process.terminationReason == .uncaughtSignal
                )
            }
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

/// A process's collected output, shared with the pipes' handlers.
final class OutputBuffer: Sendable {
    let mutex = NIOLockedValueBox((out: [UInt8](), err: [UInt8]()))
}

struct BinaryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for a file to appear (polling: the file is written by another process).
func waitForFile(_ path: String, timeout: Duration = .seconds(60)) async throws {
    let deadline = ContinuousClock.now + timeout
    while !FileManager.default.fileExists(atPath: path) {
        guard ContinuousClock.now < deadline else { throw BinaryError("timed out waiting for \(path)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
