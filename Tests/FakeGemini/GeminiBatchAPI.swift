import FakeServerKit
import NIOHTTP1

/// The Batch API's two methods on the fake: `POST /{v1beta|v1}/models/{model}:batchGenerateContent`
/// (create a job of inline requests, each checked as a `generateContent` body is) and
/// `GET /{v1beta|v1}/batches/{id}` (the job's operation). See ``FakeBatchJobs``.
extension GeminiAPI {
    func otherMethod(_ incoming: IncomingRequest) -> WirePlan? {
        let components = incoming.path.split(separator: "/", omittingEmptySubsequences: false)
        guard (3...4).contains(components.count), components[0].isEmpty, ["v1beta", "v1"].contains(components[1]) else {
            return nil
        }
        let apiVersion = String(components[1])
        if components.count == 3, incoming.head.method == .GET, components[2] == "batches" {
            return checkedKey(incoming) ?? list(incoming.queryParameters)
        }
        guard components.count == 4 else { return nil }
        if incoming.head.method == .GET, components[2] == "batches" {
            return checkedKey(incoming) ?? poll(id: String(components[3]))
        }
        guard incoming.head.method == .POST, components[2] == "models", components[3].hasSuffix(":batchGenerateContent")
        else { return nil }
        let model = String(components[3].dropLast(":batchGenerateContent".count))
        if let refusal = checkedKey(incoming) { return refusal }
        if incoming.bodyTooLarge {
            return ReplyRenderer.plan(
                for: .invalidArgument("Request payload size exceeds the limit: \(20 * 1024 * 1024) bytes.")
            )
        }
        if let models = configuration.models, !models.contains(model) {
            return ReplyRenderer.plan(for: .modelNotFound(model, apiVersion: apiVersion))
        }
        switch Self.inlineRequests(incoming.body, apiVersion: apiVersion, model: model) {
        case .failure(let error):
            return ReplyRenderer.plan(for: error)
        case .success(let (displayName, requests)):
            let operation = batches.create(model: model, displayName: displayName, requests: requests)
            var bytes = Array(operation.serialized(pretty: true).utf8)
            if batches.schedule.cutsFirstCreateAnswer, batches.createdCount == 1 { bytes.removeLast(bytes.count / 2) }
            return .whole(status: 200, contentType: ReplyRenderer.jsonType, bytes)
        }
    }

    /// `GET …/batches?pageSize=&pageToken=`: `{"operations": [...], "nextPageToken"}`, newest first.
    private func list(_ parameters: [String: String]) -> WirePlan {
        let size = parameters["pageSize"].flatMap(Int.init) ?? 50
        let start = parameters["pageToken"].flatMap(Int.init) ?? 0
        let page = batches.list(pageSize: min(size, 100), start: start)
        var members: [(key: String, value: JSONValue)] = [("operations", .array(page.operations))]
        if let next = page.next { members.append(("nextPageToken", .string("\(next)"))) }
        return .whole(
            status: 200,
            contentType: ReplyRenderer.jsonType,
            Array(JSONValue.object(members).serialized(pretty: true).utf8)
        )
    }

    /// The key checked as for `generateContent`: nil when accepted, else the refusal.
    private func checkedKey(_ incoming: IncomingRequest) -> WirePlan? {
        let key = incoming.head.headers.first(name: "x-goog-api-key") ?? incoming.queryParameters["key"]
        guard let key, !key.isEmpty else { return ReplyRenderer.plan(for: .missingKey) }
        if let expected = configuration.apiKey, key != expected { return ReplyRenderer.plan(for: .invalidKey) }
        return nil
    }

    private func poll(id: String) -> WirePlan {
        let operation = batches.poll(id) { request in answerInline(request) }
        guard let operation else {
            return ReplyRenderer.plan(
                for: GoogleError(code: 404, status: "NOT_FOUND", message: "Requested entity was not found.")
            )
        }
        return .whole(status: 200, contentType: ReplyRenderer.jsonType, Array(operation.serialized(pretty: true).utf8))
    }

