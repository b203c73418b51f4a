public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Google's Gemini API (`generateContent`), over AsyncHTTPClient.
///
/// The key travels only in the `x-goog-api-key` header: never in the URL, never in an error.
public struct GeminiProvider: ChapterProvider {
    private let endpointBase: String
    private let apiKey: APIKey
    private let httpClient: HTTPClient

    /// Largest answer read, in bytes; a chapter is a few tens of kilobytes.
    static let maximumResponseSize = 8 * 1024 * 1024

    /// - Parameters:
    ///   - baseURL: e.g. "https://generativelanguage.googleapis.com"; `/v1beta/models/...` is
    ///     appended. Plain http is accepted only for loopback hosts (tests), so the key never
    ///     crosses a network in clear.
    /// - Throws: `ProviderError` (.fatal) for a base URL that is not usable.
    public init(baseURL: String, apiKey: APIKey, httpClient: HTTPClient) throws {
        self.endpointBase = try Self.validatedBase(baseURL)
        self.apiKey = apiKey
        self.httpClient = httpClient
    }

    public func generate(_ request: ChapterRequest, timeout: Duration) async throws -> ChapterResponse {
        guard Self.isValidModelName(request.model) else {
            throw ProviderError(.fatal, "model name '\(request.model)' may hold only letters, digits, '.', '-' and '_'")
        }
        var http = HTTPClientRequest(url: "\(endpointBase)/v1beta/models/\(request.model):generateContent")
        http.method = .POST
        apiKey.withValue { http.headers.add(name: "x-goog-api-key", value: $0) }
        http.headers.add(name: "content-type", value: "application/json")
        http.headers.add(name: "user-agent", value: "coursegen")
        let body = try JSONEncoder().encode(GeminiWire.Request(request))
        http.body = .bytes(ByteBuffer(data: body))

        let status: Int
        let bytes: [UInt8]
        do {
            let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
            let response = try await httpClient.execute(http, deadline: deadline)
            status = Int(response.status.code)
            var buffer = try await response.body.collect(upTo: Self.maximumResponseSize)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try Task.checkCancellation()
            throw Self.transportError(error, timeout: timeout)
        }
        switch GeminiWire.classify(status: status, body: bytes) {
        case .success(let response): return response
        case .failure(let error): throw error
        }
    }

    public func verify(model: String, timeout: Duration) async throws {
        guard Self.isValidModelName(model) else {
            throw ProviderError(
                .stopEverything,
                "model name '\(model)' may hold only letters, digits, '.', '-' and '_'"
            )
        }
        var http = HTTPClientRequest(url: "\(endpointBase)/v1beta/models/\(model)")
        http.method = .GET
        apiKey.withValue { http.headers.add(name: "x-goog-api-key", value: $0) }
        http.headers.add(name: "user-agent", value: "coursegen")
        let status: Int
        let bytes: [UInt8]
        do {
            let deadline = NIODeadline.now() + .nanoseconds(min(timeout, .seconds(30)).nanoseconds)
            let response = try await httpClient.execute(http, deadline: deadline)
            status = Int(response.status.code)
            var buffer = try await response.body.collect(upTo: 1 << 20)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try Task.checkCancellation()
            throw Self.transportError(error, timeout: timeout)
        }
        if let error = GeminiWire.classifyModelCheck(status: status, body: bytes) { throw error }
    }

    /// A failure before a full answer arrived: always worth a retry.
    static func transportError(_ error: any Error, timeout: Duration) -> ProviderError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return ProviderError(.retry, "no complete answer within the request timeout (\(timeout))")
            case .remoteConnectionClosed:
                return ProviderError(.retry, "the server closed the connection before answering")
            default:
                return ProviderError(.retry, "HTTP client error: \(error)")
            }
        }
        if error is NIOTooManyBytesError {
            return ProviderError(.retry, "the answer is larger than \(maximumResponseSize) bytes")
        }
        return ProviderError(.retry, "connection failed: \(error)")
    }

    /// Model names go into the URL path: letters, digits, '.', '-' and '_' only.
    public static func isValidModelName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0))
            }
    }

    static func validatedBase(_ baseURL: String) throws -> String {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host,
            scheme == "https" || scheme == "http", url.query == nil, url.user == nil
        else {
            throw ProviderError(
                .fatal,
                "base URL '\(baseURL)' is not an http(s) URL such as https://generativelanguage.googleapis.com"
            )
        }
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
        guard scheme == "https" || loopback else {
            throw ProviderError(
                .fatal,
                "base URL '\(baseURL)' uses plain http to a non-local host, which would send the API key in clear; use https"
            )
        }
        return base
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64.max.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
