import Logging
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// One publisher per folder at a time within this process. Waiting can be cancelled (a
/// superseded run gives up its turn).
actor FolderLocks {
    private var held: Set<String> = []
    private var waiters: [String: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)]] = [:]
    private var nextID: UInt64 = 0

    /// Takes `folder`'s lock, waiting for the holder to release it.
    /// - Throws: `CancellationError` when the task is cancelled while waiting (or before).
    func acquire(_ folder: String) async throws {
        try Task.checkCancellation()
        if !held.contains(folder) {
            held.insert(folder)
            return
        }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters[folder, default: []].append((id, continuation))
            }
        } onCancel: {
            Task { await self.abandon(folder, id: id) }
        }
    }

    func release(_ folder: String) {
        if var queue = waiters[folder], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[folder] = queue.isEmpty ? nil : queue
            next.continuation.resume()  // the folder stays held, by the next waiter
        } else {
            held.remove(folder)
        }
    }

    private func abandon(_ folder: String, id: UInt64) {
        guard var queue = waiters[folder], let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        waiters[folder] = queue.isEmpty ? nil : queue
        waiter.continuation.resume(throwing: CancellationError())
    }
}

/// One publisher per folder at a time across processes (`coursegen generate` beside the daemon):
/// an exclusive `flock` on a file in the state folder.
final class ProcessLock {
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock, waiting while another process holds it (checking every 100 ms: `flock`
    /// would block a thread of the cooperative pool).
    static func acquire(path: String, files: FileSystem, logger: Logger) async throws -> ProcessLock {
        try files.makeDirectory(String(path[..<path.lastIndex(of: "/")!]), mode: [.ownerReadWriteExecute, .groupReadExecute])
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FileError(path: path, operation: "open lock file", errno: .current) }
        var warned = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let error = errno
                close(fd)
                throw FileError(path: path, operation: "lock", errno: Errno(rawValue: error))
            }
            if !warned {
                logger.notice("waiting for another coursegen process publishing into the same folder")
                warned = true
            }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                close(fd)
                throw error
            }
        }
        return ProcessLock(descriptor: fd)
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
