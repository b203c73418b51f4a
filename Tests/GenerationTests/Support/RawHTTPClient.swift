import Foundation
import Glibc

// A raw HTTP/1.1 client on blocking sockets, for the tests of the fake servers: it sees exactly
// the bytes a real client would (status lines, headers, chunk boundaries, EOF), which a
// full-featured client hides.

// MARK: - A raw HTTP/1.1 client

enum RawHTTPError: Error, Equatable {
    case connect(errno: Int32)
    case send(errno: Int32)
    case receive(errno: Int32)
    /// The connection ended before a complete response; `received` bytes had arrived.
    case closedBeforeResponse(received: Int)
    case malformedResponse(String)
}

/// An HTTP response exactly as received: the body is de-chunked, nothing else is interpreted.
struct RawResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// The chunks of a chunked body, as the server framed them (its separate writes).
    var chunks: [[UInt8]] = []

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(body))
    }

    /// The JSON of each `data:` event of a server-sent event stream whose events end with a
    /// blank line of `lineEnding` ("\r\n" or "\n").
    func serverSentEvents(lineEnding: String = "\r\n") throws -> [Any] {
        try text.components(separatedBy: lineEnding + lineEnding).dropLast().map { event in
            guard event.hasPrefix("data: ") else {
                throw RawHTTPError.malformedResponse("event without data: \(event)")
            }
            return try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))
        }
    }
}

/// A blocking TCP connection to 127.0.0.1. Used by one thread at a time (tests hand it from one
/// blocking call to the next), hence `@unchecked Sendable`.
final class RawConnection: @unchecked Sendable {
    private var descriptor: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads give up after 30 s, a safety net only.
    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw RawHTTPError.connect(errno: errno) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw RawHTTPError.connect(errno: code)
        }
    }

    deinit { close() }

    func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawHTTPError.send(errno: errno) }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Whether bytes (or EOF) are ready to read now, without waiting.
    func hasBytesAvailable() -> Bool {
        guard buffer.isEmpty else { return true }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// Reads more bytes into the buffer; false at EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw RawHTTPError.receive(errno: errno) }
        buffer += chunk[..<count]
        return count > 0
    }

    /// Everything until the server closes the connection.
    func readToEOF() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// One response: status line, headers, and a body framed by Content-Length, chunked
    /// encoding, or the end of the connection.
    func readResponse() throws -> RawResponse {
        var response = try readHead()
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while let chunk = try readChunk() {
                response.body += chunk
                response.chunks.append(chunk)
            }
        } else if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = take(try readExactly(length))
        } else {
            response.body = try readToEOF()
        }
        return response
    }

    /// The status line and headers of a response, its body left unread.
    func readHead() throws -> RawResponse {
        let headerEnd = try readUntil(Array("\r\n\r\n".utf8))
        let headText = String(decoding: take(headerEnd), as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n").dropLast(2)[...]
        guard let statusLine = lines.popFirst() else { throw RawHTTPError.malformedResponse(headText) }
        let statusParts = statusLine.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw RawHTTPError.malformedResponse(statusLine)
        }
        let headers = lines.map { line -> (name: String, value: String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        return RawResponse(status: status, headers: headers, body: [])
    }

    /// The next chunk of a chunked body; nil after the last (zero-length) chunk.
    /// - Throws: `closedBeforeResponse` when the connection ends in the middle.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = String(decoding: take(try readUntil(Array("\r\n".utf8))).dropLast(2), as: UTF8.self)
        guard let size = Int(sizeLine, radix: 16) else { throw RawHTTPError.malformedResponse(sizeLine) }
        if size == 0 {
            _ = take(try readUntil(Array("\r\n".utf8)))
            return nil
        }
        return Array(take(try readExactly(size + 2)).dropLast(2))
    }

    /// Chunks until their bytes hold `count` complete events ending with `terminator`, for
    /// reading a stream that stalls after them.
    func readChunks(untilEvents count: Int, terminator: String = "\r\n\r\n") throws -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var text = ""
        while text.components(separatedBy: terminator).count - 1 < count {
            guard let chunk = try readChunk() else { break }
            chunks.append(chunk)
            text = String(decoding: chunks.joined(), as: UTF8.self)
        }
        return chunks
    }

    /// Reads until `delimiter` is buffered; returns the count of bytes up to and including it.
    private func readUntil(_ delimiter: [UInt8]) throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= delimiter.count {
                for start in searchFrom...(buffer.count - delimiter.count)
                where buffer[start..<start + delimiter.count].elementsEqual(delimiter) {
                    return start + delimiter.count
                }
                searchFrom = buffer.count - delimiter.count + 1
            }
            guard try fill() else { throw RawHTTPError.closedBeforeResponse(received: buffer.count) }
        }
    }

    private func readExactly(_ count: Int) throws -> Int {
        while buffer.count < count {
            guard try fill() else { throw RawHTTPError.closedBeforeResponse(received: buffer.count) }
        }
        return count
    }

    private func take(_ count: Int) -> [UInt8] {
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }
}
