extension FakeGeminiServer {
    /// One HTTP request as the server received it (the `/_fake/` endpoints are not recorded).
    public struct RecordedRequest: Sendable {
        /// When the request was complete (head and body), on the server's `ContinuousClock`.
        public var arrival: ContinuousClock.Instant
        public var method: String
        /// The path without the query ("/v1beta/models/gemini-2.5-flash:generateContent").
        public var path: String
        /// The query after "?", nil when there was none.
        public var query: String?
        /// The headers in the order received, names as the client wrote them.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Set once the body was valid: the model, prompt and attempt number it was decided with.
        public var model: String?
        public var prompt: String?
        public var attempt: Int?
        /// What became of the request.
        public var disposition: Disposition
        /// When the server finished waiting (latency, gate) and started its reply, or gave up on
        /// the request; nil while pending.
        public var completedAt: ContinuousClock.Instant?

        /// The first value of header `name`, compared case-insensitively.
        public func header(_ name: String) -> String? {
            let lowered = name.lowercased()
            return headers.first { $0.name.lowercased() == lowered }?.value
        }

        /// Whether the query holds a `key=` parameter: a client put its API key in the URL.
        public var hasKeyInURL: Bool {
            guard let query else { return false }
            return query.split(separator: "&").contains { $0 == "key" || $0.hasPrefix("key=") }
        }
    }

    /// What became of a recorded request.
    public enum Disposition: Sendable, Hashable {
        /// Waiting for its latency, its gate, or forever (``Reply/Kind/hang``).
        case pending
        /// A reply with this HTTP status was written (for a stream: its status line).
        case answered(status: Int)
        /// The connection was closed without a reply, as the reply asked.
        case reset
        /// The connection closed (client gave up, or the server shut down) before any reply.
        case abandoned
    }

    /// A consistent snapshot of what the server has seen.
    public struct Statistics: Sendable {
        /// Requests received, of any kind and outcome, except the `/_fake/` endpoints.
        public var requestCount = 0
        /// `GET .../models/{model}` requests (the client's key and model check, no tokens).
        public var modelCheckCount = 0
        /// Requests for chapters: every request but the model checks.
        public var chapterRequestCount: Int { requestCount - modelCheckCount }
        /// Valid `generateContent` requests by prompt text (what the reply decision saw).
        public var requestsByPrompt: [String: Int] = [:]
        /// Valid `generateContent` requests by model.
        public var requestsByModel: [String: Int] = [:]
        /// Requests received and not yet answered, reset or abandoned.
        public var inFlight = 0
        /// The most requests that were ever in flight at once.
        public var maxInFlight = 0
        /// 429 replies sent.
        public var rateLimitedCount = 0
        /// Requests that carried a `key=` query parameter.
        public var keyInURLCount = 0
        /// TCP connections open now.
        public var openConnections = 0
        /// Every recorded request, in arrival order.
        public var requests: [RecordedRequest] = []
    }
}
