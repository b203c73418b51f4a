import NIOConcurrencyHelpers
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A stand-in for systemd's notify socket: a datagram socket the daemon finds in
/// `NOTIFY_SOCKET`, read by a thread of its own that stamps every message as it arrives, so
/// READY=1 and each STATUS= line are timed on the benchmark's clock. The daemon's sends never
/// wait on it: the thread reads as fast as messages come.
final class NotifyListener: Sendable {
    struct Message: Sendable {
        /// Position in arrival order.
        var index: Int
        var received: ContinuousClock.Instant
        /// `NAME=value` lines.
        var text: String

        /// The value of `NAME=` in this message, if present.
        func value(of name: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1)) }
        }
    }

    private struct Waiter {
        var after: Int
        var condition: @Sendable (Message) -> Bool
        var continuation: CheckedContinuation<Message?, Never>
    }

    private struct State {
        var messages: [Message] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// The path to put in `NOTIFY_SOCKET`.
    let address: String
    private let descriptor: Int32
    private let state = NIOLockedValueBox(State())
    private let stopping = Atomic(false)
    private let finished = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)

    /// Binds a socket at `path` and starts reading.
    init(path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("notify socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(descriptor)
            throw BenchError("notify socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            Glibc.close(descriptor)
            throw BenchError("bind \(path): \(String(cString: strerror(errno)))")
        }
        // Room for bursts of STATUS= lines while this thread is not scheduled.
        var bufferSize: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        self.address = path
        self.descriptor = descriptor
        let reader = Thread { [self] in read() }
        reader.name = "notify-listener"
        reader.start()
    }

    private func read() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopping.load(ordering: .relaxed) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            // The timeout only bounds how long stopping takes.
            guard poll(&poller, 1, 200) == 1 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let received = ContinuousClock.now
            let text = String(decoding: buffer[..<count], as: UTF8.self)
            let resumed: [(CheckedContinuation<Message?, Never>, Message)] = state.withLockedValue { state in
                let message = Message(index: state.messages.count, received: received, text: text)
                state.messages.append(message)
                var resumed: [(CheckedContinuation<Message?, Never>, Message)] = []
                for (id, waiter) in state.waiters where message.index >= waiter.after && waiter.condition(message) {
                    resumed.append((waiter.continuation, message))
                    state.waiters[id] = nil
                }
                return resumed
            }
            for (continuation, message) in resumed { continuation.resume(returning: message) }
        }
        finished.withLockedValue { $0?.resume() }
    }

    /// Messages received so far.
    var messages: [Message] { state.withLockedValue { $0.messages } }

    /// The number of messages received so far: pass it as `after` to wait for a later one.
    var count: Int { state.withLockedValue { $0.messages.count } }

    /// The first message at position `after` or later for which `condition` holds, waiting for it
    /// if need be (bound the wait with `within`).
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func first(after: Int = 0, where condition: @escaping @Sendable (Message) -> Bool) async throws -> Message {
        let id = state.withLockedValue { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let message: Message? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Message?, Never>) in
                let found: Message?? = state.withLockedValue { state in
                    if Task.isCancelled { return .some(nil) }
                    if let message = state.messages.dropFirst(after).first(where: condition) { return message }
                    state.waiters[id] = Waiter(after: after, condition: condition, continuation: continuation)
                    return nil
                }
                if let found { continuation.resume(returning: found) }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: nil)
        }
        guard let message else { throw CancellationError() }
        return message
    }

    /// READY=1.
    func ready(after: Int = 0) async throws -> Message {
        try await first(after: after) { $0.value(of: "READY") == "1" }
    }

    /// The first STATUS= line at `after` or later that `condition` accepts.
    func status(after: Int = 0, where condition: @escaping @Sendable (String) -> Bool) async throws -> Message {
        try await first(after: after) { message in message.value(of: "STATUS").map(condition) ?? false }
    }

    /// Stops reading and closes the socket; waiters still waiting are left to their timeouts.
    func close() async {
        await withCheckedContinuation { continuation in
            finished.withLockedValue { $0 = continuation }
            stopping.store(true, ordering: .relaxed)
        }
        Glibc.close(descriptor)
        unlink(address)
    }
}
