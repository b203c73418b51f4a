public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Platform

/// Google's Gemini API, over AsyncHTTPClient: `streamGenerateContent?alt=sse` by default, with a
/// stall detector, or `generateContent` when streaming is off.
///
/// Streaming shows what is being written as it is written, and lets a hung request be noticed
/// after `stallTimeout` of silence instead of after the whole request timeout. With thinking on,
/// the model may send nothing until it has finished thinking: the request then asks for thought
/// summaries (`thinkingConfig.includeThoughts`), which the model streams while it thinks; they
/// count as signs of life, never as chapter text.
///
/// The key travels only in the `x-goog-api-key` header: never in the URL, never in an error.
public struct GeminiProvider: ChapterProvider {
    /// How answers are streamed: the stall watch shared with the other providers.
    public typealias Streaming = StreamingSettings

    let endpointBase: String
    private let apiKey: APIKey
    let httpClient: HTTPClient
    private let streaming: Streaming?

    /// - Parameters:
    ///   - baseURL: e.g. "https://generativelanguage.googleapis.com"; `/v1beta/models/...` is
    ///     appended. Plain http is accepted only for loopback hosts (tests), so the key never
    ///     crosses a network in clear.
    ///   - streaming: nil calls `generateContent` and waits for the whole answer.
    /// - Throws: `ProviderError` (.fatal) for a base URL that is not usable.
    public init(baseURL: String, apiKey: APIKey, httpClient: HTTPClient, streaming: Streaming? = Streaming()) throws {
        self.endpointBase = try ProviderTransport.validatedBase(
            baseURL,
            example: "https://generativelanguage.googleapis.com"
        ).base
        self.apiKey = apiKey
        self.httpClient = httpClient
        self.streaming = streaming
    }

    public func generate(
        _ request: ChapterRequest,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        guard Self.isValidModelName(request.model) else { throw Self.invalidModelName(request.model) }
        let method = streaming == nil ? "generateContent" : "streamGenerateContent?alt=sse"
        var http = HTTPClientRequest(url: "\(endpointBase)/v1beta/models/\(request.model):\(method)")
        http.method = .POST
        addHeaders(to: &http)
        http.headers.add(name: "content-type", value: "application/json")
        let body = try JSONEncoder().encode(GeminiWire.Request(request, includeThoughts: streaming != nil))
        http.body = .bytes(ByteBuffer(bytes: body))
        do {
            if let streaming {
                return try await stream(
                    http,
                    tier: request.serviceTier,
                    timeout: timeout,
                    stallTimeout: streaming.stallTimeout,
                    onProgress: onProgress
                )
            }
            let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
            let response = try await httpClient.execute(http, deadline: deadline)
            var buffer = try await response.body.collect(upTo: ProviderTransport.maximumResponseSize)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let answer = try GeminiWire.classify(
                status: Int(response.status.code),
                body: bytes,
                asked: request.serviceTier
            ).get()
            // The same bound as a streamed answer's: a body under maximumResponseSize can still
            // hold more text than a chapter ever should.
            guard answer.text.utf8.count <= ProviderTransport.maximumTextSize else {
                throw ProviderError(
                    .retry,
                    "the answer holds more than \(ProviderTransport.maximumTextSize) bytes of text, far beyond a chapter; it was dropped"
                )
            }
            return answer
        } catch let error as ProviderError {
            throw await namingUsableModels(error)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try Task.checkCancellation()
            throw ProviderTransport.transportError(error, timeout: timeout)
        }
    }

    /// Reads a streamed answer while a second task watches for silence. A flex request may wait
    /// in Google's queue for minutes before its first byte: its silence counts from that byte.
    private func stream(
        _ http: HTTPClientRequest,
        tier: ServiceTier,
        timeout: Duration,
        stallTimeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        try await ProviderTransport.stream(
            http,
            httpClient: httpClient,
            timeout: timeout,
            stallTimeout: stallTimeout,
            stallAfterFirstByte: tier == .flex,
            makeAnswer: { GeminiStream(maximumTextSize: ProviderTransport.maximumTextSize, asked: tier) },
            onProgress: onProgress,
            inspect: { _ in () },
            // An error, or a 200 that is no event stream (an HTML page from a proxy).
            whole: { status, _, body in try GeminiWire.classify(status: status, body: body, asked: tier).get() }
        )
    }
    public func verify(model: String, timeout: Duration) async throws {
        guard Self.isValidModelName(model) else { throw Self.invalidModelName(model) }
        let (status, bytes) = try await get("models/\(model)", limit: 1 << 20, timeout: min(timeout, .seconds(30)))
        if let error = GeminiWire.classifyModelCheck(status: status, body: bytes) {
            guard GeminiWire.isUnknownModel(status: status, body: bytes) else { throw error }
            throw await namingUsableModels(error)
        }
    }

