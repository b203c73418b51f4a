import AsyncHTTPClient
import FakeGemini
import FakeServerKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Platform

// The fake Gemini server's streams and wire faults, through the raw client (which sees chunk
// boundaries and EOF) and through AsyncHTTPClient (what the real client sees).

private let model = "gemini-2.5-flash-lite"
private let streamPath = "/v1beta/models/\(model):streamGenerateContent?alt=sse"
private let generatePath = "/v1beta/models/\(model):generateContent"

@Suite("Fake Gemini server: streams and wire faults")
struct FakeGeminiStreamingTests {
    // MARK: Framing

    @Test("events end with CRLF by default and LF when configured, the last with finishReason and usage, no [DONE]")
    func lineEndings() async throws {
        for lineEnding in LineEnding.allCases {
            try await withServer(.init(lineEnding: lineEnding)) { server in
                let response = try await exchange(server, path: streamPath, body: requestBody(prompt: "p"))
                let separator = lineEnding.bytes + lineEnding.bytes
                #expect(response.text.hasSuffix(separator))
                #expect(!response.text.contains("[DONE]"))
                if lineEnding == .lf { #expect(!response.text.contains("\r")) }
                let events = try response.serverSentEvents(lineEnding: lineEnding.bytes)
                #expect(events.count == 3)
                #expect(dig(events.last, "candidates", 0, "finishReason") as? String == "STOP")
                #expect(dig(events.last, "usageMetadata", "candidatesTokenCount") is Int)
                #expect(events.dropLast().allSatisfy { dig($0, "candidates", 0, "finishReason") == nil })
            }
        }
    }

    @Test(
        "events split across writes at any byte reassemble into the same events",
        arguments: [SplitPolicy.none, .halves, .seeded(seed: 9, cutsPerEvent: 5), .adversarial(seed: 2), .everyByte]
    )
    func splitWrites(_ split: SplitPolicy) async throws {
        let prompt = "Ownership — moves, copies and borrows: naïve façades, 日本語, emoji 🦀"
        let whole = try await withServerResult(.init(split: .none)) { server in
            try await exchange(server, path: streamPath, body: requestBody(prompt: prompt))
        }
        let cut = try await withServerResult(.init(split: split)) { server in
            try await exchange(server, path: streamPath, body: requestBody(prompt: prompt))
        }
        #expect(cut.body == whole.body)
        #expect(try cut.serverSentEvents().count == whole.serverSentEvents().count)
        let events = whole.text.components(separatedBy: "\r\n\r\n").count - 1
        switch split {
        case .none: #expect(cut.chunks.count == events)
        case .everyByte: #expect(cut.chunks.count == cut.body.count)
        default: #expect(cut.chunks.count > events)
        }
        if case .adversarial = split {
            // Some chunk ends between CR and LF, and some inside a multi-byte character.
            #expect(cut.chunks.contains { $0.last == 0x0D })
            #expect(cut.chunks.contains { String(validating: $0, as: UTF8.self) == nil })
        }
    }

    @Test("AsyncHTTPClient reassembles an adversarially split stream into the original text")
    func asyncHTTPClientReassembles() async throws {
        let prompt = "Grüße aus Köln — 🦀"
        try await withServer(.init(split: .adversarial(seed: 4))) { server in
            var request = HTTPClientRequest(url: server.baseURL + streamPath)
            request.method = .POST
            request.headers.add(name: "x-goog-api-key", value: FakeGeminiServer.defaultAPIKey)
            request.body = .bytes(ByteBuffer(string: requestBody(prompt: prompt)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            var parts = 0
            var bytes: [UInt8] = []
            for try await part in response.body {
                parts += 1
                bytes += Array(buffer: part)
            }
            #expect(parts > 3, "the client saw the events in pieces")
            let text = String(decoding: bytes, as: UTF8.self)
            let events = text.components(separatedBy: "\r\n\r\n").dropLast()
            let texts = try events.map { event in
                let json = try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))
                return dig(json, "candidates", 0, "content", "parts", 0, "text") as? String ?? ""
            }
            #expect(texts.joined() == FakeGeminiServer.defaultText(for: .init(model: model, prompt: prompt)))
        }
    }

    @Test("a reply streamed in N events arrives in N events")
    func eventCount() async throws {
        try await withServer(.init { _ in .success().streamed(textEvents: 7) }) { server in
            let events = try await exchange(server, path: streamPath, body: requestBody(prompt: "p")).serverSentEvents()
            #expect(events.count == 7)
            #expect(server.statistics.requests.first?.eventsWritten == 7)
        }
    }

    // MARK: Thinking

    @Test("with includeThoughts, thought parts stream first and the text never contains them")
    func thoughtsFirst() async throws {
        try await withServer(.init { _ in .success().streamed(textEvents: 2, thinking: .milliseconds(20)) }) { server in
            let body = requestBody(prompt: "p", generationConfig: #"{"thinkingConfig": {"includeThoughts": true}}"#)
            let events = try await exchange(server, path: streamPath, body: body).serverSentEvents()
            let parts = events.map { dig($0, "candidates", 0, "content", "parts", 0) as? [String: Any] }
            let thoughtFlags = parts.map { $0?["thought"] as? Bool ?? false }
            #expect(thoughtFlags == [true, true, false, false])
            let text = parts.filter { $0?["thought"] == nil }.compactMap { $0?["text"] as? String }.joined()
            #expect(text == FakeGeminiServer.defaultText(for: .init(model: model, prompt: "p")))
        }
    }

    @Test("without includeThoughts, the thinking time is silent: the status line, then nothing until the text")
    func silentThinking() async throws {
        // A thinking time the test never waits out.
        try await withServer(.init { _ in .success().streamed(thinking: .seconds(3600)) }) { server in
            let port = server.port
            let connection = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: streamPath, body: requestBody(prompt: "p")))
                return connection
            }
            defer { connection.close() }
            let head = try await blocking { try connection.readHead() }
            #expect(head.status == 200)
            try await server.waitUntil { $0.requests.first?.disposition == .streaming(status: 200) }
            #expect(!connection.hasBytesAvailable())
            #expect(server.statistics.requests.first?.eventsWritten == 0)
            #expect(server.statistics.inFlight == 1)
        }
    }

    // MARK: Faults

    @Test("a stall sends some events, then nothing while the connection stays open")
    func stallForever() async throws {
        try await withServer(.init { _ in .success().streamed(textEvents: 4).stalled(afterEvents: 2) }) { server in
            let port = server.port
            let connection = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: streamPath, body: requestBody(prompt: "p")))
                return connection
            }
            let head = try await blocking { try connection.readHead() }
            #expect(head.status == 200)
            let chunks = try await blocking { try connection.readChunks(untilEvents: 2) }
            #expect(String(decoding: chunks.joined(), as: UTF8.self).components(separatedBy: "\r\n\r\n").count == 3)
            try await server.waitUntil { $0.requests.first?.eventsWritten == 2 }
            #expect(!connection.hasBytesAvailable())
            #expect(server.statistics.requests.first?.disposition == .streaming(status: 200))
            #expect(server.statistics.openConnections == 1)

            connection.close()
            try await server.waitUntil { $0.inFlight == 0 }
            #expect(server.statistics.requests.first?.disposition == .interrupted(status: 200))
            #expect(server.statistics.interruptedCount == 1)
        }
    }

    @Test("a stall for a given time resumes and finishes the stream")
    func stallThenResume() async throws {
        let reply = FakeGeminiServer.Reply.success().stalled(afterEvents: 1, for: .milliseconds(100))
        try await withServer(.init { _ in reply }) { server in
            let response = try await exchange(server, path: streamPath, body: requestBody(prompt: "p"))
            let events = try response.serverSentEvents()
            #expect(events.count == 3)
            #expect(dig(events.last, "candidates", 0, "finishReason") as? String == "STOP")
            #expect(server.statistics.requests.first?.disposition == .answered(status: 200))
        }
    }

    @Test("a stream cut mid-event closes the connection inside an event; AsyncHTTPClient reports an error")
    func cutMidEvent() async throws {
        try await withServer(.init { _ in .success().cut(afterEvents: 1) }) { server in
            let port = server.port
            let (head, received) = try await blocking {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try connection.send(httpRequest(path: streamPath, body: requestBody(prompt: "p")))
                let head = try connection.readHead()
                return (head, try connection.readToEOF())
            }
            #expect(head.status == 200)
            let text = String(decoding: received, as: UTF8.self)
            #expect(!text.hasSuffix("0\r\n\r\n"), "no terminating chunk")
            #expect(text.components(separatedBy: "data: ").count == 3, "one whole event and the start of another")
            try await server.waitUntil { $0.inFlight == 0 }
            #expect(server.statistics.requests.first?.disposition == .interrupted(status: 200))

            var request = HTTPClientRequest(url: server.baseURL + streamPath)
            request.method = .POST
            request.headers.add(name: "x-goog-api-key", value: FakeGeminiServer.defaultAPIKey)
            request.body = .bytes(ByteBuffer(string: requestBody(prompt: "p")))
            await #expect(throws: (any Error).self) {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                for try await _ in response.body {}
            }
        }
    }

    @Test("a truncated stream ends cleanly without any finishReason")
    func truncated() async throws {
        try await withServer(.init { _ in .success().truncated(afterEvents: 2) }) { server in
            let response = try await exchange(server, path: streamPath, body: requestBody(prompt: "p"))
            #expect(response.status == 200)
            let events = try response.serverSentEvents()
            #expect(events.count == 2)
            #expect(events.allSatisfy { dig($0, "candidates", 0, "finishReason") == nil })
            #expect(server.statistics.requests.first?.disposition == .answered(status: 200))
        }
    }

    @Test("a trickle sends the body one byte per write")
    func trickle() async throws {
        try await withServer(.init { _ in .success(text: "Short.").trickled(every: .milliseconds(1)) }) { server in
            let streamed = try await exchange(server, path: streamPath, body: requestBody(prompt: "p"))
            #expect(streamed.chunks.count == streamed.body.count)
            #expect(try streamed.serverSentEvents().count == 3)

            let plain = try await exchange(server, body: requestBody(prompt: "p"))
            #expect(plain.header("content-length") == String(plain.body.count))
            #expect(dig(try plain.json(), "candidates", 0, "content", "parts", 0, "text") as? String == "Short.")
            #expect(server.statistics.requests.last?.bytesWritten == plain.body.count)
        }
    }

    @Test("an HTML page answers 200, streaming or not")
    func htmlPage() async throws {
        try await withServer(.init { _ in .htmlPage }) { server in
            for path in [generatePath, streamPath] {
                let response = try await exchange(server, path: path, body: requestBody(prompt: "p"))
                #expect(response.status == 200)
                #expect(response.header("content-type")?.hasPrefix("text/html") == true)
                #expect(response.text.hasPrefix("<!DOCTYPE html>"))
                #expect(throws: (any Error).self) { try response.json() }
            }
        }
    }

    @Test("an error event after HTTP 200 carries Google's error object")
    func errorEventAfter200() async throws {
        try await withServer(.init { _ in .errorMidStream(code: 500) }) { server in
            let response = try await exchange(server, path: streamPath, body: requestBody(prompt: "p"))
            #expect(response.status == 200)
            let events = try response.serverSentEvents()
            #expect(dig(events.first, "candidates", 0, "content", "parts", 0, "text") is String)
            #expect(dig(events.last, "error", "code") as? Int == 500)
            #expect(dig(events.last, "error", "status") as? String == "INTERNAL")
        }
    }

    @Test("an unresponsive server accepts connections and never reads them, even the request head")
    func unresponsive() async throws {
        try await withServer(.init(unresponsive: true)) { server in
            let port = server.port
            let connection = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "p")))
                return connection
            }
            defer { connection.close() }
            try await server.waitUntil { $0.unresponsiveConnections == 1 }
            #expect(!connection.hasBytesAvailable())
            #expect(server.statistics.requestCount == 0)

            server.isUnresponsive = false
            #expect(try await exchange(server, body: requestBody(prompt: "p")).status == 200)
            #expect(server.statistics.requestCount == 1)
            #expect(!connection.hasBytesAvailable())
        }
    }

    @Test("a latency model paces a stream: the status line at once, the first event after the thinking share")
    func latencyModelPacesStreams() async throws {
        let latency = LatencyModel(.fixed(.seconds(3600)), firstEventShare: 0.5)
        try await withServer(.init(latency: latency)) { server in
            let port = server.port
            let connection = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: streamPath, body: requestBody(prompt: "p")))
                return connection
            }
            defer { connection.close() }
            #expect(try await blocking { try connection.readHead() }.status == 200)
            #expect(!connection.hasBytesAvailable())

            // A plain request waits the whole draw before its status line.
            let plain = try await blocking {
                let connection = try RawConnection(port: port)
                try connection.send(httpRequest(path: generatePath, body: requestBody(prompt: "q")))
                return connection
            }
            defer { plain.close() }
            try await server.waitForRequests(2)
            #expect(server.statistics.requests.last?.disposition == .pending)
            #expect(!plain.hasBytesAvailable())
        }
    }
}

/// Runs `body` against a fresh server, always shuts it down, and returns what `body` returned.
func withServerResult<T: Sendable>(
    _ configuration: FakeGeminiServer.Configuration,
    _ body: (FakeGeminiServer) async throws -> T
) async throws -> T {
    let server = try await FakeGeminiServer.start(configuration)
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}
