import Logging
import NIOPosix
import Platform
import Providers

/// The chapters any coursegen process on this state folder is asking for: one `FileLock` per
/// chapter key, `STATE/inflight/<key>.lock`. A request holds its key's lock from the start of its
/// work (before the scheduler's pacing wait, so a chapter about to be asked for counts) until its
/// answer is stored or it failed. A process that finds the key held waits for the holder, then
/// looks in the store first: `coursegen generate` beside the daemon pays for no chapter twice,
/// whichever of the two asked first.
///
/// The holder removes its file when it is done (while holding the lock: see `FileLock`), so the
/// folder lists exactly the chapters in flight. A process killed mid-request leaves its file but
/// no lock; the next request for that key takes it and removes it, and `coursegen gc` sweeps the
/// others.
struct InFlightChapters: Sendable {
    /// `STATE/inflight`.
    let directory: String
    /// Where the locks are tried, and the store looked into once one is taken: `inOrder`.
    let io: BlockingIO

    init(directory: String, io: BlockingIO = Self.inOrder) {
        self.directory = directory
        self.io = io
    }

    /// One thread: requests leave it in the order they came, so they reach the scheduler (which
    /// serves them as they arrive) about in the order their runs asked for them, an outline's
    /// chapters first to last; on several threads they would overtake each other at random. Each
    /// call is a few quick system calls on a local file.
    static let inOrder: BlockingIO = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return BlockingIO(pool: pool)
    }()

    /// Another process's request takes seconds to a minute: look again soon at first, then at
    /// most every second.
    static let polling = FileLock.Polling(first: .milliseconds(25), maximum: .seconds(1))

    func path(for key: ChapterKey) -> String {
        "\(directory)/\(key.hex).lock"
    }

    /// Takes `key`'s lock, waiting while another process holds it (said once in the log, with the
    /// key's short id), then looks for `key`'s answer with `lookUp` (on `io`, with the attempt
    /// that took the lock): the process that held the lock may have stored it.
    /// - Returns: the lock, and what `lookUp` found.
    /// - Throws: `CancellationError` when cancelled while waiting; `FileError` when the lock file
    ///   cannot be made or locked (a full or read-only state folder).
    func claim(
        _ key: ChapterKey,
        logger: Logger,
        lookingUp lookUp: @escaping @Sendable () -> BodyStore.Body?
    ) async throws -> (lock: FileLock, stored: BodyStore.Body?) {
        let (lock, stored) = try await FileLock.acquire(path: path(for: key), io: io, polling: Self.polling) {
            logger.info(
                "waiting for another coursegen process that is asking for this chapter",
                metadata: ["cache_id": "\(key.short)"]
            )
        } then: {
            lookUp()
        }
        return (lock, stored)
    }

    /// Removes `lock`'s file and releases it, on `io`; at once when the task is cancelled (a
    /// held lock must never outlive its request).
    func release(_ lock: FileLock) async {
        do {
            try await io.run { lock.removeAndRelease() }
        } catch {
            lock.removeAndRelease()
        }
    }

    /// Removes the files in `directory` that no process holds (left by processes that were
    /// killed). Blocks: run it off the cooperative pool.
    /// - Returns: how many were removed.
    static func sweep(directory: String) throws(FileError) -> Int {
        var removed = 0
        for name in try FileSystem.posix.entries(of: directory) where name.hasSuffix(".lock") {
            guard let lock = try FileLock.attempt(path: "\(directory)/\(name)") else { continue }
            lock.removeAndRelease()
            removed += 1
        }
        return removed
    }
}
