#if canImport(Glibc)
    import Glibc
#endif

/// An `AF_UNIX` socket address as systemd writes them in `$NOTIFY_SOCKET`: a file system path
/// (`/run/systemd/notify`) or, with a leading `@`, a name in the abstract namespace
/// (`@/org/freedesktop/systemd1/notify/123`), which has no file and ends at its last byte.
struct UnixSocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as written: `/path` or `@name`.
    let description: String

    /// The address `text`, or nil when it is neither an absolute path nor an `@name`, or is longer
    /// than `sun_path` holds (107 bytes for a path, which needs a terminating NUL; 107 for a name).
    init?(_ text: String) {
        guard let first = text.utf8.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@"),
            text.utf8.count > 1, text.utf8.count < Self.pathCapacity
        else { return nil }
        description = text
    }

    /// Whether the address names an abstract socket (no file on disk).
    var isAbstract: Bool { description.utf8.first == UInt8(ascii: "@") }

    private static let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// Calls `body` with the address as a `sockaddr` and its length in bytes: for a path the
    /// length covers the terminating NUL, for an abstract name it ends with the name (the
    /// leading `@` becomes the NUL that marks the abstract namespace).
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(description.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: bytes)
            if isAbstract { path[0] = 0 }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = pathOffset + bytes.count + (isAbstract ? 0 : 1)
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(length)) }
        }
    }
}
