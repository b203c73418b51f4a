import FakeServerKit

/// An error reply in OpenAI's JSON shape:
/// `{"error": {"message": "...", "type": "...", "param": ..., "code": ...}}`, `param` and `code`
/// null when absent, as OpenAI sends them.
struct OpenAIError: Error, Sendable {
    var status: Int
    var message: String
    var type: String
    var param: String?
    var code: String?

    var json: JSONValue {
        .object([
            (
                "error",
                .object([
                    ("message", .string(message)),
                    ("type", .string(type)),
                    ("param", param.map { .string($0) } ?? .null),
                    ("code", code.map { .string($0) } ?? .null),
                ])
            )
        ])
    }

    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    // MARK: Authentication

    static let missingKey = OpenAIError(
        status: 401,
        message: "You didn't provide an API key. You need to provide your API key in an Authorization header using"
            + " Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if"
            + " you're accessing the API from your browser and are prompted for a username. You can obtain an API key"
            + " from https://platform.openai.com/account/api-keys.",
        type: "invalid_request_error"
    )

    /// A wrong key, quoted masked as OpenAI does: its first 8 and last 4 characters.
    static func incorrectKey(_ key: String) -> OpenAIError {
        let masked =
            key.count > 12
            ? String(key.prefix(8)) + String(repeating: "*", count: key.count - 12) + String(key.suffix(4))
            : key
        return OpenAIError(
            status: 401,
            message: "Incorrect API key provided: \(masked). You can find your API key at"
                + " https://platform.openai.com/account/api-keys.",
            type: "invalid_request_error",
            code: "invalid_api_key"
        )
    }

    // MARK: Requests

    static let unparsableBody = invalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP"
            + " library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If"
            + " you have trouble figuring out how to fix this, please contact us through our help center at"
            + " help.openai.com.)"
    )

    static func modelNotFound(_ model: String) -> OpenAIError {
        OpenAIError(
            status: 404,
            message: "The model `\(model)` does not exist or you do not have access to it.",
            type: "invalid_request_error",
            code: "model_not_found"
        )
    }

    /// `parameter` is not supported by this server or model; it wants `instead`.
    static func unsupportedParameter(_ parameter: String, instead: String) -> OpenAIError {
        invalidRequest(
            "Unsupported parameter: '\(parameter)' is not supported with this model. Use '\(instead)' instead.",
            param: parameter,
            code: "unsupported_parameter"
        )
    }

    // MARK: Faults

    /// 429 for a used-up rate limit, worded as OpenAI words it.
    ///
    /// - Parameters:
    ///   - limitType: "requests" or "tokens", OpenAI's `type` for the limit.
    ///   - per: "min" or "day".
    static func rateLimited(
        model: String,
        limitType: String,
        per: String,
        limit: Int,
        used: Int,
        requested: Int,
        retryIn: String
    ) -> OpenAIError {
        let unit =
            limitType == "tokens"
            ? "tokens per \(per) (TP\(per == "day" ? "D" : "M"))"
            : "requests per \(per) (RP\(per == "day" ? "D" : "M"))"
        return OpenAIError(
            status: 429,
            message: "Rate limit reached for \(model) in organization org-fake on \(unit): Limit \(limit), Used"
                + " \(used), Requested \(requested). Please try again in \(retryIn). Visit"
                + " https://platform.openai.com/account/rate-limits to learn more.",
            type: limitType,
            code: "rate_limit_exceeded"
        )
    }

    /// 429 for an account out of credit: not a rate limit, and retrying does not help.
    static let insufficientQuota = OpenAIError(
        status: 429,
        message: "You exceeded your current quota, please check your plan and billing details. For more information"
            + " on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type: "insufficient_quota",
        code: "insufficient_quota"
    )

    /// An error for `code` with OpenAI's usual wording, or `message` when given.
    static func forStatus(_ code: Int, message: String?) -> OpenAIError {
        let (type, usual): (String, String) =
            switch code {
            case 400: ("invalid_request_error", "Invalid request.")
            case 401: ("invalid_request_error", missingKey.message)
            case 403: ("invalid_request_error", "Country, region, or territory not supported")
            case 404: ("invalid_request_error", "The model does not exist or you do not have access to it.")
            case 408: ("server_error", "Request timed out.")
            case 409: ("server_error", "The request conflicted with another request. Please retry.")
            case 429: ("requests", "Rate limit reached. Please try again in 1s.")
            case 500:
                (
                    "server_error",
                    "The server had an error while processing your request. Sorry about that!"
                )
            case 502: ("server_error", "Bad gateway.")
            case 503: ("server_error", "The server is overloaded or not ready yet.")
            case 504: ("server_error", "Gateway timeout.")
            default: ("server_error", "Unknown error.")
            }
        let errorCode: String? =
            switch code {
            case 429: "rate_limit_exceeded"
            case 403: "unsupported_country_region_territory"
            default: nil
            }
        return OpenAIError(status: code, message: message ?? usual, type: type, code: errorCode)
    }
}
