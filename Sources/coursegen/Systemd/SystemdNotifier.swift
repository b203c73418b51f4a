import Platform
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Tells systemd about the service's state with the sd_notify protocol: newline-separated
/// `NAME=value` assignments in one datagram to the `AF_UNIX` socket named by `$NOTIFY_SOCKET`
/// (a path, or `@name` for the abstract namespace). Outside systemd (no `NOTIFY_SOCKET`) every
/// method does nothing. Each message opens, uses and closes its own socket, so a notifier is a
/// plain value, safe to copy and share.
struct SystemdNotifier: Sendable {
    /// Where messages go; nil outside systemd.
    let socketAddress: String?

    /// A notifier for the process environment `environment` (its `NOTIFY_SOCKET`, if set and not
    /// empty). The environment is passed in, never read here, so tests inject their own.
    init(environment: [String: String]) {
        socketAddress = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether messages go anywhere.
    var isEnabled: Bool { socketAddress != nil }

    /// `READY=1`: start-up is complete (for coursegen: after the start-up scan), optionally with a
    /// new status line.
    func ready(status: String? = nil) throws(SystemdNotifierError) {
        try send(["READY": "1"], status: status)
    }

    /// `STATUS=`: the one-line status `systemctl status` shows. Newlines become spaces, because a
    /// newline would end the assignment.
    func status(_ text: String) throws(SystemdNotifierError) {
        try send([:], status: text)
    }

    /// `WATCHDOG=1`: the service is alive; systemd restarts it when these stop for `WatchdogSec=`.
    func watchdog() throws(SystemdNotifierError) {
        try send(["WATCHDOG": "1"])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (`CLOCK_MONOTONIC` in microseconds, by default now):
    /// a reload began; send `ready(status:)` when it is done.
    func reloading(status: String? = nil, monotonicMicroseconds: UInt64 = SystemdNotifier.monotonicMicroseconds())
        throws(SystemdNotifierError)
    {
        try send(["RELOADING": "1", "MONOTONIC_USEC": String(monotonicMicroseconds)], status: status)
    }

    /// `STOPPING=1`: the service is shutting down.
    func stopping(status: String? = nil) throws(SystemdNotifierError) {
        try send(["STOPPING": "1"], status: status)
    }

    /// The datagram for `assignments` (in order of name) and an optional status.
    static func message(_ assignments: [String: String], status: String? = nil) -> String {
        var lines = assignments.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if let status {
            let oneLine = String(status.map { $0.isNewline ? " " : $0 })
            lines.append("STATUS=\(oneLine)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func send(_ assignments: [String: String], status: String? = nil) throws(SystemdNotifierError) {
        guard let socketAddress else { return }
        guard let address = UnixSocketAddress(socketAddress) else {
            throw SystemdNotifierError(.unsupportedAddress, address: socketAddress, errno: .addressFamilyNotSupported)
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemdNotifierError(.socket, address: socketAddress, errno: .current) }
        defer { close(descriptor) }
        let bytes = Array(Self.message(assignments, status: status).utf8)
        let sent = bytes.withUnsafeBytes { buffer in
            address.withSocketAddress {
                sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1)
            }
        }
        guard sent == bytes.count else {
            throw SystemdNotifierError(.send, address: socketAddress, errno: sent < 0 ? .current : .messageTooLong)
        }
    }

    /// The watchdog interval systemd expects pings within, from `WATCHDOG_USEC` (microseconds,
    /// a positive whole number); nil when the watchdog is off, the value is malformed, or
    /// `WATCHDOG_PID` is set to a process other than `processID` (the variable was inherited).
    static func watchdogInterval(environment: [String: String], processID: pid_t = getpid()) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
            microseconds <= UInt64(Int64.max)
        else { return nil }
        if let pidText = environment["WATCHDOG_PID"] {
            guard let pid = pid_t(pidText), pid == processID else { return nil }
        }
        return .microseconds(Int64(microseconds))
    }

    /// `CLOCK_MONOTONIC` now, in microseconds (the clock systemd's `MONOTONIC_USEC=` uses).
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// Why a message did not reach systemd.
struct SystemdNotifierError: CodedError {
    enum Code: String, ErrorCode {
        /// `NOTIFY_SOCKET` is neither an absolute path nor an `@name` (e.g. a `vsock:` address).
        case unsupportedAddress
        /// No socket could be created.
        case socket
        /// The datagram was not sent whole.
        case send
    }

    let code: Code
    /// The `NOTIFY_SOCKET` value.
    let address: String
    let errno: Errno
    let origin: SourceOrigin

    init(_ code: Code, address: String, errno: Errno, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.address = address
        self.errno = errno
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    var message: String {
        let what =
            switch code {
            case .unsupportedAddress: "is not a supported address (expected /path or @name)"
            case .socket: "cannot be used: no socket could be created"
            case .send: "did not take the message"
            }
        return "NOTIFY_SOCKET \(address) \(what): \(errno.words)"
    }
}
