public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import SystemPackage
import Platform

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

    /// Whether `baseURL` names a server on this machine or on a private network (loopback,
    /// 10/8, 172.16/12, 192.168/16, 169.254/16, IPv6 unique-local and link-local, `.local` and
    /// `.lan` names, a name without a dot): a model server of one's own, not a hosted API.
    static func isLocalServer(baseURL: String) -> Bool {
        guard let host = URL(string: baseURL.trimmingCharacters(in: .whitespaces))?.host?.lowercased() else {
            return false
        }
        if isLoopback(host: host) { return true }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let octets = bare.split(separator: ".").compactMap { UInt8($0) }
        if octets.count == 4 {
            switch (octets[0], octets[1]) {
            case (10, _), (127, _), (192, 168), (169, 254): return true
            case (172, let second): return (16...31).contains(second)
            default: return false
            }
        }
        if bare.contains(":") { return bare.hasPrefix("fc") || bare.hasPrefix("fd") || bare.hasPrefix("fe80") }
        return !bare.contains(".") || bare.hasSuffix(".local") || bare.hasSuffix(".lan")
    }

    /// Whether `host` (as `URL.host` gives it) names this machine's loopback interface.
    static func isLoopback(host: String) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
    }

    /// How the messages of failures that never reached the server begin (`ProviderError.isUnreachable`).
    static let unreachableOpenings = ["cannot connect", "cannot resolve"]

    /// Sends a small request (a model check, a page of the model list) and reads its whole
    /// answer, at most `limit` bytes, within `timeout`: the status and the body, or the
    /// transport's failure as a `ProviderError` (cancellation stays cancellation).
    static func fetch(
        _ request: HTTPClientRequest,
        with client: HTTPClient,
        timeout: Duration,
        limit: Int
    ) async throws -> (status: Int, body: [UInt8]) {
        do {
            let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
            let response = try await client.execute(request, deadline: deadline)
            var buffer = try await response.body.collect(upTo: limit)
            return (Int(response.status.code), buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try Task.checkCancellation()
            throw transportError(error, timeout: timeout)
        }
    }

    /// A failure before a full answer arrived: always worth a retry.
    static func transportError(_ error: any Error, timeout: Duration) -> ProviderError {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout:
                return ProviderError(.retry, "cannot connect: no connection within the time allowed: is the server running, and is the base URL right?")
            case .deadlineExceeded, .readTimeout:
                return ProviderError(
                    .retry,
                    "no complete answer within the request timeout (\(timeout))",
                    overloaded: true
                )
            case .remoteConnectionClosed:
                return ProviderError(.retry, "the server closed the connection before answering").markedCutOff()
            default:
                return ProviderError(.retry, "HTTP client error: \(error)")
            }
        }
        if error is NIOTooManyBytesError {
            return ProviderError(.retry, "the answer is larger than \(maximumResponseSize) bytes")
        }
        if let error = error as? NIOConnectionError {
            return ProviderError(.retry, connectionFailure(error))
        }
        if let error = error as? IOError {
            // NIO's description nests the errno in a "connection reset" that may not be one.
            let reason = Errno(rawValue: error.errnoCode)
            guard [.connectionRefused, .noRouteToHost, .networkUnreachable, .timedOut].contains(reason) else {
                return ProviderError(.retry, "connection failed: \(reason)")
            }
            return ProviderError(.retry, "cannot connect: \(reason): is the server running, and is the base URL right?")
        }
        return ProviderError(.retry, "connection failed: \(error)")
    }

    /// Why no connection could be made, in words: the host unresolvable, or each address's
    /// refusal (NIO's own description nests its errors).
    static func connectionFailure(_ error: NIOConnectionError) -> String {
        if error.connectionErrors.isEmpty {
            return "cannot resolve \(error.host): check the base URL and the machine's DNS"
        }
        let reasons = error.connectionErrors.map { failure in
            let reason = (failure.error as? IOError).map { "\(Errno(rawValue: $0.errnoCode))" } ?? "\(failure.error)"
            return "\(failure.target.ipAddress ?? "\(failure.target)"): \(reason)"
        }
        return "cannot connect to \(error.host):\(error.port) (\(reasons.joined(separator: "; "))): is the server "
            + "running, and is the base URL right?"
    }

    /// An API's error message fit for one log field: its lines joined, at most 500 characters.
    static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 500 ? String(flat.prefix(500)) + "…" : flat
    }
}

