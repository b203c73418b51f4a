import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import coursegen
import Providers

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Journal log handler")
struct JournalLogHandlerTests {
    private func makeLogger(to receiver: DatagramReceiver, fallback: @escaping @Sendable (String) -> Void = { _ in })
        throws
        -> Logger
    {
        let socket = try JournalSocket(path: receiver.address)
        var logger = Logger(label: "test") { _ in JournalLogHandler(socket: socket, fallback: fallback) }
        logger.logLevel = .trace
        return logger
    }

    @Test("an event becomes MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_* and one field per metadata key")
    func entryFields() throws {
        let receiver = try DatagramReceiver()
        let line: UInt = #line + 1
        try makeLogger(to: receiver).warning(
            "chapter attempt failed",
            metadata: [
                "outline": "practical-rust", "chapter": "3", "chapter_title": "Ownership and borrowing",
                "attempt": "2", "http_status": "503", "duration_ms": "812", "tokens_in": "1200",
            ]
        )

        let fields = try parseNativeJournalEntry(receiver.receive().bytes)
        #expect(value(of: "MESSAGE", in: fields) == "chapter attempt failed")
        #expect(value(of: "PRIORITY", in: fields) == "4")
        #expect(value(of: "SYSLOG_IDENTIFIER", in: fields) == "coursegen")
        #expect(value(of: "CODE_FILE", in: fields) == "CoursegenTests/JournalLogHandlerTests.swift")
        #expect(value(of: "CODE_LINE", in: fields) == "\(line)")
        #expect(value(of: "CODE_FUNC", in: fields) == "entryFields()")
        #expect(value(of: "OUTLINE", in: fields) == "practical-rust")
        #expect(value(of: "CHAPTER", in: fields) == "3")
        #expect(value(of: "CHAPTER_TITLE", in: fields) == "Ownership and borrowing")
        #expect(value(of: "ATTEMPT", in: fields) == "2")
        #expect(value(of: "HTTP_STATUS", in: fields) == "503")
        #expect(value(of: "DURATION_MS", in: fields) == "812")
        #expect(value(of: "TOKENS_IN", in: fields) == "1200")
        #expect(fields.count == 13)
    }

    @Test("a value holding newlines is sent in the binary length-prefixed form")
    func binaryField() throws {
        let receiver = try DatagramReceiver()
        let message = "generation failed:\nline two\n\nline four"
        try makeLogger(to: receiver).error("\(message)", metadata: ["error": "first\nsecond"])

        let bytes = try receiver.receive().bytes
        var expectedMessage = Array("MESSAGE\n".utf8)
        withUnsafeBytes(of: UInt64(message.utf8.count).littleEndian) { expectedMessage.append(contentsOf: $0) }
        expectedMessage += Array(message.utf8) + [UInt8(ascii: "\n")]
        #expect(bytes.starts(with: expectedMessage))
        let fields = try parseNativeJournalEntry(bytes)
        #expect(value(of: "MESSAGE", in: fields) == message)
        #expect(value(of: "ERROR", in: fields) == "first\nsecond")
        #expect(value(of: "PRIORITY", in: fields) == "3")
    }

