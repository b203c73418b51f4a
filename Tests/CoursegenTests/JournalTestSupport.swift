import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A bound `AF_UNIX` datagram socket standing in for journald or systemd's notify socket: at a
/// path in a fresh temporary folder, or at a unique abstract name (`@...`).
final class DatagramReceiver: Sendable {
    /// The address to give senders: a path, or `@name`.
    let address: String
    private let descriptor: Int32
    private let folder: String?

    init(abstract: Bool = false) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ReceiverError("socket: \(String(cString: strerror(errno)))") }
        var bytes: [UInt8]
        if abstract {
            address = "@coursegen-test-\(UUID().uuidString)"
            folder = nil
            bytes = Array(address.utf8)
            bytes[0] = 0
        } else {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coursegen-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            self.folder = folder
            address = folder + "/socket"
            bytes = Array(address.utf8) + [0]
        }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw ReceiverError("bind \(address): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// Removes the socket's file: senders then find nobody listening, as when journald stops.
    func unlinkSocketFile() {
        if !address.hasPrefix("@") { unlink(address) }
    }

    struct Datagram {
        var bytes: [UInt8]
        /// Descriptors passed with SCM_RIGHTS (the receiver owns and must close them).
        var descriptors: [Int32]
    }

    /// The next datagram. Senders in these tests send before calling this, so it is already
    /// queued; the timeout is only a safety net against a test hanging.
    func receive(timeoutMilliseconds: Int32 = 10_000) throws -> Datagram {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { throw ReceiverError("nothing arrived at \(address)") }
        var pending: Int32 = 0
        _ = ioctl(descriptor, UInt(FIONREAD), &pending)
        var buffer = [UInt8](repeating: 0, count: max(Int(pending), 1))
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let received = buffer.withUnsafeMutableBytes { data -> Int in
            var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
            return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = control.baseAddress
                message.msg_controllen = control.count
                let count = recvmsg(descriptor, &message, Int32(MSG_CMSG_CLOEXEC))
                return message.msg_flags & Int32(MSG_TRUNC) != 0 ? -2 : count
            }
        }
        guard received >= 0 else { throw ReceiverError("recvmsg failed or truncated (\(received))") }
        var descriptors: [Int32] = []
        let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self).pointee
        if header.cmsg_level == SOL_SOCKET && header.cmsg_type == Int32(SCM_RIGHTS) {
            let count = (header.cmsg_len - MemoryLayout<cmsghdr>.size) / MemoryLayout<Int32>.size
            for index in 0..<count {
                descriptors.append(control.load(fromByteOffset: MemoryLayout<cmsghdr>.size + index * 4, as: Int32.self))
            }
        }
        return Datagram(bytes: Array(buffer.prefix(received)), descriptors: descriptors)
    }
}

struct ReceiverError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Parses journald's native format (what `JournalEntry.encoded()` must produce, written here
/// from the protocol's description rather than from the encoder): `NAME=value\n`, or `NAME\n`,
/// a 64-bit little-endian length, that many bytes and `\n`.
func parseNativeJournalEntry(_ bytes: [UInt8]) throws -> [(name: String, value: String)] {
    var fields: [(name: String, value: String)] = []
    var index = 0
    while index < bytes.count {
        guard let end = bytes[index...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") })
        else {
            throw ReceiverError("field without '=' or newline at byte \(index)")
        }
        let name = String(decoding: bytes[index..<end], as: UTF8.self)
        if bytes[end] == UInt8(ascii: "=") {
            guard let newline = bytes[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw ReceiverError("\(name): value without a final newline")
            }
            fields.append((name, String(decoding: bytes[(end + 1)..<newline], as: UTF8.self)))
            index = newline + 1
        } else {
            guard end + 9 <= bytes.count else { throw ReceiverError("\(name): truncated length") }
            var length: UInt64 = 0
            for (shift, byte) in bytes[(end + 1)..<(end + 9)].enumerated() {
                length |= UInt64(byte) << (8 * UInt64(shift))
            }
            let start = end + 9
            let stop = start + Int(length)
            guard stop < bytes.count, bytes[stop] == UInt8(ascii: "\n") else {
                throw ReceiverError("\(name): binary value of \(length) bytes not followed by a newline")
            }
            fields.append((name, String(decoding: bytes[start..<stop], as: UTF8.self)))
            index = stop + 1
        }
    }
    return fields
}

/// The value of the only field `name` in `fields`; records an issue when there are none or many.
func value(
    of name: String,
    in fields: [(name: String, value: String)],
    sourceLocation: SourceLocation = #_sourceLocation
)
    -> String?
{
    let values = fields.filter { $0.name == name }.map(\.value)
    #expect(values.count == 1, "expected one \(name) field, found \(values.count)", sourceLocation: sourceLocation)
    return values.first
}
