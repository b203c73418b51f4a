/// One HTTP request as a fake server received it (the `/_fake/` endpoints are not recorded).
public struct RecordedRequest: Sendable {
    /// When the request was complete (head and body), on the server's `ContinuousClock`.
    public var arrival: ContinuousClock.Instant
    public var method: String
    /// The path without the query ("/v1beta/models/gemini-2.5-flash-lite:generateContent").
    public var path: String
    /// The query after "?", nil when there was none.
    public var query: String?
    /// The headers in the order received, names as the client wrote them.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Set once the request was valid: its model and prompt.
    public var model: String?
    public var prompt: String?
    /// The request's attempt number (1-based, per prompt) among those that reached the model:
    /// nil for invalid requests and for those the quota turned away.
    public var attempt: Int?
    /// Why the server turned a valid request away before its reply was decided, if it did.
    public var rejection: Rejection?
    /// What became of the request.
    public var disposition: Disposition
    /// When the server finished waiting (latency, gate) and started its reply, or gave up on
    /// the request; nil while pending.
    public var completedAt: ContinuousClock.Instant?
    /// Complete events (server-sent events or JSON-array elements) written so far; a whole body
    /// counts as one once written.
    public var eventsWritten: Int
    /// Body bytes written so far.
    public var bytesWritten: Int

    package init(
        arrival: ContinuousClock.Instant,
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) {
        self.arrival = arrival
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.disposition = .pending
        self.eventsWritten = 0
        self.bytesWritten = 0
    }

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

/// Why a valid request was answered by the server's own policies rather than by the reply
/// decision.
public enum Rejection: Sendable, Hashable {
    /// The per-window request quota was used up: 429.
    case requestQuota
    /// The per-window token quota was used up: 429.
    case tokenQuota
    /// The per-day request quota was used up: 429.
    case dailyQuota
    /// An overload storm answered 503.
    case storm
}

/// What became of a recorded request.
public enum Disposition: Sendable, Hashable {
    /// Nothing written yet: waiting for its latency, its gate, or forever (a hang).
    case pending
    /// The status line and part of the body are written; the rest is still to come, or never
    /// will (a stall).
    case streaming(status: Int)
    /// A complete reply with this HTTP status was written (for a stream: its last event and end).
    case answered(status: Int)
    /// A reply with this status started but its body never ended: the server cut it, or the
    /// client (or a shutdown) closed the connection in the middle.
    case interrupted(status: Int)
    /// The connection was closed without a reply, as the reply asked.
    case reset
    /// The connection closed (client gave up, or the server shut down) before any reply.
    case abandoned

    /// The status line written, if any.
    public var status: Int? {
        switch self {
        case .streaming(let status), .answered(let status), .interrupted(let status): status
        case .pending, .reset, .abandoned: nil
        }
    }
}

/// A consistent snapshot of what a fake server has seen.
public struct FakeServerStatistics: Sendable {
    /// Requests received, of any kind and outcome, except the `/_fake/` endpoints.
    public var requestCount = 0
    /// Model checks (`GET .../models/{model}`, and `GET /props` of a local server): a client's
    /// look at its key, model or server, no tokens.
    public var modelCheckCount = 0
    /// Requests for chapters: every request but the model checks.
    public var chapterRequestCount: Int { requestCount - modelCheckCount }
    /// Valid requests by prompt text, whatever their answer.
    public var requestsByPrompt: [String: Int] = [:]
    /// Valid requests by model.
    public var requestsByModel: [String: Int] = [:]
    /// Requests whose reply has not ended: waiting, or still streaming.
    public var inFlight = 0
    /// The most requests that were ever in flight at once.
    public var maxInFlight = 0
    /// 429 replies sent, for any reason (the quota, or the reply decision).
    public var rateLimitedCount = 0
    /// Status lines written, by status.
    public var statusCounts: [Int: Int] = [:]
    /// Requests that carried a `key=` query parameter.
    public var keyInURLCount = 0
    /// TCP connections open now.
    public var openConnections = 0
    /// Connections accepted while the server was unresponsive: never read, never answered.
    public var unresponsiveConnections = 0
    /// 429s sent by the server's quota (per window, tokens or per day), by rejection.
    public var quotaRejections: [Rejection: Int] = [:]
    /// The most requests the request quota admitted within any one window: at most its limit,
    /// which a benchmark can assert to prove the quota held.
    public var maxAdmittedPerWindow = 0
    /// 503s sent by an overload storm.
    public var stormRejectedCount = 0
    /// Replies whose body the server cut or the client abandoned mid-way.
    public var interruptedCount = 0
    /// Every recorded request, in arrival order.
    public var requests: [RecordedRequest] = []

    public init() {}

    /// 429s sent by the quota, all rules together.
    public var quotaRejectedCount: Int {
        quotaRejections.values.reduce(0, +)
    }
}