/// Puts a chapter together from the events of a streamed answer (`GeminiStream`, `OpenAIStream`).
protocol StreamedAnswer {
    /// Takes one event and says what it shows of the chapter's progress, if anything.
    /// - Throws: `ProviderError` for an error event or an event that is not what it should be.
    mutating func progress(from event: ServerSentEventParser.Event) throws(ProviderError) -> ChapterProgress?
    /// The chapter, or why there is none; `cut` when the stream ended inside an event.
    func finish(cut: Bool) -> Result<ChapterResponse, ProviderError>
}

extension ProviderTransport {
    /// Sends `http` and reads its answer as server-sent events into `makeAnswer()`, while a second
    /// task cancels it after `stallTimeout` of silence or `timeout` in all (`StreamActivity`);
    /// with `stallAfterFirstByte`, silence counts only once the answer began (a queued request).
    /// An answer that is not an event stream (an error, a proxy's HTML page, a server that does
    /// not stream) is read whole, at most `maximumResponseSize` bytes, and given to `whole`.
    /// - Parameters:
    ///   - inspect: reads what the provider needs from the response's head, for every answer.
    ///   - whole: the chapter from a status, what `inspect` read and a body that is no stream.
    /// - Throws: `ProviderError` from the answer or a stream past four times
    ///   `maximumResponseSize`; the HTTP client's errors, for the caller to classify.
    static func stream<Answer: StreamedAnswer, Head: Sendable>(
        _ http: HTTPClientRequest,
        httpClient: HTTPClient,
        timeout: Duration,
        stallTimeout: Duration,
        stallAfterFirstByte: Bool = false,
        makeAnswer: @escaping @Sendable () -> Answer,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void,
        inspect: @escaping @Sendable (HTTPClientResponse) -> Head,
        whole: @escaping @Sendable (_ status: Int, _ head: Head, _ body: [UInt8]) throws -> ChapterResponse
    ) async throws -> ChapterResponse {
        let activity = StreamActivity(waitsForFirstByte: stallAfterFirstByte)
        return try await withThrowingTaskGroup(of: ChapterResponse.self) { group in
            group.addTask {
                let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
                let response = try await httpClient.execute(http, deadline: deadline)
                activity.touch()
                let head = inspect(response)
                let status = Int(response.status.code)
                let contentType = response.headers.first(name: "content-type") ?? ""
                guard status == 200, contentType.lowercased().hasPrefix("text/event-stream") else {
                    var buffer = try await response.body.collect(upTo: maximumResponseSize)
                    return try whole(status, head, buffer.readBytes(length: buffer.readableBytes) ?? [])
                }
                var events = ServerSentEventParser()
                var answer = makeAnswer()
                for try await buffer in response.body {
                    activity.touch()
                    for event in events.feed(buffer.readableBytesView) {
                        if let update = try answer.progress(from: event) { onProgress(update) }
                    }
                    guard events.byteCount <= maximumResponseSize * 4 else {
                        throw ProviderError(
                            .retry,
                            "the stream grew past \(maximumResponseSize * 4) bytes; it was stopped",
                            httpStatus: 200
                        )
                    }
                }
                return try answer.finish(cut: events.isInsideEvent).get()
            }
            group.addTask {
                try await activity.watch(stallTimeout: stallTimeout, timeout: timeout)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

extension HTTPClient.Configuration {
    /// How every provider's HTTP client is set up (the daemon's and the benchmark's).
    public static var forProviders: Self {
        var configuration = Self()
        configuration.timeout.connect = .seconds(15)
        configuration.httpVersion = .automatic
        // One retry policy, the scheduler's: a refused or unresolvable connection is a failed
        // attempt at once, retried with its backoff, not 15 s of the client's own retries per
        // attempt.
        configuration.connectionPool.retryConnectionEstablishment = false
        // The scheduler decides how many requests are in flight (`--concurrency`, up to 256, and
        // a reload may raise it): the client's own default of 8 HTTP/1 connections per host
        // would cap it silently against a plain-HTTP server (Ollama, vLLM, the fake).
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        return configuration
    }
}
