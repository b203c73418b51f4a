import Dispatch

/// Runs blocking file-system work (listing folders, `stat`, reading outlines) on a thread of its own instead of
/// Swift's cooperative pool, which has one thread per core: a `stat` on a network share can block for seconds
/// (on a hard-mounted NFS share whose server is down, until the server is back), and it must stall only the
/// watcher, never every task of the process. A serial queue, so a stuck share holds one thread, not many.
final class BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `work` on the queue and returns its result. Not cancellable: blocking calls cannot be interrupted.
    func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
