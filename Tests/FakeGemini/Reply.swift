public import FakeServerKit

extension FakeGeminiServer {
    /// What the fake does with one valid `generateContent` request: an outcome, a latency and,
    /// optionally, a gate that holds the reply back until a test opens it.
    ///
    /// Build one with the static factories and refine it with the ``DeliveryAdjustable``
    /// modifiers: `.status(code: 503).after(.milliseconds(300))`,
    /// `.success().streamed(textEvents: 10, thinking: .seconds(5), interval: .seconds(2))`,
    /// `.success().stalled(afterEvents: 2)`, `.success().cut(afterEvents: 1)`,
    /// `.success().truncated(afterEvents: 2)`, `.success().trickled(every: .milliseconds(5))`.
    public struct Reply: DeliveryAdjustable {
        /// The outcome on the wire.
        public enum Kind: Sendable {
            /// 200 with the text (default: ``FakeGeminiServer/defaultText(for:)``), an optional
            /// thought part before it, and `finishReason` STOP.
            case success(text: String?, thought: String?, usage: Usage?)
            /// 429 RESOURCE_EXHAUSTED with QuotaFailure and Help details, and RetryInfo when
            /// `retryDelay` is not nil.
            case rateLimited(retryDelay: String?, quotaId: String)
            /// An error with Google's status name and message for `code`, or `message` if given.
            case status(code: Int, message: String?)
            /// 200, `finishReason` STOP, `content` holding only the role: the intermittent empty answer.
            case emptyParts
            /// 200, `finishReason` MAX_TOKENS and no parts: thinking ate the whole output budget,
            /// reported as `thoughtsTokenCount` = the request's `maxOutputTokens` (65536 if unset).
            case maxTokensWithoutParts
            /// 200 with `promptFeedback.blockReason` and no candidates.
            case blockedPrompt(reason: String)
            /// 200 ending with `reason` after `text` (default: the first half of the default text;
            /// an empty string sends no parts).
            case finish(reason: String, text: String?)
            /// 200 whose JSON body is cut in the middle (Content-Length matches the cut body).
            /// A stream sends one good event, then half an event, then ends.
            case malformedJSON
            /// The connection is closed without a byte of reply.
            case connectionReset
            /// No reply at all until the client closes the connection (or the server shuts down).
            case hang
            /// Streaming: 200, one event of text, then `data: {"error": {...}}` for `code`.
            /// Not streaming: the same as ``status(code:message:)``.
            case errorMidStream(code: Int)
            /// 200 with an HTML page (a proxy's or captive portal's sign-in page) instead of JSON
            /// or events, streaming or not.
            case htmlPage
        }

        /// The outcome on the wire.
        public var kind: Kind
        /// When and how it travels: latency, gate, stream pacing, wire faults.
        public var delivery: Delivery

        /// How long the server waits before the status line (after the gate opens, if there is one).
        public var latency: Duration {
            get { delivery.latency }
            set { delivery.latency = newValue }
        }

        /// When set, the reply waits until this gate is open, then for `latency`.
        public var gate: Gate? {
            get { delivery.gate }
            set { delivery.gate = newValue }
        }

        public init(_ kind: Kind, latency: Duration = .zero, gate: Gate? = nil) {
            self.kind = kind
            self.delivery = Delivery(latency: latency, gate: gate)
        }

        /// 200 with `text` (default: the deterministic text that quotes the prompt), an optional
        /// `"thought": true` part before it (sent by default only when the request asks for
        /// `includeThoughts`), and `usage` (default: estimated from the text, characters / 4).
        public static func success(text: String? = nil, thought: String? = nil, usage: Usage? = nil) -> Reply {
            Reply(.success(text: text, thought: thought, usage: usage))
        }

        /// 429 RESOURCE_EXHAUSTED whose RetryInfo says `retryDelay` ("15s", "11.769242877s"; nil
        /// sends no RetryInfo) and whose QuotaFailure names `quotaId`; an id containing "PerDay" is
        /// the daily quota.
        public static func rateLimited(
            retryDelay: String? = "15s",
            quotaId: String = "GenerateRequestsPerMinutePerProjectPerModel"
        ) -> Reply {
            Reply(.rateLimited(retryDelay: retryDelay, quotaId: quotaId))
        }

        /// An HTTP error with Google's status name and usual message for `code`: 400
        /// INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429
        /// RESOURCE_EXHAUSTED (no details), 500 INTERNAL, 503 UNAVAILABLE ("The model is
        /// overloaded. Please try again later."), 504 DEADLINE_EXCEEDED. 502 is the HTML page
        /// Google's front end serves, not JSON.
        public static func status(code: Int, message: String? = nil) -> Reply {
            Reply(.status(code: code, message: message))
        }

        /// See ``Kind/emptyParts``.
        public static var emptyParts: Reply { Reply(.emptyParts) }
        /// See ``Kind/maxTokensWithoutParts``.
        public static var maxTokensWithoutParts: Reply { Reply(.maxTokensWithoutParts) }
        /// See ``Kind/malformedJSON``.
        public static var malformedJSON: Reply { Reply(.malformedJSON) }
        /// See ``Kind/connectionReset``.
        public static var connectionReset: Reply { Reply(.connectionReset) }
        /// See ``Kind/hang``.
        public static var hang: Reply { Reply(.hang) }

        /// See ``Kind/blockedPrompt(reason:)``.
        public static func blockedPrompt(reason: String = "SAFETY") -> Reply {
            Reply(.blockedPrompt(reason: reason))
        }

        /// See ``Kind/finish(reason:text:)``.
        public static func finish(reason: String, text: String? = nil) -> Reply {
            Reply(.finish(reason: reason, text: text))
        }

        /// See ``Kind/errorMidStream(code:)``.
        public static func errorMidStream(code: Int) -> Reply {
            Reply(.errorMidStream(code: code))
        }

        /// See ``Kind/htmlPage``.
        public static var htmlPage: Reply { Reply(.htmlPage) }
    }

    /// Token counts as `usageMetadata` reports them.
    public struct Usage: Sendable, Hashable {
        public var promptTokenCount: Int
        public var candidatesTokenCount: Int
        /// Omitted from the reply when nil, as the API does when the model did not think.
        public var thoughtsTokenCount: Int?

        /// The sum of the three counts, as the API reports it.
        public var totalTokenCount: Int {
            promptTokenCount + candidatesTokenCount + (thoughtsTokenCount ?? 0)
        }

        public init(promptTokenCount: Int, candidatesTokenCount: Int, thoughtsTokenCount: Int? = nil) {
            self.promptTokenCount = promptTokenCount
            self.candidatesTokenCount = candidatesTokenCount
            self.thoughtsTokenCount = thoughtsTokenCount
        }
    }
}
