public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a small file a user names (an outline, a prompt template, a key file) the one safe way:
/// opened with `O_NONBLOCK`, so a FIFO put in its place cannot block a thread; checked through the
/// descriptor (`fstat`: a regular file, within the limit), never through the path, which can be
/// swapped in between; and read with a bound, since it may grow after the check. Each caller turns
/// a `Failure` into its own message.
public enum SmallFile {
    public enum Failure: Error, Sendable, Hashable {
        case cannotOpen(Errno)
        /// Not a regular file: a directory, or a FIFO, socket or device.
        case notRegular(isDirectory: Bool)
        /// Over the limit: its size as seen, at least `limit + 1`.
        case tooLarge(size: Int)
        case cannotRead(Errno)
    }

    /// The whole content of the regular file at `path`, at most `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.nonBlocking, .closeOnExec])
        } catch {
            throw .cannotOpen(Errno(error))
        }
        defer { try? descriptor.close() }
        let status: Stat
        do { status = try descriptor.stat() } catch { throw .cannotRead(error) }
        guard status.type == .regular else { throw .notRegular(isDirectory: status.type == .directory) }
        guard status.size <= Int64(limit) else { throw .tooLarge(size: Int(status.size)) }
        // One byte past the size seen, and on while the file grows, up to one byte past the limit:
        // that byte tells a file over the limit.
        var bytes = [UInt8](repeating: 0, count: min(Int(status.size), limit) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                guard bytes.count <= limit else { break }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit + 1 - bytes.count))
            }
            let read: Int
            do {
                read = try bytes.withUnsafeMutableBytes { buffer in
                    try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                }
            } catch {
                throw .cannotRead(Errno(error))
            }
            if read == 0 { break }
            count += read
        }
        guard count <= limit else { throw .tooLarge(size: count) }
        bytes.removeSubrange(count...)
        return bytes
    }
}

extension Errno {
    /// The system's words for it, lower case: "no such file or directory".
    public var words: String {
        description.lowercased()
    }

    /// The calling thread's `errno`, right after a failed system call.
    public static var current: Errno { Errno(rawValue: Glibc.errno) }

    /// The `Errno` swift-system threw (its throwing calls throw nothing else).
    public init(_ error: any Error) {
        self = error as? Errno ?? .ioError
    }
}
