import AsyncHTTPClient
import Foundation
import NIOCore
import Platform

/// The `fake-gemini` executable as a separate process: the server of the makespan scenarios,
/// whose client (the engine) runs in the benchmark's process. Kept apart so its event loops and
/// CPU are not the client's.
final class FakeGeminiProcess: Sendable {
    let child: ChildProcess
    let port: Int
    private let httpClient: HTTPClient

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts `fake-gemini ARGUMENTS --key KEY --port-file ...` and waits for the port it writes.
    static func start(
        executable: String,
        arguments: [String],
        key: String,
        folder: String,
        httpClient: HTTPClient
    ) async throws -> FakeGeminiProcess {
        let portFile = "\(folder)/fake-gemini-\(UUID().uuidString).port"
        let child = try ChildProcess(
            executable,
            arguments + ["--key", key, "--port-file", portFile],
            logPath: portFile + ".log"
        )
        // The port file appears by rename once the server listens; a few milliseconds.
        let port = try await within(.seconds(20), "fake-gemini to listen (\(child.logPath))") {
            while true {
                if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                    let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
                {
                    return port
                }
                guard child.process.isRunning else {
                    throw BenchError("fake-gemini exited: \(child.logTail())")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        return FakeGeminiProcess(child: child, port: port, httpClient: httpClient)
    }

    private init(child: ChildProcess, port: Int, httpClient: HTTPClient) {
        self.child = child
        self.port = port
        self.httpClient = httpClient
    }

    /// The server's counters (`GET /_fake/stats`).
    func statistics() async throws -> FakeStatistics {
        let response = try await httpClient.execute(
            HTTPClientRequest(url: "\(baseURL)/_fake/stats"),
            timeout: .seconds(30)
        )
        let body = try await response.body.collect(upTo: 64 << 20)
        return try JSONDecoder().decode(FakeStatistics.self, from: Data(body.readableBytesView))
    }

    /// Switches the server's overload storm on (`fraction` of requests answered 503 at once) or
    /// off (`POST /_fake/storm`).
    func storm(active: Bool, fraction: Double = 0.6, seed: UInt64 = 1) async throws {
        var request = HTTPClientRequest(
            url: "\(baseURL)/_fake/storm?active=\(active)" + (active ? "&fraction=\(fraction)&seed=\(seed)" : "")
        )
        request.method = .POST
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        guard response.status == .ok else { throw BenchError("POST /_fake/storm answered \(response.status)") }
    }

    func stop() async {
        await child.stop()
    }
}

/// The part of `GET /_fake/stats` the benchmark reads.
struct FakeStatistics: Decodable, Sendable {
    /// Every request, model checks included.
    var requests: Int
    /// Valid `generateContent` requests by prompt, whatever their answer.
    var byPrompt: [String: Int]
    var byStatus: [String: Int]
    var maxInFlight: Int
    /// Every 429.
    var rateLimited: Int
    var maxAdmittedPerWindow: Int

    /// Requests for chapters: every valid `generateContent` request.
    var chapterRequests: Int { byPrompt.values.reduce(0, +) }
}
