import Foundation
public import Platform

/// Something that writes a chapter's text: Gemini (`GeminiProvider`) or an OpenAI-compatible
/// server (`OpenAIProvider`).
public protocol ChapterProvider: Sendable {
    /// Sends one request and classifies its outcome.
    /// - Parameter timeout: how long the whole request may take, answer included.
    /// - Throws: `ProviderError` for every failure, with its disposition decided once, here.
    ///   `CancellationError` only when the calling task is cancelled.
    /// - Parameter onProgress: told what arrives while the answer is being written.
    func generate(
        _ request: ChapterRequest,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse

    /// Checks, with a request that costs no tokens, that the API accepts the key and knows
    /// `model`. The scheduler calls it before its first submission.
    /// - Throws: `ProviderError` with disposition `.stopEverything` when the key, the permission
    ///   or the model is refused; any other `ProviderError` when the check itself could not be
    ///   made (then the chapters' own requests will tell).
    func verify(model: String, timeout: Duration) async throws

    /// How many requests the server says it serves at once (llama.cpp's `/props`), asked once
    /// before the first submission to a local server; nil when it does not say.
    func parallelism() async -> Int?
}

extension ChapterProvider {
    /// Providers that have no cheap check let the first chapter's request tell.
    public func verify(model: String, timeout: Duration) async throws {}

    /// How many requests the server says it serves at once; nil when it does not say.
    public func parallelism() async -> Int? { nil }
}

/// What a provider reports while an answer arrives.
public enum ChapterProgress: Sendable, Hashable {
    /// Chapter text arrived; the chapter holds this many words so far.
    case writing(words: Int)
    /// The model is thinking (a thought summary, or reasoning text, arrived).
    case thinking
    /// The answer's rate-limit headers say the API's quota has nothing left (no request, or no
    /// token, remains in its window) and refills in `resetsIn`, counted from now: no request
    /// should be submitted before then. Reported as soon as the headers arrive, before the
    /// answer, so the scheduler holds back submissions while a long answer streams, and before
    /// a 429 happens.
    case rateLimitReached(resetsIn: Duration)
}

/// One chapter's request, independent of any provider's wire format.
public struct ChapterRequest: Sendable, Hashable {
    /// The chapter's cache key: where its answer is stored.
    public var key: ChapterKey
    public var model: String
    public var systemInstruction: String
    public var prompt: String
    /// Sampling temperature; nil: not sent (Gemini 3 deprecates it).
    public var temperature: Double?
    /// Output budget in tokens, thinking included. The scheduler raises it on a retry after an
    /// answer that ran out of budget while thinking.
    public var maxOutputTokens: Int
    /// Thinking budget in tokens (Gemini 2.5); nil: not sent.
    public var thinkingBudget: Int?
    /// Thinking level (Gemini 3); nil: not sent, the model's own default.
    public var thinkingLevel: ThinkingLevel?
    /// Gemini's service tier; `.standard` is not sent. Not part of the cache key: the tier
    /// changes the price and the wait, not the answer.
    public var serviceTier: ServiceTier = .standard

    public init(
        key: ChapterKey,
        model: String,
        systemInstruction: String,
        prompt: String,
        temperature: Double?,
        maxOutputTokens: Int,
        thinkingBudget: Int?,
        thinkingLevel: ThinkingLevel? = nil
    ) {
        self.key = key
        self.model = model
        self.systemInstruction = systemInstruction
        self.prompt = prompt
        self.temperature = temperature
        self.maxOutputTokens = maxOutputTokens
        self.thinkingBudget = thinkingBudget
        self.thinkingLevel = thinkingLevel
    }

    /// Input tokens this request will be charged, estimated before sending (about four bytes of
    /// UTF-8 per token, rounded up, plus a little overhead per turn); corrected from the answer's
    /// usage afterwards.
    public var estimatedInputTokens: Int {
        (systemInstruction.utf8.count + prompt.utf8.count + 3) / 4 + 8
    }
}

/// A successful answer: non-empty text that the model finished on purpose.
public struct ChapterResponse: Sendable, Hashable {
    /// The chapter body, thought summaries excluded.
    public var text: String
    public var usage: Usage
    /// The model version that answered, when the provider says.
    public var modelVersion: String?
    /// Requests it took, retries included (set by the scheduler).
    public var attempts: Int
    /// What it is billed at: the tier the API says it ran at, else the one asked for; `.batch`
    /// for an answer of a Batch API job.
    public var tier: BillingTier