    @Test("an entry too large for a datagram arrives whole through a sealed memfd")
    func oversizedEntry() throws {
        let receiver = try DatagramReceiver()
        // Far above the largest datagram the default socket send buffer allows (about 208 KiB).
        let body = String(repeating: "0123456789abcdef", count: 65_536)
        try makeLogger(to: receiver).info("chapter body", metadata: ["body": "\(body)"])

        let datagram = try receiver.receive()
        #expect(datagram.bytes.isEmpty)
        let file = try #require(datagram.descriptors.first)
        defer { close(file) }
        #expect(fcntl(file, 1034) == 0x1 | 0x2 | 0x4 | 0x8)  // F_GET_SEALS: seal, shrink, grow, write
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, off_t(contents.count)) }
            guard count > 0 else { break }
            contents += chunk.prefix(count)
        }
        let fields = try parseNativeJournalEntry(contents)
        #expect(value(of: "BODY", in: fields) == body)
        #expect(value(of: "MESSAGE", in: fields) == "chapter body")
    }

    @Test("secret metadata is redacted and API-key-shaped text is masked everywhere")
    func secretsNeverReachTheJournal() throws {
        let receiver = try DatagramReceiver()
        let key = "AIzaSyA-1234567890abcdefghijklmnopqrstu"
        try makeLogger(to: receiver).info(
            "sending with \(key)",
            metadata: ["api_key": "\(key)", "token": "abc", "tokens_out": "950", "error": "bad key \(key) refused"]
        )

        let bytes = try receiver.receive().bytes
        #expect(!String(decoding: bytes, as: UTF8.self).contains(key))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("abc"))
        let fields = try parseNativeJournalEntry(bytes)
        #expect(value(of: "API_KEY", in: fields) == "<redacted>")
        #expect(value(of: "TOKEN", in: fields) == "<redacted>")
        #expect(value(of: "TOKENS_OUT", in: fields) == "950")
        #expect(value(of: "MESSAGE", in: fields) == "sending with <redacted>")
        #expect(value(of: "ERROR", in: fields) == "bad key <redacted> refused")
    }

    @Test("metadata set on the logger is sent with each entry, the event's own winning")
    func loggerMetadata() throws {
        let receiver = try DatagramReceiver()
        var logger = try makeLogger(to: receiver)
        logger[metadataKey: "outline"] = "practical-rust"
        logger[metadataKey: "request_id"] = "r-1"
        logger.debug("chapter cached", metadata: ["request_id": "r-2"])

        let fields = try parseNativeJournalEntry(receiver.receive().bytes)
        #expect(value(of: "OUTLINE", in: fields) == "practical-rust")
        #expect(value(of: "REQUEST_ID", in: fields) == "r-2")
        #expect(value(of: "PRIORITY", in: fields) == "7")
    }

    @Test("a line goes to the fallback when journald stops taking entries")
    func fallbackWhenJournalStops() throws {
        let receiver = try DatagramReceiver()
        let lines = NIOLockedValueBox<[String]>([])
        let logger = try makeLogger(to: receiver) { line in lines.withLockedValue { $0.append(line) } }
        receiver.unlinkSocketFile()
        logger.error("chapter failed", metadata: ["outline": "practical-rust"])

        let written = lines.withLockedValue { $0 }
        #expect(written.count == 1)
        #expect(written.first?.contains("error    chapter failed  outline=practical-rust") == true)
        #expect(written.first?.contains("not in the journal") == true)
    }

    @Test("a socket path nobody listens on is refused up front")
    func unreachableSocket() throws {
        let receiver = try DatagramReceiver()
        receiver.unlinkSocketFile()
        #expect {
            try JournalSocket(path: receiver.address)
        } throws: { error in
            (error as? JournalError)?.code == .unreachable
        }
        #expect(throws: JournalError.self) { try JournalSocket(path: "relative/socket") }
    }

    @Test(
        "swift-log levels map to syslog priorities",
        arguments: [
            (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
    )
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalEntry.priority(for: level) == priority)
    }

    @Test(
        "metadata keys map to field names journald accepts",
        arguments: [
            ("outline", "OUTLINE"), ("chapter", "CHAPTER"), ("chapter_title", "CHAPTER_TITLE"),
            ("http_status", "HTTP_STATUS"), ("tokens_thinking", "TOKENS_THINKING"), ("request_id", "REQUEST_ID"),
            ("http.status", "HTTP_STATUS"), ("chapter-title", "CHAPTER_TITLE"), ("Duration ms", "DURATION_MS"),
            ("_pid", "X__PID"), ("3rd_try", "X_3RD_TRY"), ("", "X_"), ("message", "X_MESSAGE"),
            ("priority", "X_PRIORITY"), ("code_line", "X_CODE_LINE"), ("Ünïcode", "X__N_CODE"),
            (String(repeating: "a", count: 80), String(repeating: "A", count: 64)),
            (String(repeating: "_", count: 80), "X_" + String(repeating: "_", count: 62)),
        ]
    )
    func fieldNames(key: String, field: String) {
        #expect(JournalEntry.fieldName(forMetadataKey: key) == field)
    }
}

@Suite("Log redaction")
struct JournalRedactionTests {
    @Test(
        "keys that name secrets are secret; counts and titles are not",
        arguments: [
            ("api_key", true), ("key", true), ("x-goog-api-key", true), ("apiKey", true), ("APIKey", true),
            ("accessToken", true), ("token", true), ("password", true), ("Authorization", true),
            ("session.cookie", true),
            ("client_secret", true), ("tokens_in", false), ("tokens_out", false), ("tokens_thinking", false),
            ("chapter_title", false), ("outline", false), ("request_id", false), ("keynote", false), ("monkey", false),
        ]
    )
    func secretKeys(key: String, secret: Bool) {
        #expect(LogRedaction.isSecret(key: key) == secret)
    }

    @Test("text shaped like a Google API key is masked, other text is left alone")
    func masking() {
        let key = "AIzaSyD_abcdefghijklmnopqrstuvwxyz01234"
        #expect(LogRedaction.maskingAPIKeys(in: "key=\(key)&x") == "key=<redacted>&x")
        #expect(LogRedaction.maskingAPIKeys(in: "\(key) and \(key)") == "<redacted> and <redacted>")
        #expect(LogRedaction.maskingAPIKeys(in: "AIza too short") == "AIza too short")
        #expect(LogRedaction.maskingAPIKeys(in: "plain text") == "plain text")
    }
}
