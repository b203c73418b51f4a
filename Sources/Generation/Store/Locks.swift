import Logging
import Synchronization
import SystemPackage
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// One publisher per folder at a time within this process. Waiting can be cancelled (a
/// superseded run gives up its turn).
actor FolderLocks {
    /// The folders held, each with the publishers waiting for it, first come first served.
    private var held: [String: Wakeups] = [:]

    /// Takes `folder`'s lock, waiting for the holder to release it.
    /// - Throws: `CancellationError` when the task is cancelled while waiting (or before).
    func acquire(_ folder: String) async throws {
        try Task.checkCancellation()
        guard let waiting = held[folder] else {
            held[folder] = Wakeups()
            return
        }
        try await waiting.wait()
    }

    func release(_ folder: String) {
        // The first waiter, woken, holds the folder from now on.
        if held[folder]?.wakeFirst() != true { held[folder] = nil }
    }
}

/// One publisher per folder at a time across processes (`coursegen generate` beside the daemon):
/// a `FileLock` per folder in the state folder's `locks/`. The files are kept: one per course.
enum ProcessLock {
    /// A publish holds the lock for a moment: look again soon.
    static let polling = FileLock.Polling(first: .milliseconds(10), maximum: .milliseconds(100))

    /// Takes the lock at `path`, waiting while another process publishes into the same folder
    /// (said once in the log).
    /// - Throws: `CancellationError` when cancelled while waiting; `FileError` when the lock file
    ///   cannot be made or locked.
    static func acquire(path: String, io: BlockingIO, logger: Logger) async throws -> FileLock {
        try await FileLock.acquire(path: path, io: io, polling: polling) {
            logger.notice("waiting for another coursegen process publishing into the same folder")
        }
    }
}

/// An exclusive `flock(2)` on a file: how coursegen processes sharing a state folder keep out of
/// each other's way. The lock belongs to the open file description, so two opens of one path
/// conflict in one process as in two, and the kernel releases it when its process ends, however
/// it ends: a `kill -9` leaves no lock behind (the file may stay; it is no lock by itself).
///
/// A holder may remove the file before releasing it (`removeAndRelease`), so that files do not
/// pile up; `attempt` checks that what it locked is still the file the path names, and tries
/// again if not.
final class FileLock: Sendable {
    /// The locked file.
    let path: String
    /// -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    /// How long a waiter waits between two attempts: `first`, doubling up to `maximum`.
    struct Polling: Sendable {
        var first: Duration
        var maximum: Duration

        /// The wait after the `attempt`th failed attempt (1-based).
        func delay(afterAttempt attempt: Int) -> Duration {
            min(first * (1 << min(max(attempt - 1, 0), 20)), maximum)
        }
    }

    /// Tries once to take the lock, without waiting. Creates the file, and its folder, when
    /// missing. Blocks (open, mkdir): run it on `BlockingIO`.
    /// - Returns: nil when another open file description holds the lock.
    /// - Throws: `FileError` when the file cannot be made, opened or locked.
    static func attempt(path: String) throws(FileError) -> FileLock? {
        while true {
            var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            if fd < 0, errno == ENOENT {
                let folder = FilePath(path).removingLastComponent().string
                try FileSystem.posix.makeDirectory(folder, mode: [.ownerReadWriteExecute, .groupReadExecute])
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            }
            if fd < 0, errno == EROFS || errno == EACCES {
                // flock needs no write access: an existing file on a read-only state folder
                // still locks.
                let error = Errno(rawValue: errno)
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw FileError(path: path, operation: "open lock file", errno: error) }
            }
            guard fd >= 0 else { throw FileError(path: path, operation: "open lock file", errno: .current) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let error = errno
                close(fd)
                if error == EINTR { continue }
                if error == EWOULDBLOCK { return nil }
                throw FileError(path: path, operation: "lock", errno: Errno(rawValue: error))
            }
            // The holder before may have removed the file between our open and our lock: a lock
            // on a removed file guards nothing.
            if let locked = FileIdentity(descriptor: fd), locked == FileIdentity(path: path, followingSymlink: true) {
                return FileLock(path: path, descriptor: fd)
            }
            close(fd)
        }
    }

    /// Takes the lock, trying again while another holder has it, after the growing delays of
    /// `polling` (`flock` is only ever asked not to wait, and each attempt runs on `io`: no
    /// thread of the cooperative pool is blocked). Calls `onWait` once, before the first wait.
    /// - Throws: `CancellationError` when the task is cancelled before the lock is taken;
    ///   `FileError` as `attempt` does.
    static func acquire(
        path: String,
        io: BlockingIO,
        polling: Polling,
        onWait: () -> Void = {}
    ) async throws -> FileLock {
        try await acquire(path: path, io: io, polling: polling, onWait: onWait, then: {}).lock
    }

    /// `acquire`, then `body`, on `io` in the same call as the attempt that took the lock (one
    /// trip to `io`, not two).
    static func acquire<T: Sendable>(
        path: String,
        io: BlockingIO,
        polling: Polling,
        onWait: () -> Void = {},
        then body: @escaping @Sendable () -> T
    ) async throws -> (lock: FileLock, then: T) {
        var attempts = 0
        while true {
            try Task.checkCancellation()
            let taken = try await io.run { () throws(FileError) -> (FileLock, T)? in
                guard let lock = try attempt(path: path) else { return nil }
                return (lock, body())
            }
            if let taken { return taken }
            attempts += 1
            if attempts == 1 { onWait() }
            try await Task.sleep(for: polling.delay(afterAttempt: attempts))
        }
    }

    /// Replaces the file's content with `text` (the daemon writes its PID there, for the
    /// message a second daemon prints).
    func write(_ text: String) throws(FileError) {
        let bytes = Array(text.utf8)
        let written = descriptor.withLock { fd -> Int in
            guard fd >= 0, ftruncate(fd, 0) == 0 else { return -1 }
            return bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        guard written == bytes.count else { throw FileError(path: path, operation: "write", errno: .current) }
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// Removes the file, then releases the lock. A waiter that opened the file before finds its
    /// lock on a removed file and opens the path again. Blocks (unlink): run it on `BlockingIO`.
    func removeAndRelease() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            unlink(path)
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// Whether the lock is still held by this value.
    var isHeld: Bool { descriptor.withLock { $0 >= 0 } }

    deinit { release() }
}
