package import NIOHTTP1

/// A request as it came off the wire, before an API fake looks at it.
package struct IncomingRequest: Sendable {
    package var head: HTTPRequestHead
    /// The percent-decoded path, without the query.
    package var path: String
    package var query: String?
    package var body: [UInt8]
    /// The body was larger than the server reads; `body` is empty.
    package var bodyTooLarge: Bool

    /// The query's parameters, percent-decoded; the first value wins.
    package var queryParameters: [String: String] {
        ConnectionHandlerHelpers.queryParameters(query)
    }
}

/// What a valid request is, for the server's bookkeeping and policies.
package struct RequestIdentity: Sendable {
    package var model: String
    package var prompt: String
    /// What the request counts against a token quota.
    package var tokens: Int

    package init(model: String, prompt: String, tokens: Int) {
        self.model = model
        self.prompt = prompt
        self.tokens = tokens
    }
}

/// What an API fake decided to do with a request that reached the model.
package enum APIAnswer: Sendable {
    /// Write `plan` as `delivery` says.
    case respond(WirePlan, Delivery)
    /// Close the connection without a byte, after the delivery's gate and latency.
    case reset(Delivery)
    /// Nothing at all, until the connection closes.
    case hang
}

/// One API's wire format plugged into the shared server: how requests are checked, and how
/// replies, quota rejections and overload answers look.
package protocol FakeAPI: Sendable {
    associatedtype Decided: Sendable

    /// "gemini" or "openai", for the statistics endpoint.
    var name: String { get }
    /// Headers every response carries (server name, vary, ...).
    var commonHeaders: [(name: String, value: String)] { get }
    /// How stream events are cut into writes.
    var split: SplitPolicy { get }

    /// Checks the route, the key and the body as the real API does, in its order.
    /// - Returns: The valid request, or the error reply to send at once.
    func check(_ request: IncomingRequest) -> Result<Decided, WirePlanError>
    func identity(of request: Decided) -> RequestIdentity
    /// The 429 for a request the quota turned away.
    func quotaExceeded(_ rejection: QuotaRejection, request: Decided) -> WirePlan
    /// The 503 a storm answers.
    func overloaded(_ request: Decided) -> WirePlan
    /// The reply to attempt `attempt` of a request that reached the model.
    func answer(_ request: Decided, attempt: Int, replyNumber: UInt64) -> APIAnswer
    /// Headers reporting the quota on every reply to a valid request (OpenAI's `x-ratelimit-*`).
    func quotaHeaders(_ limits: QuotaSnapshot) -> [(name: String, value: String)]
    /// The reply to a path that is no API method (and to unknown `/_fake/` paths).
    func notFound(_ request: IncomingRequest) -> WirePlan
    /// The answer to a model lookup (Gemini's `GET .../models/{model}`, OpenAI's
    /// `GET /v1/models/{model}`): a client's check of its key and model that costs no tokens.
    /// Nil when `request` is not one.
    func modelCheck(_ request: IncomingRequest) -> WirePlan?
    /// The answer to another method of the API that is neither a generation request nor a
    /// model lookup (Gemini's Batch API: create a job, poll it), answered at once and outside the
    /// quota. Nil when `request` is not one.
    func otherMethod(_ request: IncomingRequest) -> WirePlan?
}

extension FakeAPI {
    package func modelCheck(_ request: IncomingRequest) -> WirePlan? { nil }
    package func otherMethod(_ request: IncomingRequest) -> WirePlan? { nil }
}

/// An error reply chosen while checking a request.
package struct WirePlanError: Error, Sendable {
    package var plan: WirePlan

    package init(_ plan: WirePlan) {
        self.plan = plan
    }
}
