import Platform
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A connectionless `AF_UNIX` datagram socket to journald's native socket.
///
/// Each entry is one datagram addressed to the socket's path (not a connected socket, so a
/// restarted journald is reached at its new socket). An entry too large for a datagram goes the
/// way libsystemd sends it: written to a sealed memfd whose descriptor is passed with
/// `SCM_RIGHTS` in an empty datagram. Sending blocks while journald's queue is full, as
/// libsystemd's does. Safe to share between threads: each send is one system call on an
/// immutable descriptor.
final class JournalSocket: Sendable {
    /// Where journald listens for native entries.
    static let defaultPath = "/run/systemd/journal/socket"

    let address: UnixSocketAddress
    private let descriptor: Int32

    /// Opens a socket for entries to `path` after checking that something listens there.
    /// - Throws: `JournalError` with code `.badAddress` for a path that is not an absolute path
    ///   or `@name`, `.socket` when no socket can be made, `.unreachable` when nothing receives
    ///   datagrams at `path` (journald is not running, or this is not a systemd machine).
    init(path: String = JournalSocket.defaultPath) throws(JournalError) {
        guard let address = UnixSocketAddress(path) else { throw JournalError(.badAddress, path: path, errno: .invalidArgument) }
        let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw JournalError(.socket, path: path, errno: .current) }
        defer { close(probe) }
        let connected = address.withSocketAddress { connect(probe, $0, $1) }
        guard connected == 0 else { throw JournalError(.unreachable, path: path, errno: .current) }

        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw JournalError(.socket, path: path, errno: .current) }
        self.address = address
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends one encoded entry (`JournalEntry.encoded()`).
    /// - Throws: `JournalError` `.send` when journald does not take the datagram (it stopped,
    ///   or the socket went away), `.memfd` when an oversized entry cannot be passed by memfd.
    func send(_ entry: [UInt8]) throws(JournalError) {
        let sent = entry.withUnsafeBytes { buffer in
            address.withSocketAddress {
                sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1)
            }
        }
        if sent >= 0 { return }
        let code = errno
        guard code == EMSGSIZE || code == ENOBUFS else {
            throw JournalError(.send, path: address.description, errno: Errno(rawValue: code))
        }
        try sendThroughMemoryFile(entry)
    }

    private func sendThroughMemoryFile(_ entry: [UInt8]) throws(JournalError) {
        let file = try MemoryFile(contents: entry, path: address.description)
        defer { close(file.descriptor) }

        // One SCM_RIGHTS control message carrying one descriptor, laid out as CMSG_SPACE(4).
        let headerSize = MemoryLayout<cmsghdr>.size
        let alignment = MemoryLayout<Int>.size
        let space = headerSize + ((MemoryLayout<Int32>.size + alignment - 1) / alignment) * alignment
        let control = UnsafeMutableRawBufferPointer.allocate(
            byteCount: space,
            alignment: MemoryLayout<cmsghdr>.alignment
        )
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
        header.pointee.cmsg_len = headerSize + MemoryLayout<Int32>.size
        header.pointee.cmsg_level = SOL_SOCKET
        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
        control.storeBytes(of: file.descriptor, toByteOffset: headerSize, as: Int32.self)

        let sent = address.withSocketAddress { name, nameLength in
            var message = msghdr()
            message.msg_name = UnsafeMutableRawPointer(mutating: name)
            message.msg_namelen = nameLength
            message.msg_control = control.baseAddress
            message.msg_controllen = space
            return sendmsg(descriptor, &message, Int32(MSG_NOSIGNAL))
        }
        guard sent >= 0 else { throw JournalError(.send, path: address.description, errno: .current) }
    }
}

/// A sealed memfd holding an entry: journald only accepts a passed memfd once it can no longer
/// change (shrink, grow, write and seal seals all set).
private struct MemoryFile {
    let descriptor: Int32

    // Linux ABI values; Swift's Glibc module does not import them (they need _GNU_SOURCE).
    private static let allowSealing: UInt32 = 0x2  // MFD_ALLOW_SEALING
    private static let closeOnExec: UInt32 = 0x1  // MFD_CLOEXEC
    private static let addSeals: Int32 = 1033  // F_ADD_SEALS
    private static let allSeals: Int32 = 0x1 | 0x2 | 0x4 | 0x8  // F_SEAL_SEAL | SHRINK | GROW | WRITE

    private typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    // glibc declares memfd_create only under _GNU_SOURCE, so Swift cannot call it directly: look
    // the symbol up once instead of adding a C shim for this one fallback path.
    private static let memfdCreate: MemfdCreate? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create")
        .map { unsafeBitCast($0, to: MemfdCreate.self) }

    init(contents: [UInt8], path: String) throws(JournalError) {
        guard let memfdCreate = Self.memfdCreate else { throw JournalError(.memfd, path: path, errno: .noFunction) }
        let descriptor = memfdCreate("journal-entry", Self.allowSealing | Self.closeOnExec)
        guard descriptor >= 0 else { throw JournalError(.memfd, path: path, errno: .current) }
        var written = 0
        while written < contents.count {
            let result = contents.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let code = errno
                close(descriptor)
                throw JournalError(.memfd, path: path, errno: Errno(rawValue: code))
            }
            written += result
        }
        guard fcntl(descriptor, Self.addSeals, Self.allSeals) == 0 else {
            let code = errno
            close(descriptor)
            throw JournalError(.memfd, path: path, errno: Errno(rawValue: code))
        }
        self.descriptor = descriptor
    }
}

/// Why an entry could not reach journald.
struct JournalError: CodedError {
    enum Code: String, ErrorCode {
        /// The socket path is neither an absolute path nor an `@name`.
        case badAddress
        /// No socket could be created.
        case socket
        /// Nothing receives datagrams at the path.
        case unreachable
        /// journald did not take the datagram.
        case send
        /// An oversized entry could not be written to a sealed memfd.
        case memfd
    }

    let code: Code
    /// The journal socket's path.
    let path: String
    let errno: Errno
    let origin: SourceOrigin

    init(_ code: Code, path: String, errno: Errno, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.path = path
        self.errno = errno
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    var message: String {
        let what =
            switch code {
            case .badAddress: "is not an absolute path or @name"
            case .socket: "cannot create a socket"
            case .unreachable: "does not answer"
            case .send: "did not take an entry"
            case .memfd: "cannot take an oversized entry through a memfd"
            }
        return "journal socket \(path) \(what): \(errno.words)"
    }
}
