import FakeServerKit

extension FakeGeminiServer {
    /// A valid `generateContent` request as the reply decision sees it.
    public struct Request: Sendable, Hashable {
        /// "v1beta" or "v1", from the path.
        public var apiVersion: String
        /// The model named in the path ("gemini-2.5-flash").
        public var model: String
        /// Whether the path was `:streamGenerateContent`.
        public var isStreaming: Bool
        /// The text parts of `systemInstruction`, joined by newlines; nil when absent.
        public var systemInstruction: String?
        /// The text parts of `contents[0]`, joined by newlines (normally `contents[0].parts[0].text`).
        public var prompt: String
        /// The settings from `generationConfig`; nil where the request left them out.
        public var generationConfig: GenerationConfig
        /// How many requests with this same prompt the server has decided, this one included:
        /// 1 for the first attempt, 2 for the first retry, ...
        public var attempt: Int
        /// The top-level `serviceTier` as sent, lowercased ("flex"); nil when absent.
        public var serviceTier: String?

        public init(
            apiVersion: String = "v1beta",
            model: String,
            isStreaming: Bool = false,
            systemInstruction: String? = nil,
            prompt: String,
            generationConfig: GenerationConfig = GenerationConfig(),
            attempt: Int = 1
        ) {
            self.apiVersion = apiVersion
            self.model = model
            self.isStreaming = isStreaming
            self.systemInstruction = systemInstruction
            self.prompt = prompt
            self.generationConfig = generationConfig
            self.attempt = attempt
        }
    }

    /// The `generationConfig` fields the fake reads.
    public struct GenerationConfig: Sendable, Hashable {
        public var temperature: Double?
        /// The output budget in tokens; thinking tokens count against it.
        public var maxOutputTokens: Int?
        /// `thinkingConfig.thinkingBudget` in tokens: 0 off, -1 dynamic.
        public var thinkingBudget: Int?
        /// `thinkingConfig.includeThoughts`.
        public var includeThoughts: Bool?
        /// `thinkingConfig.thinkingLevel` as sent ("LOW", or "low": both are accepted).
        public var thinkingLevel: String?
        /// `topP` and `topK`, recorded so tests can check that a Gemini 3 request carries none
        /// (the API deprecates them, with temperature, for 3.x).
        public var topP: Double?
        public var topK: Int?

        public init(
            temperature: Double? = nil,
            maxOutputTokens: Int? = nil,
            thinkingBudget: Int? = nil,
            includeThoughts: Bool? = nil,
            thinkingLevel: String? = nil,
            topP: Double? = nil,
            topK: Int? = nil
        ) {
            self.temperature = temperature
            self.maxOutputTokens = maxOutputTokens
            self.thinkingBudget = thinkingBudget
            self.includeThoughts = includeThoughts
            self.thinkingLevel = thinkingLevel
            self.topP = topP
            self.topK = topK
        }
    }
}

// MARK: - Validation

/// The fields of `GenerateContentRequest` the fake knows, by proto (snake_case) name; the JSON
/// (camelCase) name is derived. Fields whose inside the fake does not check are `.anyValue`.
private indirect enum FieldType {
    case string, bool, int32, float, anyValue
    case message(MessageType)
    case repeated(FieldType)
}

private struct MessageType {
    /// The proto name, for "Invalid value" messages.
    var name: String
    /// Field types by proto name.
    var fields: [String: FieldType]
    /// Proto name by proto name and by JSON name.
    var lookup: [String: String]

    init(_ name: String, _ fields: [String: FieldType]) {
        self.name = name
        self.fields = fields
        var lookup: [String: String] = [:]
        for protoName in fields.keys {
            lookup[protoName] = protoName
            lookup[Self.jsonName(protoName)] = protoName
        }
        self.lookup = lookup
    }

    static func jsonName(_ protoName: String) -> String {
        let words = protoName.split(separator: "_")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }
}

private enum Schema {
    static let thinkingConfig = MessageType(
        "ThinkingConfig",
        ["include_thoughts": .bool, "thinking_budget": .int32, "thinking_level": .string]
    )

