public import AsyncHTTPClient
import Foundation
import NIOCore

/// Gemini's Batch API: `POST /v1beta/models/{model}:batchGenerateContent` with the chapters as
/// inline requests, then `GET /v1beta/batches/{id}` until the job has finished.
extension GeminiProvider: BatchProvider {
    public func batchGroups(_ requests: [ChapterRequest]) -> [[ChapterRequest]] {
        let encoder = JSONEncoder()
        let sizes = requests.map { (try? encoder.encode(GeminiBatchWire.Create.inline($0)).count) ?? 0 }
        return GeminiBatchWire.groups(sizes: sizes, limit: GeminiBatchWire.inlineLimit).map { Array(requests[$0]) }
    }

    public func submitBatch(_ requests: [ChapterRequest], displayName: String, timeout: Duration) async throws
        -> BatchJob
    {
        guard let model = requests.first?.model else { throw ProviderError(.fatal, "a batch job needs a chapter") }
        guard Self.isValidModelName(model) else {
            throw ProviderError(
                .stopEverything,
                "model name '\(model)' may hold only letters, digits, '.', '-' and '_'"
            )
        }
        var http = HTTPClientRequest(url: "\(endpointBase)/v1beta/models/\(model):batchGenerateContent")
        http.method = .POST
        addHeaders(to: &http)
        http.headers.add(name: "content-type", value: "application/json")
        let body = try JSONEncoder().encode(GeminiBatchWire.Create(requests, displayName: displayName))
        http.body = .bytes(ByteBuffer(bytes: body))
        let (status, bytes) = try await ProviderTransport.fetch(
            http,
            with: httpClient,
            timeout: timeout,
            limit: ProviderTransport.maximumResponseSize
        )
        switch GeminiBatchWire.classify(status: status, body: bytes, keys: requests.map(\.key)) {
        case .success(let job): return job
        case .failure(let error): throw await namingUsableModels(error)
        }
    }

    public func batchJob(named name: String, keys: [ChapterKey], timeout: Duration) async throws -> BatchJob {
        guard Self.isValidBatchName(name) else {
            throw ProviderError(.fatal, "'\(name)' is not a batch job's name (batches/…)")
        }
        // Every chapter's answer at once: as large as a whole course may be.
        let limit = max(keys.count, 1) * ProviderTransport.maximumResponseSize
        let (status, bytes) = try await get(name, limit: limit, timeout: timeout)
        let job = GeminiBatchWire.classify(status: status, body: bytes, keys: keys)
        if case .failure(let error) = job, status == 404 {
            throw ProviderError(.fatal, "the batch job \(name) is gone: \(error.message)", httpStatus: 404)
        }
        return try job.get()
    }

    public func findBatch(displayName: String, timeout: Duration) async throws -> String? {
        var found: String?
        try await walkPages("batches", pageSize: 100, limit: 8 << 20, timeout: timeout) { status, bytes in
            let page = try GeminiBatchWire.classifyList(status: status, body: bytes, displayName: displayName).get()
            found = page.name
            return found == nil ? page.next : nil
        }
        return found
    }

    /// `batches/` and one path segment of letters, digits, '-' and '_' (it goes into the URL).
    static func isValidBatchName(_ name: String) -> Bool {
        guard name.hasPrefix("batches/") else { return false }
        let id = name.dropFirst("batches/".count)
        return !id.isEmpty && id.utf8.count <= 200
            && id.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_".unicodeScalars.contains($0))
            }
    }
}
