import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// The fake-gemini executable that scripts and benchmarks run: its flags reach the servers.

/// A running `fake-gemini` process, built beside the test bundle.
private final class FakeProcess: Sendable {
    static let url: URL = {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ].compactMap { $0 }
        for folder in candidates {
            let binary = folder.appendingPathComponent("fake-gemini")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        return URL(fileURLWithPath: ".build/debug/fake-gemini")
    }()

    private let process: SpawnedProcess
    let port: Int

    /// Starts `fake-gemini ARGUMENTS` and waits for the port it prints.
    init(_ arguments: [String]) async throws {
        let process = try SpawnedProcess(Self.url.path, arguments)
        self.process = process
        let line = try await blocking { process.firstLine() }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.signal(SIGKILL)
            throw RawHTTPError.malformedResponse("fake-gemini printed no port: \(line)")
        }
        self.port = port
    }

    /// Sends SIGTERM and returns the exit status.
    func stop() async throws -> Int32 {
        let process = self.process
        process.signal(SIGTERM)
        return try await blocking { process.waitUntilExit() }
    }

    /// One request on a new connection.
    func send(_ request: String) async throws -> RawResponse {
        let port = port
        return try await blocking {
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            try connection.send(request)
            return try connection.readResponse()
        }
    }
}

/// Runs `fake-gemini ARGUMENTS` to completion (for arguments it refuses).
private func runToExit(_ arguments: [String]) async throws -> (status: Int32, errors: String) {
    try await blocking {
        let process = try SpawnedProcess(FakeProcess.url.path, arguments)
        let status = process.waitUntilExit()
        return (status, process.standardError)
    }
}

@Suite("The fake-gemini executable")
struct FakeServerExecutableTests {
    @Test("--api openai serves chat completions with the quota, storm and key flags, and stats say so")
    func openAIFlags() async throws {
        let fake = try await FakeProcess([
            "--api", "openai", "--no-key", "--rpm", "3", "--latency", "fixed:0.001", "--storm-fraction", "1",
        ])
        func chat(_ prompt: String) -> String {
            let body = #"{"model": "any-local-model", "messages": [{"role": "user", "content": "\#(prompt)"}]}"#
            return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        }
        let first = try await fake.send(chat("a"))
        #expect(first.status == 200)
        #expect(first.header("x-ratelimit-remaining-requests") == "2")
        #expect(try await fake.send(chat("b")).status == 200)
        let on = "POST /_fake/storm?active=true HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        #expect(try await fake.send(on).status == 200)
        #expect(try await fake.send(chat("c")).status == 503)
        let limited = try await fake.send(chat("d"))
        #expect(limited.status == 429)
        #expect(limited.header("retry-after") != nil && limited.header("retry-after-ms") != nil)

        let stats = try await fake.send("GET /_fake/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let json = try #require(try stats.json() as? [String: Any])
        #expect(json["api"] as? String == "openai")
        #expect(json["requests"] as? Int == 4)
        #expect(json["stormRejected"] as? Int == 1)
        #expect(json["quotaRejected"] as? Int == 1)
        #expect(json["maxAdmittedPerWindow"] as? Int == 3)
        #expect(json["byStatus"] as? [String: Int] == ["200": 2, "429": 1, "503": 1])
        #expect(try await fake.stop() == 0)
    }

    @Test("Gemini with --fail-first, --reply and a latency distribution answers as the flags say")
    func geminiFlags() async throws {
        let fake = try await FakeProcess([
            "--key", "k", "--fail-first", "1", "--reply", "truncate:2", "--latency", "gemini-flash:scale=0.0001",
            "--split", "adversarial", "--stream-events", "4",
        ])
        let body = #"{"contents": [{"parts": [{"text": "chapter"}]}]}"#
        let request =
            "POST /v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "x-goog-api-key: k\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        #expect(try await fake.send(request).status == 503)
        let truncated = try await fake.send(request)
        #expect(truncated.status == 200)
        let events = try truncated.serverSentEvents()
        #expect(events.count == 2)
        #expect(truncated.chunks.count > 2, "events split across writes")
        #expect(try await fake.stop() == 0)
    }

    @Test("--fault-mix answers the faults it names, and every attempt past --max-failures succeeds")
    func faultMixFlag() async throws {
        let fake = try await FakeProcess(["--key", "k", "--fault-mix", "500=0.5,reset=0.5", "--max-failures", "2"])
        let body = #"{"contents": [{"parts": [{"text": "chapter"}]}]}"#
        let request =
            "POST /v1beta/models/gemini-2.5-flash-lite:generateContent HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "x-goog-api-key: k\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        // Two attempts draw from the mix (a 500 or a reset connection), the third succeeds.
        for _ in 1...2 {
            do {
                #expect(try await fake.send(request).status == 500)
            } catch {
                // The reset: the connection closed without a response.
            }
        }
        #expect(try await fake.send(request).status == 200)
        let stats = try await fake.send("GET /_fake/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let json = try #require(try stats.json() as? [String: Any])
        #expect(json["byPrompt"] as? [String: Int] == ["chapter": 3])
        #expect((json["byStatus"] as? [String: Int])?["200"] == 1)
        #expect(try await fake.stop() == 0)
    }

    @Test(
        "bad flags are refused with a message that says what to write",
        arguments: [
            (["--latency", "normal:1"], "unknown kind"), (["--storm-window", "40-10"], "--storm-window"),
            (["--reply", "sometimes"], "--reply sometimes"), (["--split", "thirds"], "--split"),
            (["--no-key", "--key", "k"], "--no-key"), (["--fault-mix", "503"], "is not REPLY=PROBABILITY"),
            (["--fault-mix", "503=1.5"], "is not a probability"), (["--fault-mix", "503=0.6,500=0.6"], "more than 1"),
            (["--fault-mix", "sometimes=0.1"], "sometimes is not a reply"),
            (["--fault-mix", "success=0.1"], "faults only"),
        ]
    )
    func badFlags(arguments: [String], message: String) async throws {
        let (status, errors) = try await runToExit(arguments)
        #expect(status != 0)
        #expect(errors.contains(message), "\(errors)")
    }
}
