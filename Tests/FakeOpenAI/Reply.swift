public import FakeServerKit

extension FakeOpenAIServer {
    /// What the fake does with one valid chat request: an outcome and its ``Delivery``.
    ///
    /// Build one with the static factories and refine it with the ``DeliveryAdjustable``
    /// modifiers: `.status(code: 503).after(.milliseconds(300))`,
    /// `.success().streamed(textEvents: 10, interval: .seconds(1))`, `.success().stalled(afterEvents: 2)`.
    public struct Reply: DeliveryAdjustable {
        /// The outcome on the wire.
        public enum Kind: Sendable {
            /// 200 with `text` (default: ``FakeOpenAIServer/defaultText(for:)``), `finish_reason`
            /// "stop", and `usage` (default: estimated, characters / 4). `reasoning`, when set, is
            /// sent as `reasoning_content` (vLLM's and DeepSeek's field; streamed during the
            /// thinking time) and counted as `completion_tokens_details.reasoning_tokens`.
            case success(text: String?, reasoning: String?, usage: Usage?)
            /// 200 ending with `finish_reason: "length"` after `text` (default: the first half of
            /// the default text): the output budget ran out.
            case length(text: String?)
            /// 200, `finish_reason: "stop"`, `content: ""`: the empty answer.
            case emptyContent
            /// 429 `rate_limit_exceeded` (`type` "requests" or "tokens") with `Retry-After` seconds
            /// and/or `retry-after-ms` when given.
            case rateLimited(retryAfterSeconds: Int?, retryAfterMilliseconds: Int?, limitType: String)
            /// 429 `insufficient_quota`: out of credit, no retry helps.
            case insufficientQuota
            /// An error in OpenAI's shape for `code` (500 `server_error`, 503 "The server is
            /// overloaded or not ready yet.", ...), with `message` if given.
            case status(code: Int, message: String?)
            /// Streaming: 200, the first chunks, then `data: {"error": {...}}` for `code` and the end
            /// of the body without `[DONE]`. Not streaming: the same as ``status(code:message:)``.
            case errorMidStream(code: Int)
            /// 200 whose JSON body is cut in the middle (Content-Length matches the cut body). A
            /// stream sends its role chunk, then half a chunk, then ends.
            case malformedJSON
            /// 200 with an HTML sign-in page instead of JSON or events.
            case htmlPage
            /// The connection is closed without a byte of reply.
            case connectionReset
            /// No reply at all until the client closes the connection (or the server shuts down).
            case hang
        }

        public var kind: Kind
        public var delivery: Delivery

        public init(_ kind: Kind, delivery: Delivery = Delivery()) {
            self.kind = kind
            self.delivery = delivery
        }

        /// See ``Kind/success(text:reasoning:usage:)``.
        public static func success(text: String? = nil, reasoning: String? = nil, usage: Usage? = nil) -> Reply {
            Reply(.success(text: text, reasoning: reasoning, usage: usage))
        }

        /// See ``Kind/length(text:)``.
        public static func length(text: String? = nil) -> Reply {
            Reply(.length(text: text))
        }

        /// See ``Kind/rateLimited(retryAfterSeconds:retryAfterMilliseconds:limitType:)``.
        public static func rateLimited(
            retryAfterSeconds: Int? = 1,
            retryAfterMilliseconds: Int? = nil,
            limitType: String = "requests"
        ) -> Reply {
            Reply(
                .rateLimited(
                    retryAfterSeconds: retryAfterSeconds,
                    retryAfterMilliseconds: retryAfterMilliseconds,
                    limitType: limitType
                )
            )
        }

        /// See ``Kind/status(code:message:)``.
        public static func status(code: Int, message: String? = nil) -> Reply {
            Reply(.status(code: code, message: message))
        }

        /// See ``Kind/errorMidStream(code:)``.
        public static func errorMidStream(code: Int) -> Reply {
            Reply(.errorMidStream(code: code))
        }

        public static var emptyContent: Reply { Reply(.emptyContent) }
        public static var insufficientQuota: Reply { Reply(.insufficientQuota) }
        public static var malformedJSON: Reply { Reply(.malformedJSON) }
        public static var htmlPage: Reply { Reply(.htmlPage) }
        public static var connectionReset: Reply { Reply(.connectionReset) }
        public static var hang: Reply { Reply(.hang) }
    }

    /// Token counts as `usage` reports them.
    public struct Usage: Sendable, Hashable {
        public var promptTokens: Int
        /// Output tokens, reasoning included, as OpenAI counts them.
        public var completionTokens: Int
        /// `completion_tokens_details.reasoning_tokens`.
        public var reasoningTokens: Int

        public var totalTokens: Int { promptTokens + completionTokens }

        public init(promptTokens: Int, completionTokens: Int, reasoningTokens: Int = 0) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.reasoningTokens = reasoningTokens
        }
    }
}