    public init(
        text: String,
        usage: Usage,
        modelVersion: String? = nil,
        attempts: Int = 1,
        tier: BillingTier = .standard
    ) {
        self.text = text
        self.usage = usage
        self.modelVersion = modelVersion
        self.attempts = attempts
        self.tier = tier
    }
}

/// Tokens a request consumed, as the provider reported them.
public struct Usage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var outputTokens: Int
    public var thinkingTokens: Int
    /// Prompt tokens the API served from its cache (Gemini's `cachedContentTokenCount`): part of
    /// `promptTokens`, billed at the cheaper cached-input price.
    public var cachedPromptTokens: Int
    /// Answers whose usage the server did not report (llama.cpp's Python server sends none in a
    /// stream, even when asked): their tokens are unknown, not zero.
    public var unreported: Int

    public init(
        promptTokens: Int = 0,
        outputTokens: Int = 0,
        thinkingTokens: Int = 0,
        cachedPromptTokens: Int = 0,
        unreported: Int = 0
    ) {
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.thinkingTokens = thinkingTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.unreported = unreported
    }

    /// The usage of an answer that reported none.
    public static let notReported = Usage(unreported: 1)

    /// "1200 in, 3400 out, 0 thinking", and the answers that reported none.
    public var summary: String {
        let counts = "\(promptTokens) in, \(outputTokens) out, \(thinkingTokens) thinking"
        guard unreported > 0 else { return counts }
        let answers = unreported == 1 ? "1 answer" : "\(unreported) answers"
        return promptTokens + outputTokens + thinkingTokens == 0
            ? "not reported by the server (\(answers))" : "\(counts), and \(answers) not reported by the server"
    }

    private enum CodingKeys: String, CodingKey {
        case promptTokens, outputTokens, thinkingTokens, cachedPromptTokens, unreported
    }

    /// Reads usage stored before cached tokens were counted (none then).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        promptTokens = try container.decode(Int.self, forKey: .promptTokens)
        outputTokens = try container.decode(Int.self, forKey: .outputTokens)
        thinkingTokens = try container.decode(Int.self, forKey: .thinkingTokens)
        cachedPromptTokens = try container.decodeIfPresent(Int.self, forKey: .cachedPromptTokens) ?? 0
        unreported = try container.decodeIfPresent(Int.self, forKey: .unreported) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(outputTokens, forKey: .outputTokens)
        try container.encode(thinkingTokens, forKey: .thinkingTokens)
        if cachedPromptTokens != 0 { try container.encode(cachedPromptTokens, forKey: .cachedPromptTokens) }
        if unreported != 0 { try container.encode(unreported, forKey: .unreported) }
    }

    public static func + (lhs: Self, rhs: Self) -> Self {
        Usage(
            promptTokens: lhs.promptTokens + rhs.promptTokens,
            outputTokens: lhs.outputTokens + rhs.outputTokens,
            thinkingTokens: lhs.thinkingTokens + rhs.thinkingTokens,
            cachedPromptTokens: lhs.cachedPromptTokens + rhs.cachedPromptTokens,
            unreported: lhs.unreported + rhs.unreported
        )
    }

    public static func += (lhs: inout Self, rhs: Self) { lhs = lhs + rhs }
}

/// A failed request, classified once by the provider so the scheduler acts on the class.
public struct ProviderError: CodedError, Hashable, Codable {
    public enum Disposition: String, Codable, ErrorCode {
        /// Transient: try again after a backoff (or after `retryDelay` when the API named one).
        case retry
        /// The answer ran out of output budget while thinking: try again with a larger budget.
        case retryWithLargerBudget
        /// Will not get better by trying again for this chapter (bad request, blocked content...).
        case fatal
        /// No request can succeed (the key refused, no permission, no such model): stop every
        /// submission until the configuration is fixed.
        case stopEverything
        /// The project's daily quota is used up: stop every submission until it resets.
        case dailyQuotaExhausted
        /// Not sent, or sent again, because coursegen is stopping: no failure of the chapter; the
        /// next run asks for it.
        case interrupted
    }

    /// This error, marked as an answer that stopped before its end.
    public func markedCutOff() -> ProviderError {
        var error = self
        error.cutOff = true
        return error
    }

    /// A chapter not sent because coursegen is stopping (`Scheduler.stopSending()`).
    public static let interrupted = ProviderError(
        .interrupted,
        "not sent: coursegen was stopping; the next run asks for it"
    )

