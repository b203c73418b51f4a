import FakeGemini
import FakeServerKit
import Foundation
import NIOConcurrencyHelpers

// Helpers shared by the tests of the fake servers.

// MARK: - Helpers

/// Runs `body` against a fresh server and always shuts it down.
func withServer(
    _ configuration: FakeGeminiServer.Configuration = .init(),
    _ body: (FakeGeminiServer) async throws -> Void
) async throws {
    let server = try await FakeGeminiServer.start(configuration)
    do {
        try await body(server)
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

/// A `generateContent` body with one user prompt, a system instruction and optional settings.
func requestBody(prompt: String, generationConfig: String? = nil) -> String {
    let promptJSON = String(
        decoding: try! JSONSerialization.data(withJSONObject: [prompt], options: .fragmentsAllowed),
        as: UTF8.self
    )
    var body = #"{"systemInstruction": {"parts": [{"text": "You write course chapters."}]}, "#
    body += #""contents": [{"role": "user", "parts": [{"text": \#(promptJSON.dropFirst().dropLast())}]}]"#
    if let generationConfig { body += #", "generationConfig": \#(generationConfig)"# }
    return body + "}"
}

/// The text of an HTTP/1.1 request with Host, Content-Type and Content-Length set.
func httpRequest(
    method: String = "POST",
    path: String,
    body: String?,
    key: String? = FakeGeminiServer.defaultAPIKey,
    extraHeaders: [(String, String)] = []
) -> String {
    var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1"]
    if let key { lines.append("x-goog-api-key: \(key)") }
    if let body {
        lines.append("Content-Type: application/json")
        lines.append("Content-Length: \(body.utf8.count)")
    }
    lines += extraHeaders.map { "\($0.0): \($0.1)" }
    return lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
}

/// Sends one request on a new connection and reads its response, off the cooperative pool.
func exchange(
    _ server: some FakeServer,
    method: String = "POST",
    path: String = "/v1beta/models/gemini-2.5-flash-lite:generateContent",
    body: String?,
    key: String? = FakeGeminiServer.defaultAPIKey,
    extraHeaders: [(String, String)] = []
) async throws -> RawResponse {
    let port = server.port
    let request = httpRequest(method: method, path: path, body: body, key: key, extraHeaders: extraHeaders)
    return try await blocking {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        try connection.send(request)
        return try connection.readResponse()
    }
}

/// Runs blocking socket work on its own thread, so waiting tests never starve the cooperative
/// thread pool that the server's waiters resume on.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Walks decoded JSON by member names (String) and array indices (Int).
func dig(_ value: Any?, _ path: Any...) -> Any? {
    var current = value
    for step in path {
        switch step {
        case let key as String: current = (current as? [String: Any])?[key]
        case let index as Int:
            guard let array = current as? [Any], array.indices.contains(index) else { return nil }
            current = array[index]
        default: return nil
        }
    }
    return current
}

/// The entry of an error's `details` whose `@type` ends with `typeName`.
func detail(_ error: [String: Any], _ typeName: String) -> [String: Any]? {
    (error["details"] as? [[String: Any]])?.first {
        ($0["@type"] as? String) == "type.googleapis.com/google.rpc.\(typeName)"
    }
}

/// A value shared between a test and the closures it hands out.
final class Recorder<Value: Sendable>: Sendable {
    private let value: NIOLockedValueBox<Value>

    init(_ value: Value) {
        self.value = NIOLockedValueBox(value)
    }

    func withLockedValue<T: Sendable>(_ body: (inout Value) -> T) -> T {
        value.withLockedValue { body(&$0) }
    }
}