    /// The models the key can use for `generateContent`, in the API's order: every page of
    /// `GET /v1beta/models?pageSize=…&pageToken=…`, following `nextPageToken` until there is none.
    /// - Parameters:
    ///   - pageSize: models per page asked for (the API caps it).
    ///   - timeout: how long each page may take.
    /// - Throws: `ProviderError` as for a chapter (a refused key is `.stopEverything`).
    public func usableModels(pageSize: Int = 100, timeout: Duration = .seconds(30)) async throws -> [GeminiModel] {
        var models: [GeminiModel] = []
        try await walkPages("models", pageSize: pageSize, limit: 4 << 20, timeout: timeout) { status, bytes in
            let page = try GeminiWire.classifyModelPage(status: status, body: bytes).get()
            models += page.models.filter(\.generatesContent)
            return page.next
        }
        return models
    }

    /// GETs `/v1beta/{collection}?pageSize=…&pageToken=…` page by page, handing each page's status
    /// and body (at most `limit` bytes, within `timeout`) to `take`, which returns the next page's
    /// token: nil ends the walk, as does `maximumPages` pages.
    /// - Throws: what `take` or the transport throws.
    func walkPages(
        _ collection: String,
        pageSize: Int,
        limit: Int,
        timeout: Duration,
        take: (_ status: Int, _ body: [UInt8]) throws -> String?
    ) async throws {
        var token: String?
        var pages = 0
        repeat {
            var query = "pageSize=\(pageSize)"
            if let token { query += "&pageToken=\(Self.queryEscaped(token))" }
            let (status, bytes) = try await get("\(collection)?\(query)", limit: limit, timeout: timeout)
            token = try take(status, bytes)
            pages += 1
            // A server that hands back a token forever must not keep coursegen asking.
        } while token != nil && pages < Self.maximumPages
    }

    /// `GET /v1beta/{path}` with the key header: the status and the whole body, at most `limit`
    /// bytes, within `timeout` (`ProviderTransport.fetch`).
    func get(_ path: String, limit: Int, timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        var http = HTTPClientRequest(url: "\(endpointBase)/v1beta/\(path)")
        http.method = .GET
        addHeaders(to: &http)
        return try await ProviderTransport.fetch(http, with: httpClient, timeout: timeout, limit: limit)
    }

    /// The most pages `walkPages` reads.
    static let maximumPages = 50

    /// `error` (the API saying the model is not found) with the models the key can use, so the
    /// message says what to choose instead; or with why they could not be listed.
    func namingUsableModels(_ error: ProviderError) async -> ProviderError {
        guard error.disposition == .stopEverything, error.httpStatus == 404, error.message.contains("models/")
        else { return error }
        var named = error
        do {
            let names = try await usableModels().map(\.name)
            named.message +=
                names.isEmpty
                ? "; the key can use no model for generateContent"
                : "; models this key can use: \(names.joined(separator: ", ")) (see coursegen models)"
        } catch is CancellationError {
            return error
        } catch {
            named.message += "; the models this key can use could not be listed (\(error))"
        }
        return named
    }

    /// A page token as a query value: letters, digits and `-._~` as they are, the rest %-escaped.
    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The key (its only way out of this process) and who is asking.
    func addHeaders(to http: inout HTTPClientRequest) {
        apiKey.withValue { http.headers.add(name: "x-goog-api-key", value: $0) }
        http.headers.add(name: "user-agent", value: "coursegen")
    }

    private static func invalidModelName(_ name: String) -> ProviderError {
        ProviderError(.stopEverything, "model name '\(name)' may hold only letters, digits, '.', '-' and '_'")
    }

    /// Model names go into the URL path: letters, digits, '.', '-' and '_' only.
    public static func isValidModelName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0))
            }
    }
}
