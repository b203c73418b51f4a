public import FakeServerKit

extension FakeOpenAIServer {
    /// One chat message: its role and its text (a string, or the text parts of a list joined by
    /// newlines).
    public struct Message: Sendable, Hashable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// A valid chat completions request as the reply decision sees it.
    public struct Request: Sendable, Hashable {
        public var model: String
        public var messages: [Message]
        public var temperature: Double?
        /// `max_completion_tokens`, as sent (even when the server ignores it).
        public var maxCompletionTokens: Int?
        /// `max_tokens`, as sent.
        public var maxTokens: Int?
        public var stream: Bool
        /// `stream_options.include_usage`.
        public var includeUsage: Bool
        /// How many requests with this same prompt reached the model, this one included: 1 for the
        /// first attempt, 2 for the first retry, ...
        public var attempt: Int

        public init(
            model: String,
            messages: [Message],
            temperature: Double? = nil,
            maxCompletionTokens: Int? = nil,
            maxTokens: Int? = nil,
            stream: Bool = false,
            includeUsage: Bool = false,
            attempt: Int = 1
        ) {
            self.model = model
            self.messages = messages
            self.temperature = temperature
            self.maxCompletionTokens = maxCompletionTokens
            self.maxTokens = maxTokens
            self.stream = stream
            self.includeUsage = includeUsage
            self.attempt = attempt
        }

        /// The `system` (and `developer`) messages, joined by newlines; nil when there are none.
        public var system: String? {
            let texts = messages.filter { $0.role == "system" || $0.role == "developer" }.map(\.content)
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        }

        /// The `user` messages, joined by newlines: what the server counts requests and attempts by.
        public var prompt: String {
            messages.filter { $0.role == "user" }.map(\.content).joined(separator: "\n")
        }

        /// Parses a recorded body without checking it; nil when it is not a JSON object with a model.
        public init?(recorded: RecordedRequest) {
            guard let json = try? JSONValue.parse(recorded.body), let parsed = RequestValidator.fields(of: json) else {
                return nil
            }
            self = parsed
            self.attempt = recorded.attempt ?? 0
        }
    }
}

/// Checks a chat completions body as OpenAI does.
enum RequestValidator {
    /// Parameters OpenAI's chat completions accept; others are "Unrecognized request argument".
    static let knownParameters: Set<String> = [
        "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "user", "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort",
        "service_tier", "store", "metadata", "modalities", "prediction", "audio", "web_search_options",
        "verbosity", "prompt_cache_key", "safety_identifier",
    ]

    static let roles = ["system", "assistant", "user", "function", "tool", "developer"]

