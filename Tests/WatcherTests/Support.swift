import Foundation
import Glibc
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import Watcher

/// A fresh folder for one test, removed by `remove()`. Not under /tmp: editors behave differently there.
struct TemporaryFolder {
    let path: String

    init() throws {
        let base = FileManager.default.currentDirectoryPath + "/.build/watcher-tests"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        var template = Array((base + "/run.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw DiskError(operation: "mkdtemp", path: base) }
        path = String(cString: created)
    }

    func callAsFunction(_ relativePath: String) -> String { path + "/" + relativePath }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct DiskError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32
    init(operation: String, path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// File operations made with the same system calls, in the same order, as the editors and tools replayed.
enum Disk {
    /// An open file, written in as many `write` calls as wanted, then closed.
    struct OpenFile {
        let descriptor: Int32
        let path: String

        func write(_ text: String) throws {
            let bytes = Array(text.utf8)
            guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else {
                throw DiskError(operation: "write", path: path)
            }
        }

        func close() throws {
            guard Glibc.close(descriptor) == 0 else { throw DiskError(operation: "close", path: path) }
        }
    }

    static func open(_ path: String, _ flags: Int32 = O_WRONLY | O_CREAT | O_TRUNC) throws -> OpenFile {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DiskError(operation: "open", path: path) }
        return OpenFile(descriptor: descriptor, path: path)
    }

    /// open(O_TRUNC), one write per chunk, close: how `cp`, shell redirection and VS Code save in place.
    static func write(_ path: String, _ chunks: String..., flags: Int32 = O_WRONLY | O_CREAT | O_TRUNC) throws {
        let file = try open(path, flags)
        for chunk in chunks { try file.write(chunk) }
        try file.close()
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw DiskError(operation: "rename", path: from + " -> " + to) }
    }

    static func unlink(_ path: String) throws {
        guard Glibc.unlink(path) == 0 else { throw DiskError(operation: "unlink", path: path) }
    }

    static func symlink(_ target: String, at path: String) throws {
        guard Glibc.symlink(target, path) == 0 else { throw DiskError(operation: "symlink", path: path) }
    }

    static func mkdir(_ path: String) throws {
        guard Glibc.mkdir(path, 0o755) == 0 else { throw DiskError(operation: "mkdir", path: path) }
    }

    /// Sets a file's access and modification times an hour back.
    static func backdate(_ path: String) throws {
        var anHourAgo = timespec()
        clock_gettime(CLOCK_REALTIME, &anHourAgo)
        anHourAgo.tv_sec -= 3600
        guard utimensat(AT_FDCWD, path, [anHourAgo, anHourAgo], 0) == 0 else {
            throw DiskError(operation: "utimensat", path: path)
        }
    }

    /// The whole text of a /proc file. `String(contentsOfFile:)` reads only as much as one `read` gives for a
    /// file whose size shows as 0, which cuts /proc/self/maps short.
    static func readProcFile(_ path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        return (try? file.readToEnd()).map { String(decoding: $0 ?? Data(), as: UTF8.self) }
    }

    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    static func removeTree(_ path: String) throws {
        try FileManager.default.removeItem(atPath: path)
    }
}

/// The events a running watcher reported, consumed one at a time with a safety timeout.
final class EventQueue: Sendable {
    private struct State {
        var events: [WatchEvent] = []
        var failure: (any Error)?
        var ended = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = NIOLockedValueBox(State())

    func append(_ event: WatchEvent) {
        let waiter = state.withLockedValue { state in
            state.events.append(event)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func end(failure: (any Error)?) {
        let waiter = state.withLockedValue { state in
            state.ended = true
            state.failure = failure
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The next event, waiting for it up to `timeout` (a safety net, not a pause).
    /// - Returns: nil if no event came in time or the watcher ended.
    /// - Throws: what the watcher threw.
    func next(timeout: Duration = .seconds(30)) async throws -> WatchEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            enum Step { case event(WatchEvent), failure(any Error), ended, wait }
            let step: Step = state.withLockedValue { state in
                if !state.events.isEmpty { return .event(state.events.removeFirst()) }
                if let failure = state.failure { return .failure(failure) }
                return state.ended ? .ended : .wait
            }
            switch step {
            case .event(let event): return event
            case .failure(let error): throw error
            case .ended: return nil
            case .wait:
                if ContinuousClock.now >= deadline { return nil }
                await waitForChange(until: deadline)
            }
        }
    }

    /// Events until (and including) the first one matching `last`.
    func collect(until last: (WatchEvent) -> Bool, timeout: Duration = .seconds(30)) async throws -> [WatchEvent] {
        var events: [WatchEvent] = []
        while let event = try await next(timeout: timeout) {
            events.append(event)
            if last(event) { return events }
        }
        Issue.record("timed out waiting; got \(events)")
        return events
    }

    /// Waits until an event arrives, the watcher ends, or the deadline passes.
    private func waitForChange(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLockedValue { state in
                            if !state.events.isEmpty || state.ended || Task.isCancelled { return true }
                            state.waiter?.resume()
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLockedValue { state in
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Runs `watcher` in a child task while `body` runs, then cancels it and waits for it to stop.
func withRunningWatcher<Result: Sendable>(
    _ watcher: InboxWatcher,
    _ body: (EventQueue) async throws -> Result
) async throws -> Result {
    let queue = EventQueue()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                for try await event in watcher { queue.append(event) }
                queue.end(failure: nil)
            } catch {
                queue.end(failure: error)
            }
        }
        do {
            let result = try await body(queue)
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

extension WatchEvent {
    /// The relative path of a `.changed`/`.removed` event.
    var relativePath: String? {
        switch self {
        case .changed(let file), .removed(let file): file.relativePath
        case .scanCompleted: nil
        }
    }

    var isScanCompleted: Bool { self == .scanCompleted }
}