    /// One inline request's entry in the output: `{"response": …}` as `generateContent` would
    /// answer it, or `{"error": Status}` for an error reply (its gRPC code).
    private func answerInline(_ request: FakeGeminiServer.Request) -> JSONValue {
        var request = request
        request.attempt = 1
        let reply = configuration.reply(request)
        func status(_ code: Int, _ message: String) -> JSONValue {
            .object([("error", .object([("code", .integer(code)), ("message", .string(message))]))])
        }
        switch reply.kind {
        case .hang, .connectionReset: return status(13, "Internal error encountered.")
        default: break
        }
        let plan = ReplyRenderer.plan(for: reply.kind, to: request, responseId: "fake-batch", serverSentEvents: false)
        guard case .whole(let bytes) = plan.body, let json = try? JSONValue.parse(bytes) else {
            return status(13, "Internal error encountered.")
        }
        if plan.status == 200 { return .object([("response", json)]) }
        let message = json["error"]?["message"]?.stringValue ?? "error"
        let grpc: Int =
            switch plan.status {
            case 400: 3
            case 403: 7
            case 404: 5
            case 429: 8
            case 503: 14
            case 504: 4
            default: 13
            }
        return status(grpc, message)
    }

    /// The body of a create: `{"batch": {"displayName", "inputConfig": {"requests": {"requests":
    /// [{"request", "metadata"}]}}}}`, each request checked as a `generateContent` body.
    static func inlineRequests(
        _ body: [UInt8],
        apiVersion: String,
        model: String
    ) -> Result<(String, [(request: FakeGeminiServer.Request, metadata: JSONValue?)]), GoogleError> {
        func unknown(_ name: String, at path: String) -> GoogleError {
            .badRequest([
                .init(
                    field: path,
                    description:
                        "Invalid JSON payload received. Unknown name \"\(name)\" at '\(path)': Cannot find field."
                )
            ])
        }
        guard let json = try? JSONValue.parse(body), case .object(let root) = json else {
            return .failure(
                .badRequest([.init(description: "Invalid JSON payload received. Root element must be a message.")])
            )
        }
        if let stray = root.first(where: { $0.key != "batch" }) { return .failure(unknown(stray.key, at: "")) }
        guard case .object(let batch)? = json["batch"] else {
            return .failure(.invalidArgument("* GenerateContentBatch.batch: batch is not specified\n"))
        }
        let known = ["displayName", "display_name", "inputConfig", "input_config", "priority", "webhookConfig"]
        if let stray = batch.first(where: { !known.contains($0.key) }) {
            return .failure(unknown(stray.key, at: "batch"))
        }
        let displayName = json["batch"]?["displayName"]?.stringValue ?? ""
        guard let entries = json["batch"]?["inputConfig"]?["requests"]?["requests"]?.arrayValue, !entries.isEmpty else {
            return .failure(.invalidArgument("* GenerateContentBatch.input_config: requests are not specified\n"))
        }
        var requests: [(request: FakeGeminiServer.Request, metadata: JSONValue?)] = []
        for (index, entry) in entries.enumerated() {
            guard case .object(let fields) = entry, let request = entry["request"] else {
                return .failure(
                    .invalidArgument(
                        "* batch.input_config.requests.requests[\(index)].request: request is not specified\n"
                    )
                )
            }
            if let stray = fields.first(where: { !["request", "metadata"].contains($0.key) }) {
                return .failure(unknown(stray.key, at: "batch.input_config.requests.requests[\(index)]"))
            }
            if let metadata = entry["metadata"] {
                guard case .object(let pairs) = metadata, pairs.allSatisfy({ $0.value.stringValue != nil }) else {
                    return .failure(
                        .badRequest([
                            .init(
                                description:
                                    "Invalid value at 'batch.input_config.requests.requests[\(index)].metadata': metadata values must be strings."
                            )
                        ])
                    )
                }
            }
            let bytes = Array(request.serialized().utf8)
            switch RequestValidator.validate(body: bytes, apiVersion: apiVersion, model: model, isStreaming: false) {
            case .failure(let error): return .failure(error)
            case .success(let validated): requests.append((validated, entry["metadata"]))
            }
        }
        return .success((displayName, requests))
    }
}
