import Crypto
import Glibc
import SystemPackage

/// The content of an outline as a SHA-256 digest: what the periodic scan compares, as the start-up catch-up does,
/// so that a touch, a chmod or an identical rewrite is not reported. SHA-256 rather than a cheaper hash because
/// the package already builds swift-crypto and outlines are small; collisions are not a concern either way.
typealias ContentDigest = SHA256.Digest

/// Reads an outline once, to hash it, and says whether it changed while it was read.
enum ContentReader {
    /// One reading of a file.
    struct Sample: Sendable, Equatable {
        /// The open file's signature before and after it was read: they differ if it was written meanwhile.
        var before: FileSignature
        var after: FileSignature
        /// What the path named once the file was read (nil if nothing): differs from `after` if the file was
        /// replaced meanwhile (a rename onto it).
        var current: FileSignature?
        var digest: ContentDigest
        /// The wall-clock time when the reading ended, since the epoch (compared with `after.modified`).
        var readAt: Duration

        /// Whether the file stayed the same while it was read, so that `digest` is the content `after` names.
        var isConsistent: Bool { before == after && current == after }
    }

    /// Opens `path` (following a symlink), hashes everything it holds, and stats it around the reading.
    /// Opens with `O_NONBLOCK` so that a FIFO put in the outline's place cannot block the scan.
    /// - Returns: the failure to open, stat or read, as an `Errno` (`EINVAL` for something not a regular file).
    static func sample(_ path: String) -> Result<Sample, Errno> {
        do {
            let file = try FileDescriptor.open(FilePath(path), .readOnly, options: [.nonBlocking, .closeOnExec])
            return try file.closeAfter {
                let before = try file.stat()
                guard before.type == .regular else { throw Errno.invalidArgument }
                var hasher = SHA256()
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try file.read(into: $0) }
                    if count == 0 { break }
                    buffer.withUnsafeBytes {
                        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count]))
                    }
                }
                let after = try file.stat()
                let current = try? Stat(FilePath(path))
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                return .success(
                    Sample(
                        before: FileSignature(before),
                        after: FileSignature(after),
                        current: current.map(FileSignature.init),
                        digest: hasher.finalize(),
                        readAt: .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
                    )
                )
            }
        } catch {
            // swift-system's open, read and stat throw nothing but Errno.
            return .failure(error as? Errno ?? .ioError)
        }
    }
}
