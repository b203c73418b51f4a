import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, its standard output and error on pipes this type
/// owns and closes exactly once.
///
/// Not Foundation's `Process`: on Linux its pipes' file handles can close a descriptor number a
/// second time (swiftlang/swift#57827), and in a test process full of servers and files that
/// closes whatever another test has just opened under that number (seen as EBADF and
/// ECONNRESET in unrelated tests).
final class SpawnedProcess: @unchecked Sendable {
    let pid: pid_t
    private var output: Int32
    private var errors: Int32
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` and the environment PATH and HOME only.
    init(_ executable: String, _ arguments: [String]) throws {
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard pipe(&outputPipe) == 0 else { throw RawHTTPError.malformedResponse("pipe: \(errno)") }
        guard pipe(&errorPipe) == 0 else {
            close(outputPipe[0])
            close(outputPipe[1])
            throw RawHTTPError.malformedResponse("pipe: \(errno)")
        }
        // Not inherited by other children (Glibc's overlay does not import pipe2).
        for descriptor in outputPipe + errorPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] =
            ([executable] + arguments).map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] =
            ["PATH=/usr/bin:/bin", "HOME=\(NSTemporaryDirectory())"].map { (text: String) in strdup(text) } + [nil]
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environment)
        // The child has its copies; the parent keeps only the reading ends.
        close(outputPipe[1])
        close(errorPipe[1])
        guard spawned == 0 else {
            close(outputPipe[0])
            close(errorPipe[0])
            throw RawHTTPError.malformedResponse("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        output = outputPipe[0]
        errors = errorPipe[0]
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        closePipes()
    }

    /// Reads standard output until a line ends (or it closes); blocking.
    func readLine() -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(output, &byte, 1) == 1 {
            if byte == 0x0A { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads standard error to its end; blocking (the process must exit for it to end).
    func readErrors() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(errors, &chunk, chunk.count)
            if count > 0 {
                bytes += chunk[..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends `signal`.
    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the process to exit; returns its exit status (128 + the signal if one ended it).
    func wait() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFSIGNALED / WEXITSTATUS, which Swift does not import.
        let result = status & 0x7f != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        exitStatus = result
        return result
    }

    private func closePipes() {
        if output >= 0 { close(output) }
        if errors >= 0 { close(errors) }
        output = -1
        errors = -1
    }
}
