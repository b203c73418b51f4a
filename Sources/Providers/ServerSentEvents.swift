/// Splits a `text/event-stream` body into events as its bytes arrive, however the network cut
/// them: in the middle of a line, of a `\r\n` pair or of a UTF-8 character. Pure and synchronous,
/// following the WHATWG "event stream interpretation": lines end with CRLF, LF or CR; `data:`
/// lines accumulate (joined with LF); a blank line dispatches the event; `:` starts a comment;
/// a single space after the colon is dropped; an event without data is not dispatched.
///
/// Written here rather than taken from mattt/EventSource (in the offline mirror): that parser
/// dispatches an unterminated event at the end of the stream, against the specification, so a
/// stream cut after its last `data:` line would pass as complete; it also awaits an actor once
/// per byte, and it links FoundationNetworking (URLSession, libcurl) into the binary.
struct ServerSentEventParser {
    struct Event: Sendable, Hashable {
        /// The `event:` field, nil for the default ("message").
        var type: String?
        /// The `data:` lines, joined with LF.
        var data: String
    }

    private var line: [UInt8] = []
    private var afterCR = false
    private var atStart = true
    private var data: [UInt8] = []
    private var hasData = false
    private var type: String?
    /// Bytes fed so far.
    private(set) var byteCount = 0

    /// True when the bytes fed so far end inside an event: a partial line, or lines not yet
    /// closed by a blank line. A stream that ends like this was cut.
    var isInsideEvent: Bool { !line.isEmpty || hasData || type != nil }

    /// Feeds the next bytes of the stream and returns the events they complete, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            byteCount += 1
            switch byte {
            case 0x0A where afterCR:
                afterCR = false
            case 0x0A, 0x0D:
                afterCR = byte == 0x0D
                if let event = endLine() { events.append(event) }
            default:
                afterCR = false
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = line[..<(colon ?? line.endIndex)]
        var value = colon.map { line[line.index(after: $0)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch String(decoding: name, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data += value
            hasData = true
        case "event":
            type = String(decoding: value, as: UTF8.self)
        default:
            // `id:` and `retry:` only matter for reconnecting, which coursegen never does: a
            // request that broke off is retried whole.
            break
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            type = nil
        }
        guard hasData else { return nil }
        return Event(type: type, data: String(decoding: data, as: UTF8.self))
    }
}
