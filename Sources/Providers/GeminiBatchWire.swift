import Foundation

/// Gemini's Batch API JSON (`models/{model}:batchGenerateContent`, `batches/{id}`), as far as
/// coursegen sends and reads it. Field names follow python-genai's `_mldev` converters
/// (`_CreateBatchJobParameters_to_mldev`, `_BatchJob_from_mldev`, `_InlinedResponse_from_mldev`).
enum GeminiBatchWire {
    /// The body of `POST …:batchGenerateContent`: `{"batch": {"displayName", "inputConfig":
    /// {"requests": {"requests": [{"request", "metadata"}]}}}}`.
    struct Create: Encodable {
        struct Batch: Encodable {
            var displayName: String
            var inputConfig: InputConfig
        }
        struct InputConfig: Encodable {
            var requests: Requests
        }
        struct Requests: Encodable {
            var requests: [Inline]
        }
        /// One chapter: the same `GenerateContentRequest` a streamed chapter sends, and its
        /// key (`metadata` is a map of strings).
        struct Inline: Encodable {
            var request: GeminiWire.Request
            var metadata: [String: String]
        }
        var batch: Batch

        init(_ requests: [ChapterRequest], displayName: String) {
            batch = Batch(
                displayName: displayName,
                inputConfig: InputConfig(requests: Requests(requests: requests.map(Self.inline)))
            )
        }

        /// A chapter's inline request; no thought summaries (nobody watches a batch think), no
        /// service tier (a batch is its own).
        static func inline(_ request: ChapterRequest) -> Inline {
            var request = request
            request.serviceTier = .standard
            return Inline(request: GeminiWire.Request(request), metadata: [metadataKey: request.key.hex])
        }
    }

    /// The name of the `metadata` entry that carries a chapter's key.
    static let metadataKey = "key"

    /// A `google.rpc.Status`: a job's or one request's error, read as any error of the API is.
    typealias Status = GeminiWire.ErrorEnvelope.Body

    /// The long-running operation both calls answer: `name` "batches/…", `metadata` (the
    /// `GenerateContentBatch`: `state`, `output`, …), and once `done`, `response` (the output
    /// again) or `error`.
    struct Operation: Decodable {
        struct Metadata: Decodable {
            var state: String?
            var displayName: String?
            var output: Output?
        }
        struct Output: Decodable {
            var inlinedResponses: Inlined?
        }
        struct Inlined: Decodable {
            var inlinedResponses: [InlinedResponse]?
        }
        /// `{response: GenerateContentResponse, metadata}` or `{error: Status, metadata}`.
        struct InlinedResponse: Decodable {
            var response: GeminiWire.Response?
            var metadata: [String: String]?
            var error: Status?
        }
        var name: String?
        var metadata: Metadata?
        var done: Bool?
        var error: Status?
        var response: Output?
    }

    /// One page of `GET /v1beta/batches` (python-genai's `_ListBatchJobsResponse_from_mldev`):
    /// `operations[]` and, when more follow, `nextPageToken`.
    struct ListPage: Decodable {
        var operations: [Operation]?
        var nextPageToken: String?
    }

