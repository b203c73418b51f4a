import FakeServerKit

/// An error reply in Google's JSON shape:
/// `{"error": {"code": N, "message": "...", "status": "...", "details": [...]}}`.
struct GoogleError: Error, Sendable {
    var code: Int
    var status: String
    var message: String
    /// `google.rpc.*` detail objects, each starting with its `@type`.
    var details: [JSONValue] = []

    /// The `{"error": {...}}` object; `details` is omitted when empty, as Google does.
    var json: JSONValue {
        var error: [(key: String, value: JSONValue)] = [
            ("code", .integer(code)),
            ("message", .string(message)),
            ("status", .string(status)),
        ]
        if !details.isEmpty { error.append(("details", .array(details))) }
        return .object([("error", .object(error))])
    }

    static let typePrefix = "type.googleapis.com/google.rpc."

    // MARK: Authentication

    /// No `x-goog-api-key` header and no `key=` parameter.
    static let missingKey = GoogleError(
        code: 403,
        status: "PERMISSION_DENIED",
        message: "Method doesn't allow unregistered callers (callers without established identity)."
            + " Please use API Key or other form of API consumer identity to call this API."
    )

    /// A key that is not the expected one.
    static let invalidKey: GoogleError = {
        let message = "API key not valid. Please pass a valid API key."
        return GoogleError(
            code: 400,
            status: "INVALID_ARGUMENT",
            message: message,
            details: [
                .object([
                    ("@type", .string(typePrefix + "ErrorInfo")),
                    ("reason", "API_KEY_INVALID"),
                    ("domain", "googleapis.com"),
                    ("metadata", .object([("service", "generativelanguage.googleapis.com")])),
                ]),
                .object([
                    ("@type", .string(typePrefix + "LocalizedMessage")),
                    ("locale", "en-US"),
                    ("message", .string(message)),
                ]),
            ]
        )
    }()

    // MARK: Bad requests

    /// One problem found in a request body: the field path in proto (snake_case) names, when
    /// there is one, and a description worded as Google words it.
    struct Violation: Sendable {
        var field: String?
        var description: String
    }

    /// 400 INVALID_ARGUMENT listing `violations` in a BadRequest detail; the message joins their
    /// descriptions with newlines, as the API does when a body has several problems.
    static func badRequest(_ violations: [Violation]) -> GoogleError {
        let fieldViolations: [JSONValue] = violations.map { violation in
            var members: [(key: String, value: JSONValue)] = []
            if let field = violation.field { members.append(("field", .string(field))) }
            members.append(("description", .string(violation.description)))
            return .object(members)
        }
        return GoogleError(
            code: 400,
            status: "INVALID_ARGUMENT",
            message: violations.map(\.description).joined(separator: "\n"),
            details: [
                .object([
                    ("@type", .string(typePrefix + "BadRequest")),
                    ("fieldViolations", .array(fieldViolations)),
                ])
            ]
        )
    }

    /// 400 INVALID_ARGUMENT with a message and no details, as for semantic checks.
    static func invalidArgument(_ message: String) -> GoogleError {
        GoogleError(code: 400, status: "INVALID_ARGUMENT", message: message)
    }

    /// 404 for a model the server does not serve.
    static func modelNotFound(_ model: String, apiVersion: String) -> GoogleError {
        GoogleError(
            code: 404,
            status: "NOT_FOUND",
            message: "models/\(model) is not found for API version \(apiVersion), or is not supported for"
                + " generateContent. Call ListModels to see the list of available models and their"
                + " supported methods."
        )
    }

    /// 404 for a path that is no API method.
    static let methodNotFound = GoogleError(code: 404, status: "NOT_FOUND", message: "Method not found.")

    // MARK: Faults