    static let generationConfig = MessageType(
        "GenerationConfig",
        [
            "stop_sequences": .repeated(.string), "response_mime_type": .string, "response_schema": .anyValue,
            "response_json_schema": .anyValue, "response_modalities": .anyValue, "candidate_count": .int32,
            "max_output_tokens": .int32, "temperature": .float, "top_p": .float, "top_k": .int32,
            "seed": .int32, "presence_penalty": .float, "frequency_penalty": .float, "response_logprobs": .bool,
            "logprobs": .int32, "enable_enhanced_civic_answers": .bool, "speech_config": .anyValue,
            "thinking_config": .message(thinkingConfig), "image_config": .anyValue, "media_resolution": .anyValue,
        ]
    )

    static let part = MessageType(
        "Part",
        [
            "text": .string, "inline_data": .anyValue, "function_call": .anyValue, "function_response": .anyValue,
            "file_data": .anyValue, "executable_code": .anyValue, "code_execution_result": .anyValue,
            "thought": .bool, "thought_signature": .string, "video_metadata": .anyValue,
            "part_metadata": .anyValue, "media_resolution": .anyValue,
        ]
    )

    static let content = MessageType("Content", ["parts": .repeated(.message(part)), "role": .string])

    static let request = MessageType(
        "GenerateContentRequest",
        [
            "model": .string, "contents": .repeated(.message(content)), "tools": .anyValue,
            "tool_config": .anyValue, "safety_settings": .anyValue, "system_instruction": .message(content),
            "generation_config": .message(generationConfig), "cached_content": .string,
            "service_tier": .string,
        ]
    )
}

/// Checks a request body the way the API's JSON front end and model server do, in that order.
enum RequestValidator {
    /// The body's fields that shape the reply; `attempt` is left at 1 for the caller to set.
    ///
    /// - Returns: The request, or the 400 the API would send: invalid JSON, unknown field names
    ///   (camelCase and snake_case both known), wrongly typed values, no `contents`, empty `parts`,
    ///   a role other than user/model, and out-of-range temperature, maxOutputTokens or
    ///   thinkingBudget.
    static func validate(
        body: [UInt8],
        apiVersion: String,
        model: String,
        isStreaming: Bool
    ) -> Result<FakeGeminiServer.Request, GoogleError> {
        let json: JSONValue
        if body.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            json = .object([])  // An empty body is an empty message, as for any proto request.
        } else {
            do {
                json = try JSONValue.parse(body)
            } catch {
                return .failure(
                    .badRequest([
                        .init(
                            description:
                                "Invalid JSON payload received. \(sentence(error.reason)) at byte \(error.offset)."
                        )
                    ])
                )
            }
        }
        guard case .object = json else {
            return .failure(
                .badRequest([
                    .init(description: "Invalid JSON payload received. Root element must be a message.")
                ])
            )
        }
        var violations: [GoogleError.Violation] = []
        check(json, as: .message(Schema.request), path: "", violations: &violations)
        if !violations.isEmpty { return .failure(.badRequest(violations)) }

        let fields = ProtoView(json, Schema.request)
        let contents = fields.list("contents")
        guard !contents.isEmpty else {
            return .failure(.invalidArgument("* GenerateContentRequest.contents: contents is not specified\n"))
        }
        for (index, content) in contents.enumerated() {
            let view = ProtoView(content, Schema.content)
            if view.list("parts").isEmpty {
                return .failure(
                    .invalidArgument(
                        "* GenerateContentRequest.contents[\(index)].parts: contents.parts must not be empty.\n"
                    )
                )
            }
            if let role = view["role"]?.stringValue, !["", "user", "model"].contains(role) {
                return .failure(.invalidArgument("Please use a valid role: user, model."))
            }
        }

