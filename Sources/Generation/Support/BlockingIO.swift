public import NIOPosix

/// Where coursegen runs its blocking system calls (fsync, rename, reading and listing files):
/// on a thread pool made for it, never on Swift's cooperative pool, which has only as many threads
/// as cores. Two slow fsyncs on the cooperative pool would stall every task of the process,
/// the watchdog's health check included.
public struct BlockingIO: Sendable {
    private let pool: NIOThreadPool

    /// coursegen's pool: eight threads whatever the cores, because its work waits on the disk
    /// (fsync), not on a core, and a chapter's answer must be stored at once even while other
    /// outlines publish.
    public static let shared: BlockingIO = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return BlockingIO(pool: pool)
    }()

    /// Runs on `pool` (tests give one of a known size).
    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    /// Runs `body` on the pool and returns its result. Once `body` has started it runs to its
    /// end even if the calling task is cancelled, and the call returns only then: a publish that
    /// started is never abandoned half-way.
    /// - Throws: what `body` throws; `CancellationError` if cancelled before `body` started.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
