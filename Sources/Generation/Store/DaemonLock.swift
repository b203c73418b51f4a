public import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// What `coursegen watch` holds on its state folder while it runs: `STATE/watch.lock`, locked
/// with `FileLock`, so the kernel releases it when the daemon ends, however it ends (no stale
/// lock to clean by hand). A second daemon on the same state folder would ask for every chapter
/// the first asks for: it is refused at start. The file holds the holder's PID, only for the
/// message; it is never removed.
public final class DaemonLock: Sendable {
    private let lock: FileLock

    private init(lock: FileLock) {
        self.lock = lock
    }

    /// Takes the lock of the state folder at `stateFolder` (made if missing), without waiting,
    /// and writes this process's PID into it.
    /// - Throws: `StateFolderInUse` when another process holds it; `FileError` when the lock
    ///   file cannot be made or locked.
    public static func take(stateFolder: String, io: BlockingIO = .shared) async throws -> DaemonLock {
        let path = "\(stateFolder)/watch.lock"
        return try await io.run {
            guard let lock = try FileLock.attempt(path: path) else {
                let text = (try? FileSystem.posix.read(path, limit: 64)).map { String(decoding: $0, as: UTF8.self) }
                let pid = text?.split(whereSeparator: \.isWhitespace).first.flatMap { Int32($0) }
                throw StateFolderInUse(folder: stateFolder, pid: pid)
            }
            // Only for the message: a state folder that takes no write still gets its lock.
            try? lock.write("\(getpid())\n")
            return DaemonLock(lock: lock)
        }
    }

    /// Releases the lock (the process's end does too); later calls do nothing.
    public func release() {
        lock.release()
    }
}

/// A state folder another `coursegen watch` runs on. Its `description` names the folder and the
/// other daemon's PID, and what to do.
public struct StateFolderInUse: CodedError {
    public enum Code: String, ErrorCode {
        /// Another daemon holds the state folder's lock.
        case stateFolderInUse
    }

    public let code = Code.stateFolderInUse
    /// The state folder.
    public let folder: String
    /// The PID the other daemon wrote; nil when it could not be read (it had not written it yet).
    public let pid: Int32?
    /// Where the error was made.
    public let origin: SourceOrigin

    public init(folder: String, pid: Int32?, fileID: String = #fileID, line: Int = #line) {
        self.folder = folder
        self.pid = pid
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    public var message: String {
        let other = pid.map { "another coursegen watch (PID \($0))" } ?? "another coursegen watch"
        let stop = pid.map { " (kill \($0), or `systemctl stop coursegen` if it is the service)" } ?? ""
        return "\(other) is already running on the state folder \(folder); two daemons on one state folder would "
            + "pay for every chapter twice. Stop that one first\(stop), or give this one another state folder "
            + "with --state DIR"
    }
}