        let config = generationConfig(fields["generation_config"])
        if let temperature = config.temperature, !(0...2).contains(temperature) {
            return .failure(
                .invalidArgument(
                    "* GenerateContentRequest.generation_config.temperature: temperature must be between 0 and 2,"
                        + " inclusive.\n"
                )
            )
        }
        if let maxOutputTokens = config.maxOutputTokens, !(0...65536).contains(maxOutputTokens) {
            return .failure(
                .invalidArgument(
                    "Unable to submit request because it has a maxOutputTokens value of \(maxOutputTokens) but the"
                        + " supported range is from 1 (inclusive) to 65537 (exclusive). Update the value and try again."
                )
            )
        }
        if let level = config.thinkingLevel,
            !["THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"].contains(level.uppercased())
        {
            return .failure(
                .badRequest([
                    .init(
                        field: "generation_config.thinking_config.thinking_level",
                        description: "Invalid value at 'generation_config.thinking_config.thinking_level'"
                            + " (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel),"
                            + " \"\(level)\""
                    )
                ])
            )
        }
        if config.thinkingLevel != nil, config.thinkingBudget != nil {
            return .failure(
                .invalidArgument("You can only set only one of thinking budget and thinking level.")
            )
        }
        if config.thinkingBudget != nil, model.hasPrefix("gemini-3") {
            // Gemini 3 takes a thinking level; a budget is refused, not translated.
            return .failure(
                .invalidArgument(
                    "Thinking budget is not supported for this model. Please use thinking level instead."
                )
            )
        }
        if let level = config.thinkingLevel, !model.hasPrefix("gemini-3") {
            return .failure(.invalidArgument("Thinking level is not supported for this model (\(level))."))
        }
        if let budget = config.thinkingBudget {
            if !(-1...24576).contains(budget) {
                return .failure(.invalidArgument("The thinking budget (\(budget)) is invalid."))
            }
            if budget == 0, model.contains("-pro") {
                return .failure(.invalidArgument("Budget 0 is invalid. This model only works in thinking mode."))
            }
        }

