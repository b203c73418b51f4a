import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One publisher per folder at a time within this process.
actor FolderLocks {
    private var held: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ folder: String) async {
        if !held.contains(folder) {
            held.insert(folder)
            return
        }
        await withCheckedContinuation { waiters[folder, default: []].append($0) }
    }

    func release(_ folder: String) {
        if var queue = waiters[folder], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[folder] = queue.isEmpty ? nil : queue
            next.resume()  // the folder stays held, by the next waiter
        } else {
            held.remove(folder)
        }
    }
}

/// One publisher per folder at a time across processes (`coursegen generate` beside the daemon):
/// an exclusive `flock` on a file in the state folder.
final class ProcessLock {
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock, waiting while another process holds it (checking every 100 ms: `flock`
    /// would block a thread of the cooperative pool).
    static func acquire(path: String, logger: Logger) async throws -> ProcessLock {
        try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o750)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FileError(path: path, operation: "open lock file", errno: errno) }
        var warned = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let error = errno
                close(fd)
                throw FileError(path: path, operation: "lock", errno: error)
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