    public var disposition: Disposition
    /// What went wrong, in the provider's own words where it gave any; never holds the API key.
    public var message: String
    /// The HTTP status, when there was a response.
    public var httpStatus: Int?
    /// How long the API asked us to wait (Gemini's `RetryInfo.retryDelay`; an HTTP `Retry-After`
    /// or `retry-after-ms`).
    public var retryDelay: Duration?
    /// Tokens used by a failed answer that still reported usage (they are billed).
    public var usage: Usage?
    /// A sign that the API is overloaded (503, 504, a timeout, a stalled stream): the scheduler
    /// lowers how many requests it keeps in flight.
    public var overloaded: Bool
    /// A flex-tier request the API shed under load (a 503, or a 429 that names no quota): the
    /// flex queue is full, the service is not down. Retried with the usual backoff; it neither
    /// pauses every submission nor opens the circuit breaker, and a stretch of them lowers the
    /// in-flight limit once. Not kept in the state folder.
    public var shed = false
    /// The answer stopped before its end (no finish reason, a stream cut mid-event, the
    /// connection closed): with a local server, a sign that a later request of ours took its
    /// place. Not kept in the state folder.
    public var cutOff = false
    /// Where the provider classified it; not kept in the state folder (an error read back from
    /// it has an empty origin).
    public var origin = SourceOrigin(fileID: "", line: 0)

    private enum CodingKeys: String, CodingKey {
        case disposition, message, httpStatus, retryDelay, usage, overloaded
    }

    public init(
        _ disposition: Disposition,
        _ message: String,
        httpStatus: Int? = nil,
        retryDelay: Duration? = nil,
        usage: Usage? = nil,
        overloaded: Bool = false,
        fileID: String = #fileID,
        line: Int = #line
    ) {
        self.disposition = disposition
        self.message = message
        self.httpStatus = httpStatus
        self.retryDelay = retryDelay
        self.usage = usage
        self.overloaded = overloaded
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    /// The classification the scheduler acts on.
    public var code: Disposition { disposition }

    /// Errors are equal when they say the same (where they were made is not part of it).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        (lhs.disposition, lhs.message, lhs.httpStatus, lhs.retryDelay, lhs.usage, lhs.overloaded)
            == (rhs.disposition, rhs.message, rhs.httpStatus, rhs.retryDelay, rhs.usage, rhs.overloaded)
            && lhs.shed == rhs.shed && lhs.cutOff == rhs.cutOff
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(disposition)
        hasher.combine(message)
        hasher.combine(httpStatus)
    }

    /// Whether trying again later may succeed (see `GenerationFailure.mayPassWithTime`).
    public var mayPassWithTime: Bool {
        switch disposition {
        case .retry, .retryWithLargerBudget, .dailyQuotaExhausted, .interrupted: true
        case .fatal, .stopEverything: false
        }
    }

    /// True for a 429: the whole project is over a per-minute quota, so every submission pauses
    /// (not for a flex request shed with a 429).
    public var isRateLimit: Bool { httpStatus == 429 && disposition == .retry && !shed }

    public var description: String {
        if let httpStatus { "HTTP \(httpStatus): \(message)" } else { message }
    }
}

/// The API key. Its description is redacted so it cannot reach a log line or an error message by
/// accident; the only way to read it is `withValue`, used where the request header is set.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    /// - Returns: nil for an empty or all-whitespace key.
    public init?(_ value: String) {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        self.value = trimmed
    }

    public func withValue<T>(_ body: (String) throws -> T) rethrows -> T { try body(value) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

extension ProviderError {
    /// Whether this failure says the service is down or overloaded rather than anything about
    /// the chapter: a retryable 5xx (500, 502, 503, 504), a 408, a sign of overload (a timeout, a
    /// stalled stream) or no HTTP answer at all (a connection refused, reset or closed). Failures
    /// inside an answer carry its status (200) and do not count. The scheduler's circuit breaker
    /// opens on a run of them across chapters (`CircuitBreaker`).
    /// Whether no connection to the server could be made at all (a name that does not resolve,
    /// a refused or timed-out connection): the transport's words for it (`ProviderTransport`).
    package var isUnreachable: Bool {
        httpStatus == nil && ProviderTransport.unreachableOpenings.contains { message.hasPrefix($0) }
    }

    package var showsServiceUnavailable: Bool {
        guard disposition == .retry, !isRateLimit, !shed else { return false }
        if overloaded { return true }
        guard let httpStatus else { return true }
        return httpStatus == 408 || (500...599).contains(httpStatus)
    }
}