        let tier = fields["service_tier"]?.stringValue?.lowercased()
        if let tier, !["unspecified", "standard", "flex", "priority"].contains(tier) {
            return .failure(
                .badRequest([
                    .init(
                        field: "service_tier",
                        description: "Invalid value at 'service_tier' "
                            + "(type.googleapis.com/google.ai.generativelanguage.v1beta.ServiceTier), \"\(tier)\""
                    )
                ])
            )
        }
        var request = FakeGeminiServer.Request(
            apiVersion: apiVersion,
            model: model,
            isStreaming: isStreaming,
            systemInstruction: fields["system_instruction"].map(text(of:)),
            prompt: text(of: contents[0]),
            generationConfig: config
        )
        request.serviceTier = tier
        return .success(request)
    }

    /// "unexpected token" -> "Unexpected token".
    private static func sentence(_ reason: String) -> String {
        reason.prefix(1).uppercased() + reason.dropFirst()
    }

    /// The text parts of a `Content`, joined by newlines.
    private static func text(of content: JSONValue) -> String {
        let parts = ProtoView(content, Schema.content).list("parts")
        return parts.compactMap { ProtoView($0, Schema.part)["text"]?.stringValue }.joined(separator: "\n")
    }

    private static func generationConfig(_ json: JSONValue?) -> FakeGeminiServer.GenerationConfig {
        guard let json else { return .init() }
        let config = ProtoView(json, Schema.generationConfig)
        let thinking = config["thinking_config"].map { ProtoView($0, Schema.thinkingConfig) }
        return .init(
            temperature: config["temperature"].flatMap(doubleValue),
            maxOutputTokens: config["max_output_tokens"].flatMap(intValue),
            thinkingBudget: thinking?["thinking_budget"].flatMap(intValue),
            includeThoughts: thinking?["include_thoughts"].flatMap { value in
                if case .bool(let flag) = value { return flag }
                return nil
            },
            thinkingLevel: thinking?["thinking_level"]?.stringValue,
            topP: config["top_p"].flatMap(doubleValue),
            topK: config["top_k"].flatMap(intValue)
        )
    }

    private static func doubleValue(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .number(let number): number
        default: nil
        }
    }

    private static func intValue(_ value: JSONValue) -> Int? {
        switch value {
        case .integer(let integer): integer
        case .number(let number) where number.rounded() == number: Int(exactly: number)
        default: nil
        }
    }

    /// Appends a violation for every unknown field name and wrongly typed value under `value`.
    /// `null` is accepted anywhere: proto JSON reads it as the field's default.
    private static func check(
        _ value: JSONValue,
        as type: FieldType,
        path: String,
        violations: inout [GoogleError.Violation]
    ) {
        if value.isNull { return }
        switch type {
        case .anyValue:
            return
        case .string:
            if value.stringValue == nil { invalid(value, path, "TYPE_STRING", &violations) }
        case .bool:
            if case .bool = value {} else { invalid(value, path, "TYPE_BOOL", &violations) }
        case .float:
            if doubleValue(value) == nil { invalid(value, path, "TYPE_FLOAT", &violations) }
        case .int32:
            guard let integer = intValue(value), Int(Int32.min)...Int(Int32.max) ~= integer else {
                invalid(value, path, "TYPE_INT32", &violations)
                return
            }
        case .repeated(let element):
            // Google's JSON front end takes a single value for a repeated field as a list of one.
            guard let elements = value.arrayValue else {
                check(value, as: element, path: path, violations: &violations)
                return
            }
            for (index, item) in elements.enumerated() {
                check(item, as: element, path: "\(path)[\(index)]", violations: &violations)
            }
        case .message(let message):
            guard case .object(let members) = value else {
                invalid(
                    value,
                    path,
                    "type.googleapis.com/google.ai.generativelanguage.v1beta.\(message.name)",
                    &violations
                )
                return
            }
            for member in members {
                let at = path.isEmpty ? "" : " at '\(path)'"
                guard let protoName = message.lookup[member.key], let fieldType = message.fields[protoName] else {
                    violations.append(
                        .init(
                            field: path.isEmpty ? nil : path,
                            description: "Invalid JSON payload received. Unknown name \"\(member.key)\"\(at):"
                                + " Cannot find field."
                        )
                    )
                    continue
                }
                if case .array = member.value, !fieldType.acceptsList {
                    violations.append(
                        .init(
                            field: path.isEmpty ? nil : path,
                            description: "Invalid JSON payload received. Unknown name \"\(member.key)\"\(at):"
                                + " Proto field is not repeating, cannot start list."
                        )
                    )
                    continue
                }
                let childPath = path.isEmpty ? protoName : "\(path).\(protoName)"
                check(member.value, as: fieldType, path: childPath, violations: &violations)
            }
        }
    }

    private static func invalid(
        _ value: JSONValue,
        _ path: String,
        _ typeName: String,
        _ violations: inout [GoogleError.Violation]
    ) {
        violations.append(
            .init(field: path, description: "Invalid value at '\(path)' (\(typeName)), \(value.serialized())")
        )
    }
}

extension FieldType {
    /// Whether a JSON array is a valid value: unchecked fields (tools, safetySettings) may be lists.
    fileprivate var acceptsList: Bool {
        switch self {
        case .repeated, .anyValue: true
        default: false
        }
    }
}

/// Reads a JSON object's fields by proto name, whether the client wrote them in camelCase or
/// snake_case.
private struct ProtoView {
    let json: JSONValue
    let type: MessageType

    init(_ json: JSONValue, _ type: MessageType) {
        self.json = json
        self.type = type
    }

    subscript(protoName: String) -> JSONValue? {
        guard case .object(let members) = json else { return nil }
        let value = members.first { type.lookup[$0.key] == protoName }?.value
        return value?.isNull == true ? nil : value
    }

    /// A repeated field's elements; a single value counts as a list of one.
    func list(_ protoName: String) -> [JSONValue] {
        guard let value = self[protoName] else { return [] }
        return value.arrayValue ?? [value]
    }
}
