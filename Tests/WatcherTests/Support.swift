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

/// The events a running watcher reported, consumed one at a time.
///
/// Waits have no deadline of their own: a watcher that never reports fails the test at its suite's time limit, so
/// a starved machine makes a test slower, not failed. When the watcher runs on a manual clock (`clock`), waiting
/// moves time: to each deadline the watcher sleeps until, one at a time, once it has done everything it could
/// before that deadline. Periodic scans and debounces then happen at the simulated instants their durations say,
/// however slowly the machine runs them, and never while the test is still writing files.
final class EventQueue: Sendable {
    private struct State {
        var events: [WatchEvent] = []
        var failure: (any Error)?
        var ended = false
        /// Counts appends and the end, so that a waiter misses no change.
        var version = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }
    private let state = NIOLockedValueBox(State())
    /// The clock the watcher's timers run on, if the test drives it.
    let clock: ManualClock?

    init(clock: ManualClock? = nil) {
        self.clock = clock
    }

    func append(_ event: WatchEvent) {
        changed { $0.events.append(event) }
    }

    func end(failure: (any Error)?) {
        changed { state in
            state.ended = true
            state.failure = failure
        }
    }

    /// Whether an event is there to be taken now.
    var hasEvents: Bool { state.withLockedValue { !$0.events.isEmpty } }

    /// The next event, waiting for it (and moving simulated time while the watcher waits for it).
    /// - Returns: nil once the watcher ended.
    /// - Throws: what the watcher threw.
    func next() async throws -> WatchEvent? {
        while true {
            enum Step { case event(WatchEvent), failure(any Error), ended, wait(version: Int) }
            let step: Step = state.withLockedValue { state in
                if !state.events.isEmpty { return .event(state.events.removeFirst()) }
                if let failure = state.failure { return .failure(failure) }
                return state.ended ? .ended : .wait(version: state.version)
            }
            switch step {
            case .event(let event): return event
            case .failure(let error): throw error
            case .ended: return nil
            case .wait(let version):
                if let clock {
                    // Nothing to take: the watcher is at work, or asleep until its next deadline.
                    if await waitForSleepOrChange(since: version, clock: clock), !hasEvents {
                        clock.advance(to: clock.nextDeadline ?? clock.now)
                    }
                } else {
                    await waitForChange(since: version)
                }
            }
        }
    }

    /// Events until (and including) the first one matching `last`.
    func collect(until last: (WatchEvent) -> Bool) async throws -> [WatchEvent] {
        var events: [WatchEvent] = []
        while let event = try await next() {
            events.append(event)
            if last(event) { return events }
        }
        Issue.record("the watcher ended first; got \(events)")
        return events
    }

    /// Moves simulated time from deadline to deadline, as `next()` does, until `condition` holds (checked each
    /// time the watcher has done what was due) or the watcher ends.
    func advance(until condition: () -> Bool) async {
        guard let clock else { preconditionFailure("the watcher runs on the real clock") }
        while !condition() {
            let version = state.withLockedValue { $0.ended ? nil : $0.version }
            guard let version else { return }
            if await waitForSleepOrChange(since: version, clock: clock), !condition() {
                clock.advance(to: clock.nextDeadline ?? clock.now)
            }
        }
    }

    /// Moves simulated time to the watcher's next deadline, once it sleeps until it, and returns once the watcher
    /// has done what was due then and sleeps again (or has ended).
    func step() async {
        guard let clock else { preconditionFailure("the watcher runs on the real clock") }
        await waitForSleep(clock: clock)
        clock.advance(to: clock.nextDeadline ?? clock.now)
        await waitForSleep(clock: clock)
    }

    /// Waits until the watcher sleeps on `clock` or has ended.
    private func waitForSleep(clock: ManualClock) async {
        while let version = state.withLockedValue({ $0.ended ? nil : $0.version }) {
            if await waitForSleepOrChange(since: version, clock: clock) { return }
        }
    }

    /// Waits until the watcher sleeps on `clock` (true), or an event arrives or the watcher ends (false).
    private func waitForSleepOrChange(since version: Int, clock: ManualClock) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await clock.waitForSleeper()
                return true
            }
            group.addTask {
                await self.waitForChange(since: version)
                return false
            }
            let asleep = await group.next() ?? false
            group.cancelAll()
            return asleep && clock.sleeperCount > 0
        }
    }

    /// Waits until an event arrives or the watcher ends after `version`; returns early if cancelled.
    private func waitForChange(since version: Int) async {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state in
                    if state.version != version || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    private func changed(_ change: (inout State) -> Void) {
        let waiters = state.withLockedValue { state in
            change(&state)
            state.version += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Runs `watcher` in a child task while `body` runs, then cancels it and waits for it to stop.
/// - Parameter clock: the manual clock the watcher's timers run on, if the test drives them (see `EventQueue`).
func withRunningWatcher<Result: Sendable>(
    _ watcher: InboxWatcher,
    clock: ManualClock? = nil,
    _ body: (EventQueue) async throws -> Result
) async throws -> Result {
    let queue = EventQueue(clock: clock)
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