    /// The request, or the error OpenAI would send. `maxTokens` decides which output budget
    /// parameter is refused.
    static func validate(
        body: [UInt8],
        maxTokens: FakeOpenAIServer.MaxTokensSupport
    ) -> Result<FakeOpenAIServer.Request, OpenAIError> {
        guard let json = try? JSONValue.parse(body), case .object(let members) = json else {
            return .failure(.unparsableBody)
        }
        if let unknown = members.first(where: { !knownParameters.contains($0.key) }) {
            return .failure(.invalidRequest("Unrecognized request argument supplied: \(unknown.key)"))
        }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            return .failure(.invalidRequest("you must provide a model parameter"))
        }
        guard let messages = json["messages"], !messages.isNull else {
            return .failure(
                .invalidRequest(
                    "Missing required parameter: 'messages'.",
                    param: "messages",
                    code: "missing_required_parameter"
                )
            )
        }
        guard let list = messages.arrayValue else {
            return .failure(invalidType("messages", expected: "an array", got: messages))
        }
        guard !list.isEmpty else {
            return .failure(
                .invalidRequest(
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty"
                        + " array instead.",
                    param: "messages",
                    code: "empty_array"
                )
            )
        }
        for (index, message) in list.enumerated() {
            guard let role = message["role"]?.stringValue else {
                return .failure(
                    .invalidRequest(
                        "Missing required parameter: 'messages[\(index)].role'.",
                        param: "messages[\(index)].role",
                        code: "missing_required_parameter"
                    )
                )
            }
            guard roles.contains(role) else {
                let supported = roles.dropLast().map { "'\($0)'" }.joined(separator: ", ")
                return .failure(
                    .invalidRequest(
                        "Invalid value: '\(role)'. Supported values are: \(supported), and '\(roles.last!)'.",
                        param: "messages[\(index)].role",
                        code: "invalid_value"
                    )
                )
            }
            if let content = message["content"], text(of: content) == nil, !content.isNull {
                return .failure(
                    invalidType("messages[\(index)].content", expected: "a string or an array", got: content)
                )
            }
        }
        if let temperature = json["temperature"], !temperature.isNull {
            guard let value = number(temperature) else {
                return .failure(invalidType("temperature", expected: "a decimal", got: temperature))
            }
            if value > 2 {
                return .failure(
                    .invalidRequest(
                        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got"
                            + " \(formatted(value)) instead.",
                        param: "temperature",
                        code: "decimal_above_max_value"
                    )
                )
            }
            if value < 0 {
                return .failure(
                    .invalidRequest(
                        "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got"
                            + " \(formatted(value)) instead.",
                        param: "temperature",
                        code: "decimal_below_min_value"
                    )
                )
            }
        }
        for name in ["max_tokens", "max_completion_tokens"] {
            guard let value = json[name], !value.isNull else { continue }
            guard case .integer(let integer) = value else {
                return .failure(invalidType(name, expected: "an integer", got: value))
            }
            if integer < 1 {
                return .failure(
                    .invalidRequest(
                        "Invalid '\(name)': integer below minimum value. Expected a value >= 1, but got \(integer)"
                            + " instead.",
                        param: name,
                        code: "integer_below_min_value"
                    )
                )
            }
        }
        switch maxTokens {
        case .rejectsMaxCompletionTokens where json["max_completion_tokens"].map({ !$0.isNull }) ?? false:
            return .failure(.unsupportedParameter("max_completion_tokens", instead: "max_tokens"))
        case .rejectsMaxTokens where json["max_tokens"].map({ !$0.isNull }) ?? false:
            return .failure(.unsupportedParameter("max_tokens", instead: "max_completion_tokens"))
        default:
            break
        }
        if let stream = json["stream"], !stream.isNull {
            guard case .bool = stream else {
                return .failure(invalidType("stream", expected: "a boolean", got: stream))
            }
        }
        let streaming = json["stream"].flatMap(boolValue) ?? false
        if let options = json["stream_options"], !options.isNull, !streaming {
            return .failure(
                .invalidRequest(
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    param: "stream_options",
                    code: "invalid_value"
                )
            )
        }
        guard var request = fields(of: json) else { return .failure(.unparsableBody) }
        request.model = model
        return .success(request)
    }

    /// The fields the fake reads, without checking them.
    static func fields(of json: JSONValue) -> FakeOpenAIServer.Request? {
        guard let model = json["model"]?.stringValue else { return nil }
        let messages = (json["messages"]?.arrayValue ?? []).map { message in
            FakeOpenAIServer.Message(
                role: message["role"]?.stringValue ?? "",
                content: message["content"].flatMap(text(of:)) ?? ""
            )
        }
        return FakeOpenAIServer.Request(
            model: model,
            messages: messages,
            temperature: json["temperature"].flatMap(number),
            maxCompletionTokens: json["max_completion_tokens"].flatMap(integer),
            maxTokens: json["max_tokens"].flatMap(integer),
            stream: json["stream"].flatMap(boolValue) ?? false,
            includeUsage: json["stream_options"]?["include_usage"].flatMap(boolValue) ?? false
        )
    }

    /// A string content, or the `text` of a list of content parts joined by newlines.
    static func text(of content: JSONValue) -> String? {
        if let string = content.stringValue { return string }
        guard let parts = content.arrayValue else { return nil }
        return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }

    private static func invalidType(_ param: String, expected: String, got value: JSONValue) -> OpenAIError {
        .invalidRequest(
            "Invalid type for '\(param)': expected \(expected), but got \(typeName(value)) instead.",
            param: param,
            code: "invalid_type"
        )
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a decimal"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .number(let number): number
        default: nil
        }
    }

    private static func integer(_ value: JSONValue) -> Int? {
        if case .integer(let integer) = value { return integer }
        return nil
    }

    private static func boolValue(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    private static func formatted(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
