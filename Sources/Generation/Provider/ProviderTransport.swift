import AsyncHTTPClient
import Foundation
import NIOCore

/// How a provider streams answers. Every provider streams through the same stall watch
/// (`StreamActivity`), so one setting (`--stall-timeout`) means the same thing for all of them.
public struct StreamingSettings: Sendable, Hashable {
    /// Silence after which a stream is cancelled and retried like a timeout.
    public var stallTimeout: Duration

    public init(stallTimeout: Duration = .seconds(60)) {
        self.stallTimeout = stallTimeout
    }
}

/// What every HTTP provider shares: the bounds on what it reads, the rule for base URLs, and the
/// classification of a request that got no complete answer.
enum ProviderTransport {
    /// Largest non-streamed answer read, in bytes (a chapter is a few tens of kilobytes; the text
    /// itself is bounded to `maximumTextSize`). A stream may be four times this, events included.
    static let maximumResponseSize = 2 * 1024 * 1024
    /// Largest chapter text accepted, in UTF-8 bytes: anything near this is a runaway answer.
    static let maximumTextSize = 1 << 20

    /// The base URL without trailing slashes, and whether its host is this machine.
    /// - Parameter example: a good base URL for this provider, for the message.
    /// - Throws: `ProviderError` (.fatal) for a URL that is not http(s), holds a query or a user,
    ///   or uses plain http to a host that is not a loopback address: the API key would cross a
    ///   network in clear.
    static func validatedBase(_ baseURL: String, example: String) throws -> (base: String, isLoopback: Bool) {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host,
            scheme == "https" || scheme == "http", url.query == nil, url.user == nil
        else {
            throw ProviderError(.fatal, "base URL '\(baseURL)' is not an http(s) URL such as \(example)")
        }
        let loopback = isLoopback(host: host)
        guard scheme == "https" || loopback else {
            throw ProviderError(
                .fatal,
                "base URL '\(baseURL)' uses plain http to a non-local host, which would send the API key in clear; use https"
            )
        }
        return (base, loopback)
    }

    /// Whether `host` (as `URL.host` gives it) names this machine's loopback interface.
    static func isLoopback(host: String) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
    }

    /// A failure before a full answer arrived: always worth a retry.
    static func transportError(_ error: any Error, timeout: Duration) -> ProviderError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return ProviderError(
                    .retry,
                    "no complete answer within the request timeout (\(timeout))",
                    overloaded: true
                )
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

    /// An API's error message fit for one log field: its lines joined, at most 500 characters.
    static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 500 ? String(flat.prefix(500)) + "…" : flat
    }
}