    /// The name of the job on `page` shown as `displayName`, and the next page's token.
    static func classifyList(
        status: Int,
        body: [UInt8],
        displayName: String
    ) -> Result<(name: String?, next: String?), ProviderError> {
        guard status == 200 else { return .failure(GeminiWire.classifyError(status: status, body: body)) }
        guard let page = try? JSONDecoder().decode(ListPage.self, from: Data(body)) else {
            return .failure(GeminiWire.notJSON(body))
        }
        let name = (page.operations ?? []).first { $0.metadata?.displayName == displayName }?.name
        return .success((name, page.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }))
    }

    /// Classifies the answer to a create or a poll: the job, or the error as for a chapter.
    /// - Parameter keys: the job's keys in the order they were sent (for results without a key).
    static func classify(status: Int, body: [UInt8], keys: [ChapterKey]) -> Result<BatchJob, ProviderError> {
        guard status == 200 else { return .failure(GeminiWire.classifyError(status: status, body: body)) }
        guard let operation = try? JSONDecoder().decode(Operation.self, from: Data(body)), let name = operation.name
        else { return .failure(GeminiWire.notJSON(body)) }
        let state: BatchJobState
        if let wire = operation.metadata?.state {
            state = BatchJobState(wire: wire)
        } else {
            // An operation done without a state: its error says whether it failed.
            state = operation.done == true ? (operation.error == nil ? .succeeded : .failed) : .pending
        }
        let inlined =
            operation.response?.inlinedResponses?.inlinedResponses
            ?? operation.metadata?.output?.inlinedResponses?.inlinedResponses ?? []
        let message = operation.error.map { status in
            [status.status, status.message.map(ProviderTransport.oneLine)].compactMap { $0 }.joined(separator: ": ")
        }
        return .success(
            BatchJob(
                name: name,
                state: state,
                message: message.flatMap { $0.isEmpty ? nil : $0 },
                results: state == .succeeded ? results(inlined, keys: keys) : [:]
            )
        )
    }

    /// Matches each inlined response to its chapter: by the key in its `metadata`, and where
    /// that is missing (or names no chapter of the job) by its position. Each answer is classified
    /// as a streamed one is, and billed at the batch tier.
    static func results(
        _ responses: [Operation.InlinedResponse],
        keys: [ChapterKey]
    ) -> [ChapterKey: Result<ChapterResponse, ProviderError>] {
        let byHex = Dictionary(keys.map { ($0.hex, $0) }, uniquingKeysWith: { first, _ in first })
        var results: [ChapterKey: Result<ChapterResponse, ProviderError>] = [:]
        var unkeyed: [(position: Int, InlinedResponse: Operation.InlinedResponse)] = []
        for (position, response) in responses.enumerated() {
            if let hex = response.metadata?[metadataKey], let key = byHex[hex], results[key] == nil {
                results[key] = outcome(of: response)
            } else {
                unkeyed.append((position, response))
            }
        }
        for (position, response) in unkeyed where position < keys.count && results[keys[position]] == nil {
            results[keys[position]] = outcome(of: response)
        }
        return results
    }

    /// One inlined response as a chapter's outcome.
    static func outcome(of inlined: Operation.InlinedResponse) -> Result<ChapterResponse, ProviderError> {
        if let error = inlined.error { return .failure(failure(error)) }
        guard let response = inlined.response else {
            return .failure(ProviderError(.retry, "the batch job's result for this chapter holds no answer"))
        }
        return GeminiWire.classify(response).map { answer in
            var answer = answer
            answer.tier = .batch
            return answer
        }
    }

    /// One request's error inside a job, by its gRPC code: retried when the service may do better
    /// later (deadline, exhausted resource, internal, unavailable), else fatal for the chapter.
    static func failure(_ status: Status) -> ProviderError {
        let words = [status.status, status.message.map(ProviderTransport.oneLine)].compactMap { $0 }
        let message =
            "in the batch job: " + (words.isEmpty ? "an error without a message" : words.joined(separator: ": "))
        switch status.code {
        case 4, 8, 10, 13, 14, nil: return ProviderError(.retry, message)
        default: return ProviderError(.fatal, message)
        }
    }

    /// The largest body of inline requests one job takes (the API's 20 MB), less room for the
    /// envelope.
    static let inlineLimit = 20 * 1024 * 1024 - 64 * 1024

    /// Consecutive groups of requests whose encoded `sizes` add up to at most `limit` each; a
    /// request larger than `limit` on its own is a group of its own (the API will refuse it, once).
    static func groups(sizes: [Int], limit: Int) -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var start = 0
        var total = 0
        for (index, size) in sizes.enumerated() {
            if index > start && total + size > limit {
                groups.append(start..<index)
                (start, total) = (index, 0)
            }
            total += size
        }
        if start < sizes.count { groups.append(start..<sizes.count) }
        return groups
    }
}
