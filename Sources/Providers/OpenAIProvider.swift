public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Platform

/// An OpenAI-compatible chat completions API over AsyncHTTPClient: OpenAI itself, or a server on
/// this machine (Ollama, llama.cpp's server, vLLM, LM Studio). `POST {base}/chat/completions`
/// with the system instruction and the prompt as `system` and `user` messages, streamed by
/// default (`stream: true`, usage asked for in the last chunk) with the same stall watch as
/// Gemini, or whole when streaming is off.
///
/// The output budget goes as `max_completion_tokens`; a server that refuses that name with a 400
/// naming it is asked again at once with `max_tokens`, and this provider remembers that, so its
/// later requests use `max_tokens` straight away.
///
/// Every answer's rate-limit headers (`x-ratelimit-remaining-*`, `x-ratelimit-reset-*`) are read
/// as soon as they arrive; when a limit has nothing left, the provider reports
/// `ChapterProgress.rateLimitReached` so the scheduler holds back every submission until it
/// refills, before a 429 happens.
///
/// The key, when there is one, travels only in the `Authorization: Bearer` header: never in the
/// URL, never in an error. A server on a loopback address may be used without a key.
public struct OpenAIProvider: ChapterProvider {
    /// How answers are streamed: the stall watch shared with the other providers.
    public typealias Streaming = StreamingSettings

    /// OpenAI's own API, the base URL when none is given.
    public static let defaultBaseURL = "https://api.openai.com/v1"

    private let endpointBase: String
    private let apiKey: APIKey?
    private let httpClient: HTTPClient
    private let streaming: Streaming?
    private let budgetName = OutputBudgetMemory()

    /// - Parameters:
    ///   - baseURL: e.g. "https://api.openai.com/v1" or "http://127.0.0.1:11434/v1" (Ollama);
    ///     `/chat/completions` and `/models/{model}` are appended. Plain http is accepted only for
    ///     loopback hosts, so a key never crosses a network in clear.
    ///   - apiKey: nil only for a server on a loopback address.
    ///   - streaming: nil waits for each whole answer.
    /// - Throws: `ProviderError` (.fatal) for a base URL that is not usable, or no key for a
    ///   server that is not on this machine.
    public init(baseURL: String, apiKey: APIKey?, httpClient: HTTPClient, streaming: Streaming? = Streaming()) throws {
        let (base, isLoopback) = try ProviderTransport.validatedBase(baseURL, example: Self.defaultBaseURL)
        guard apiKey != nil || isLoopback else {
            throw ProviderError(
                .fatal,
                "no API key for \(baseURL): only a server on this machine (127.0.0.1, localhost, ::1) may be used without one"
            )
        }
        self.endpointBase = base
        self.apiKey = apiKey
        self.httpClient = httpClient
        self.streaming = streaming
    }

    /// Whether a server at `baseURL` must be given a key: every one but those on a loopback
    /// address (a local Ollama or llama.cpp server needs none). False for a URL that is not
    /// usable at all (the provider's own check then says why).
    public static func needsKey(baseURL: String) -> Bool {
        (try? ProviderTransport.validatedBase(baseURL, example: defaultBaseURL).isLoopback) == false
    }

    /// Whether `baseURL` is a model server of one's own (this machine, a private network): the
    /// scheduler then finds how many requests it serves at once (`Scheduler.Configuration.localServer`).
    public static func isLocalServer(baseURL: String) -> Bool {
        ProviderTransport.isLocalServer(baseURL: baseURL)
    }

    public func generate(
        _ request: ChapterRequest,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        guard Self.isValidModelName(request.model) else { throw Self.invalidModelName(request.model) }
        let budget = budgetName.current
        do {
            return try await send(request, budget: budget, timeout: timeout, onProgress: onProgress)
        } catch is MaxCompletionTokensRefused {
            // Asked again at once: the refusal cost no tokens and said what the server wants.
            budgetName.useMaxTokens()
            return try await send(request, budget: .maxTokens, timeout: timeout, onProgress: onProgress)
        }
    }

    /// One request with the output budget under `budget`'s name.
    /// - Throws: `MaxCompletionTokensRefused` when the server refused that name; else as `generate`.
    private func send(
        _ request: ChapterRequest,
        budget: OpenAIWire.OutputBudget,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        var http = HTTPClientRequest(url: "\(endpointBase)/chat/completions")
        http.method = .POST
        addHeaders(to: &http)
        http.headers.add(name: "content-type", value: "application/json")
        let body = try JSONEncoder().encode(OpenAIWire.Request(request, budget: budget, stream: streaming != nil))
        http.body = .bytes(ByteBuffer(bytes: body))
        do {
            if let streaming {
                return try await stream(
                    http,
                    budget: budget,
                    timeout: timeout,
                    stallTimeout: streaming.stallTimeout,
                    onProgress: onProgress
                )
            }
            let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
            let response = try await httpClient.execute(http, deadline: deadline)
            let limits = Self.readLimits(response, onProgress: onProgress)
            var buffer = try await response.body.collect(upTo: ProviderTransport.maximumResponseSize)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            return try Self.classify(status: Int(response.status.code), limits: limits, body: bytes, budget: budget)
                .get()
        } catch let error as ProviderError {
            throw error
        } catch let refused as MaxCompletionTokensRefused {
            throw refused
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try Task.checkCancellation()
            throw ProviderTransport.transportError(error, timeout: timeout)
        }
    }

