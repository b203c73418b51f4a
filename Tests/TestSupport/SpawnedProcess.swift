import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`. Its standard output and error are pipes this type
/// owns, read by threads of its own as they come and closed exactly once; another thread waits
/// for it to exit. When the value goes away with the process still running, the process is
/// killed.
///
/// Not Foundation's `Process`, for two reasons: on Linux its pipes' file handles can close a
/// descriptor number a second time (swiftlang/swift#57827), which in a test process full of
/// servers and files closes whatever another test has just opened under that number (seen as
/// EBADF and ECONNRESET in unrelated tests); and it watches processes and pipes through
/// libdispatch, whose manager thread crashes under ThreadSanitizer.
public final class SpawnedProcess: Sendable {
    public let pid: Int32
    private let shared: Shared

    /// What the process wrote and how it ended; the threads' and the callers' meeting place.
    private final class Shared: @unchecked Sendable {
        struct Waiter {
            let isDone: (Shared) -> Bool
            let continuation: CheckedContinuation<Void, Never>
        }

        let condition = NSCondition()
        // Everything below is guarded by `condition`.
        var output: [UInt8] = []
        var errors: [UInt8] = []
        var openPipes: Int
        var status: Int32?
        var waiters: [UInt64: Waiter] = [:]
        var cancelled: Set<UInt64> = []
        var nextWaiter: UInt64 = 0

        init(openPipes: Int) { self.openPipes = openPipes }

        /// The process has exited and both pipes are at their end.
        var finished: Bool { status != nil && openPipes == 0 }

        /// Makes a change under the lock, then wakes the blocking waiters and the tasks whose
        /// condition now holds.
        func update(_ change: (Shared) -> Void) {
            condition.lock()
            change(self)
            let done = waiters.filter { $0.value.isDone(self) }
            for id in done.keys { waiters.removeValue(forKey: id) }
            condition.broadcast()
            condition.unlock()
            for waiter in done.values { waiter.continuation.resume() }
        }

        func read<T>(_ body: (Shared) -> T) -> T {
            condition.lock()
            defer { condition.unlock() }
            return body(self)
        }

        /// Returns once `isDone` holds or the process has finished, or the task is cancelled.
        func wait(until isDone: @escaping (Shared) -> Bool) async {
            let id = read { shared in
                shared.nextWaiter += 1
                return shared.nextWaiter
            }
            let test = { (shared: Shared) in isDone(shared) || shared.finished }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    condition.lock()
                    if test(self) || cancelled.remove(id) != nil {
                        condition.unlock()
                        continuation.resume()
                    } else {
                        waiters[id] = Waiter(isDone: test, continuation: continuation)
                        condition.unlock()
                    }
                }
            } onCancel: {
                condition.lock()
                let waiter = waiters.removeValue(forKey: id)
                if waiter == nil { cancelled.insert(id) }
                condition.unlock()
                waiter?.continuation.resume()
            }
        }
    }

    /// Starts `executable` with `arguments` and exactly `environment`, in `directory` (this
    /// process's own when nil), with standard input from /dev/null. The environment is PATH and
    /// HOME only when nil; this process's sanitizer settings (`TSAN_OPTIONS`, `ASAN_OPTIONS`,
    /// `SWIFT_BACKTRACE`) are passed on in any case, so that a child built with a sanitizer
    /// reports where `scripts/sanitize.sh` collects the reports.
    /// - Parameter combiningOutput: standard error goes to the same pipe as standard output (one
    ///   stream, in the order written), and `standardError` stays empty.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        combiningOutput: Bool = false
    ) throws {
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard pipe(&outputPipe) == 0 else { throw SpawnError("pipe: \(String(cString: strerror(errno)))") }
        if !combiningOutput {
            guard pipe(&errorPipe) == 0 else {
                close(outputPipe[0])
                close(outputPipe[1])
                throw SpawnError("pipe: \(String(cString: strerror(errno)))")
            }
        }
        let descriptors = (outputPipe + errorPipe).filter { $0 >= 0 }
        // Not inherited by other children (Glibc's overlay does not import pipe2).
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, combiningOutput ? outputPipe[1] : errorPipe[1], 2)
        if let directory { _ = clinux_spawn_addchdir(&actions, directory) }
        // Nothing else of this process's leaks into the child (servers' and clients' sockets,
        // files: a child holding one open could keep its peer from seeing it close).
        _ = clinux_spawn_addclosefrom(&actions, 3)
        // Every signal at its default and none blocked, whatever the spawning thread had.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] =
            ([executable] + arguments).map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment = environment ?? ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        let inherited = ProcessInfo.processInfo.environment
        for name in ["TSAN_OPTIONS", "ASAN_OPTIONS", "SWIFT_BACKTRACE"] where environment[name] == nil {
            environment[name] = inherited[name]
        }
        let environ: [UnsafeMutablePointer<CChar>?] =
            environment.sorted { $0.key < $1.key }.map { (name, value) in strdup("\(name)=\(value)") } + [nil]
        defer { environ.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        // The child has its copies; the parent keeps only the reading ends.
        close(outputPipe[1])
        if errorPipe[1] >= 0 { close(errorPipe[1]) }
        guard spawned == 0 else {
            close(outputPipe[0])
            if errorPipe[0] >= 0 { close(errorPipe[0]) }
            throw SpawnError("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        let child = pid
        let shared = Shared(openPipes: combiningOutput ? 1 : 2)
        self.shared = shared
        Self.startReading(outputPipe[0], isOutput: true, of: shared)
        if !combiningOutput { Self.startReading(errorPipe[0], isOutput: false, of: shared) }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            // WIFSIGNALED / WEXITSTATUS, which Swift does not import.
            let result = status & 0x7f != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff
            shared.update { $0.status = result }
        }
    }

    /// Reads `descriptor` to its end on a thread of its own, appending to the output or the
    /// errors, then closes it.
    private static func startReading(_ descriptor: Int32, isOutput: Bool, of shared: Shared) {
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(descriptor, &chunk, chunk.count)
                if count > 0 {
                    shared.update { shared in
                        if isOutput { shared.output += chunk[..<count] } else { shared.errors += chunk[..<count] }
                    }
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(descriptor)
            shared.update { $0.openPipes -= 1 }
        }
    }

    deinit {
        if shared.read({ $0.status == nil }) { kill(pid, SIGKILL) }
    }

    /// What it wrote to standard output so far.
    public var standardOutput: String { shared.read { String(decoding: $0.output, as: UTF8.self) } }

    /// What it wrote to standard error so far.
    public var standardError: String { shared.read { String(decoding: $0.errors, as: UTF8.self) } }

    /// Sends `signal`.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// The first line it wrote to standard output, without its newline; blocking until it ends
    /// (or the output does).
    public func firstLine() -> String {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        while !shared.output.contains(0x0A) && !shared.finished { shared.condition.wait() }
        return String(decoding: shared.output.prefix { $0 != 0x0A }, as: UTF8.self)
    }

    /// Waits, blocking, until it has exited and its output is read; returns its exit status (128
    /// plus the signal if one ended it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        while !shared.finished { shared.condition.wait() }
        return shared.status!
    }

    /// Waits until it has exited and its output is read; returns its exit status (128 plus the
    /// signal if one ended it), or nil when the waiting task was cancelled first.
    @discardableResult
    public func exit() async -> Int32? {
        await shared.wait { $0.finished }
        return shared.read { $0.finished ? $0.status : nil }
    }

    /// Waits until `condition` holds for what it wrote so far (standard output, standard error),
    /// checking whenever it writes; returns false if it finished (or the task was cancelled)
    /// without that.
    public func waitForOutput(_ condition: @escaping @Sendable (_ output: String, _ errors: String) -> Bool) async
        -> Bool
    {
        let holds = { (shared: Shared) in
            condition(String(decoding: shared.output, as: UTF8.self), String(decoding: shared.errors, as: UTF8.self))
        }
        await shared.wait(until: holds)
        return shared.read(holds)
    }
}

/// A process that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
