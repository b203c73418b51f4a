import Foundation

/// The events of one `streamGenerateContent?alt=sse` answer, put together. Pure: the provider
/// feeds it what the network delivers, it says what that means.
///
/// Each `data:` event is a whole `GenerateContentResponse` carrying the next piece of text; the
/// chapter is the concatenation of the non-thought parts of every event; `finishReason` and
/// `usageMetadata` usually come in the last one; an error can arrive as an event after HTTP 200.
/// A stream that ends inside an event, or without `finishReason`, was cut: a failed attempt,
/// never a published chapter.
struct GeminiStream {
    /// What one event changed.
    enum Update: Sendable, Hashable {
        /// Chapter text arrived; the chapter holds this many words so far.
        case writing(words: Int)
        /// A thought summary arrived: the model is thinking (a sign of life, never chapter text).
        case thinking
        /// An event with neither (usage only, an empty part).
        case nothing
    }

    /// Largest chapter text accepted, in UTF-8 bytes: a chapter is a few tens of kilobytes, so
    /// anything near this is a runaway answer, not a chapter.
    let maximumTextSize: Int
    /// The tier the request asked for: how errors are read, and what the answer is billed at
    /// when the API does not say.
    let asked: ServiceTier

    private var text = ""
    private var textSize = 0
    private var words = RunningWordCount()
    private var finishReason: String?
    private var usage: GeminiWire.Response.UsageMetadata?
    private var promptFeedback: GeminiWire.Response.PromptFeedback?
    private var modelVersion: String?

    init(maximumTextSize: Int = 1 << 20, asked: ServiceTier = .standard) {
        self.maximumTextSize = maximumTextSize
        self.asked = asked
    }

    /// Takes one event.
    /// - Throws: `ProviderError` for an error event, an event that is not the JSON it should be,
    ///   or text beyond `maximumTextSize`.
    mutating func add(_ event: ServerSentEventParser.Event) throws(ProviderError) -> Update {
        let bytes = Array(event.data.utf8)
        if let envelope = try? JSONDecoder().decode(GeminiWire.ErrorEnvelope.self, from: Data(bytes)) {
            // An error after HTTP 200: classified as the same error with its own status.
            throw GeminiWire.classifyError(status: envelope.error.code ?? 500, body: bytes, asked: asked)
        }
        let response: GeminiWire.Response
        do {
            response = try JSONDecoder().decode(GeminiWire.Response.self, from: Data(bytes))
        } catch {
            throw GeminiWire.notJSON(bytes)
        }
        if let version = response.modelVersion { modelVersion = version }
        if let metadata = response.usageMetadata { usage = metadata }
        if let feedback = response.promptFeedback { promptFeedback = feedback }
        var update = Update.nothing
        for candidate in response.candidates?.prefix(1) ?? [] {
            if let reason = candidate.finishReason { finishReason = reason }
            for part in candidate.content?.parts ?? [] {
                guard let piece = part.text, !piece.isEmpty else { continue }
                if part.thought == true {
                    if update == .nothing { update = .thinking }
                    continue
                }
                textSize += piece.utf8.count
                guard textSize <= maximumTextSize else {
                    throw ProviderError(
                        .retry,
                        "the answer grew past \(maximumTextSize) bytes of text, far beyond a chapter; it was stopped",
                        httpStatus: 200
                    )
                }
                text += piece
                update = .writing(words: words.add(piece))
            }
        }
        return update
    }

    /// The answer once the stream ended.
    /// - Parameter cut: the stream stopped inside an event.
    func finish(cut: Bool) -> Result<ChapterResponse, ProviderError> {
        if cut {
            return .failure(
                ProviderError(.retry, "the stream was cut off in the middle of an event", httpStatus: 200)
            )
        }
        let parts = text.isEmpty ? [] : [GeminiWire.Response.Candidate.Part(text: text, thought: nil)]
        let candidate = GeminiWire.Response.Candidate(
            content: .init(parts: parts),
            finishReason: finishReason
        )
        return GeminiWire.classify(
            GeminiWire.Response(
                candidates: [candidate],
                promptFeedback: promptFeedback,
                usageMetadata: usage,
                modelVersion: modelVersion
            ),
            asked: BillingTier(asked)
        )
    }
}

extension GeminiStream: StreamedAnswer {
    mutating func progress(from event: ServerSentEventParser.Event) throws(ProviderError) -> ChapterProgress? {
        switch try add(event) {
        case .writing(let words): .writing(words: words)
        case .thinking: .thinking
        case .nothing: nil
        }
    }
}