    /// 429 RESOURCE_EXHAUSTED as the API sends it: QuotaFailure, Help and RetryInfo details, and
    /// the delay repeated at the end of the message. No Retry-After header exists.
    ///
    /// - Parameters:
    ///   - retryDelay: RetryInfo's `retryDelay` ("15s", "11.769242877s"); nil sends no RetryInfo
    ///     and no "Please retry in" sentence.
    ///   - messageDelay: The delay the message quotes ("11.770s"); defaults to `retryDelay`.
    ///   - quotaId: QuotaFailure's quota id; one containing "PerDay" is the daily quota.
    ///   - limit: The quota's value; defaults to 1000 per minute, 10000 per day.
    static func rateLimited(
        retryDelay: String?,
        messageDelay: String? = nil,
        quotaId: String,
        model: String,
        limit: Int? = nil
    ) -> GoogleError {
        let perDay = quotaId.contains("PerDay")
        let metric =
            if perDay {
                "generativelanguage.googleapis.com/generate_content_requests_per_day"
            } else if quotaId.contains("InputTokens") {
                "generativelanguage.googleapis.com/generate_content_input_token_count"
            } else {
                "generativelanguage.googleapis.com/generate_content_requests"
            }
        let limit = limit.map(String.init) ?? (perDay ? "10000" : "1000")
        var message =
            "You exceeded your current quota, please check your plan and billing details. For more"
            + " information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
            + "\n* Quota exceeded for metric: \(metric), limit: \(limit), model: \(model)"
        if let delay = messageDelay ?? retryDelay { message += "\nPlease retry in \(delay)." }
        var details: [JSONValue] = [
            .object([
                ("@type", .string(typePrefix + "QuotaFailure")),
                (
                    "violations",
                    .array([
                        .object([
                            ("quotaMetric", .string(metric)),
                            ("quotaId", .string(quotaId)),
                            ("quotaDimensions", .object([("location", "global"), ("model", .string(model))])),
                            ("quotaValue", .string(limit)),
                        ])
                    ])
                ),
            ]),
            .object([
                ("@type", .string(typePrefix + "Help")),
                (
                    "links",
                    .array([
                        .object([
                            ("description", "Learn more about Gemini API quotas"),
                            ("url", "https://ai.google.dev/gemini-api/docs/rate-limits"),
                        ])
                    ])
                ),
            ]),
        ]
        if let retryDelay {
            details.append(
                .object([("@type", .string(typePrefix + "RetryInfo")), ("retryDelay", .string(retryDelay))])
            )
        }
        return GoogleError(code: 429, status: "RESOURCE_EXHAUSTED", message: message, details: details)
    }

    /// An error for `code` with Google's canonical status name and its usual message, or
    /// `message` when given. `model` and `apiVersion` word the 404.
    static func forStatus(code: Int, message: String?, model: String, apiVersion: String) -> GoogleError {
        let (status, usual): (String, String) =
            switch code {
            case 400: ("INVALID_ARGUMENT", "Request contains an invalid argument.")
            case 401:
                (
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login"
                        + " cookie or other valid authentication credential."
                )
            case 403: ("PERMISSION_DENIED", "The caller does not have permission")
            case 404: ("NOT_FOUND", modelNotFound(model, apiVersion: apiVersion).message)
            case 409: ("ABORTED", "The operation was aborted.")
            case 429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
            case 499: ("CANCELLED", "The operation was cancelled.")
            case 500:
                (
                    "INTERNAL",
                    "An internal error has occurred. Please retry or report in"
                        + " https://developers.generativeai.google/guide/troubleshooting"
                )
            case 501: ("UNIMPLEMENTED", "Operation is not implemented, or supported, or enabled.")
            case 503: ("UNAVAILABLE", "The model is overloaded. Please try again later.")
            case 504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
            default: ("UNKNOWN", "Unknown error.")
            }
        return GoogleError(code: code, status: status, message: message ?? usual)
    }

    /// What Google's front end serves for a 502: an HTML page, not JSON.
    static let badGatewayPage = """
        <!DOCTYPE html>
        <html lang=en>
          <meta charset=utf-8>
          <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
          <title>Error 502 (Server Error)!!1</title>
          <p><b>502.</b> <ins>That’s an error.</ins>
          <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>

        """
}