    /// Reads a streamed answer while a second task watches for silence.
    private func stream(
        _ http: HTTPClientRequest,
        budget: OpenAIWire.OutputBudget,
        timeout: Duration,
        stallTimeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        try await ProviderTransport.stream(
            http,
            httpClient: httpClient,
            timeout: timeout,
            stallTimeout: stallTimeout,
            makeAnswer: { OpenAIStream() },
            onProgress: onProgress,
            inspect: { response in Self.readLimits(response, onProgress: onProgress) },
            // An error, or a 200 that is no event stream: a whole answer from a server that does
            // not stream, or an HTML page from a proxy.
            whole: { status, limits, body in
                try Self.classify(status: status, limits: limits, body: body, budget: budget).get()
            }
        )
    }
    /// Checks the key and the model with `GET {base}/models/{model}`, which costs no tokens
    /// (OpenAI and Ollama serve it). A server without that route (llama.cpp's) answers 404
    /// without `model_not_found`, which is no verdict: the first chapter's request tells.
    public func verify(model: String, timeout: Duration) async throws {
        guard Self.isValidModelName(model) else { throw Self.invalidModelName(model) }
        // One path segment: a '/' in the name (vLLM's "org/model") is escaped.
        let segment = model.replacing("/", with: "%2F")
        var http = HTTPClientRequest(url: "\(endpointBase)/models/\(segment)")
        http.method = .GET
        addHeaders(to: &http)
        let (status, bytes) = try await ProviderTransport.fetch(
            http,
            with: httpClient,
            timeout: min(timeout, .seconds(30)),
            limit: 1 << 20
        )
        if let error = OpenAIWire.classifyModelCheck(status: status, body: bytes) { throw error }
    }

    /// How many requests the server says it serves at once: llama.cpp's `llama-server` answers
    /// `GET /props` (beside `/v1`) with `total_slots`, its `--parallel`. Nil when it does not
    /// say: another server, an error, no answer within 5 seconds, a number out of 1...1024.
    public func parallelism() async -> Int? {
        struct Properties: Decodable {
            var totalSlots: Int?
            enum CodingKeys: String, CodingKey { case totalSlots = "total_slots" }
        }
        let root = endpointBase.hasSuffix("/v1") ? String(endpointBase.dropLast(3)) : endpointBase
        var http = HTTPClientRequest(url: "\(root)/props")
        http.method = .GET
        addHeaders(to: &http)
        guard let (status, bytes) = try? await ProviderTransport.fetch(http, with: httpClient, timeout: .seconds(5), limit: 1 << 20),
            status == 200, let slots = (try? JSONDecoder().decode(Properties.self, from: Data(bytes)))?.totalSlots,
            (1...1024).contains(slots)
        else { return nil }
        return slots
    }

    private func addHeaders(to http: inout HTTPClientRequest) {
        apiKey?.withValue { http.headers.add(name: "authorization", value: "Bearer \($0)") }
        http.headers.add(name: "user-agent", value: "coursegen")
    }

    /// The answer's rate-limit headers; reports a used-up limit at once.
    private static func readLimits(
        _ response: HTTPClientResponse,
        onProgress: @Sendable (ChapterProgress) -> Void
    ) -> RateLimitHeaders {
        let limits = RateLimitHeaders(Array(response.headers), now: Date())
        if let pause = limits.quotaPause { onProgress(.rateLimitReached(resetsIn: pause)) }
        return limits
    }

    /// `OpenAIWire.classify`, after checking whether the server refused `max_completion_tokens`.
    private static func classify(
        status: Int,
        limits: RateLimitHeaders,
        body: [UInt8],
        budget: OpenAIWire.OutputBudget
    ) throws -> Result<ChapterResponse, ProviderError> {
        if budget == .maxCompletionTokens, OpenAIWire.rejectsMaxCompletionTokens(status: status, body: body) {
            throw MaxCompletionTokensRefused()
        }
        return OpenAIWire.classify(status: status, limits: limits, body: body)
    }

    /// Model names as OpenAI, Ollama, llama.cpp and vLLM write them: ASCII letters, digits, '.',
    /// '-', '_', ':' and '/' ("gpt-4o-mini", "llama3.1:8b", "qwen2.5:14b-instruct-q4_K_M",
    /// "ft:gpt-4o-mini:org::id", "meta-llama/Llama-3.1-8B-Instruct"), at most 200 bytes; never
    /// an empty, "." or ".." segment between slashes, so a name cannot walk the URL path.
    public static func isValidModelName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200,
            name.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:/".unicodeScalars.contains($0))
            })
        else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    private static func invalidModelName(_ name: String) -> ProviderError {
        ProviderError(
            .stopEverything,
            "model name '\(name)' may hold only letters, digits, '.', '-', '_', ':' and '/' (no empty, '.' or '..' part)"
        )
    }
}

/// The server refused `max_completion_tokens` (a 400 naming it): ask again with `max_tokens`.
private struct MaxCompletionTokensRefused: Error {}
