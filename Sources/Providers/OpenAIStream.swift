import Foundation

/// The events of one streamed chat completion, put together. Pure: the provider feeds it what
/// the network delivers, it says what that means.
///
/// Each `data:` event is a `chat.completion.chunk` whose `choices[0].delta.content` carries the
/// next piece of text; `finish_reason` comes in the last chunk with a choice; with
/// `stream_options.include_usage` a last chunk with no choices carries `usage`; `data: [DONE]`
/// ends the stream. Reasoning deltas (`reasoning_content` from vLLM and DeepSeek, `reasoning`
/// from Ollama) are signs of life, never chapter text. An error can arrive as an event after
/// HTTP 200. A stream that ends without `[DONE]`, without `finish_reason`, or inside an event,
/// was cut: a failed attempt, never a published chapter.
struct OpenAIStream {
    /// Largest chapter text accepted, in UTF-8 bytes.
    let maximumTextSize: Int

    private var text = ""
    private var textSize = 0
    private var words = RunningWordCount()
    private var refusal = ""
    private var finishReason: String?
    private var usage: OpenAIWire.TokenUsage?
    private var model: String?
    /// `data: [DONE]` arrived; anything after it is ignored.
    private(set) var isDone = false

    init(maximumTextSize: Int = ProviderTransport.maximumTextSize) {
        self.maximumTextSize = maximumTextSize
    }

    /// Takes one event.
    /// - Returns: what it changed: text arrived (words so far), reasoning arrived, or nil.
    /// - Throws: `ProviderError` for an error event, an event that is not the JSON it should be,
    ///   or text beyond `maximumTextSize`.
    mutating func add(_ event: ServerSentEventParser.Event) throws(ProviderError) -> ChapterProgress? {
        guard !isDone else { return nil }
        if event.data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            isDone = true
            return nil
        }
        let bytes = Array(event.data.utf8)
        let chunk: OpenAIWire.Chunk
        do {
            chunk = try JSONDecoder().decode(OpenAIWire.Chunk.self, from: Data(bytes))
        } catch {
            throw OpenAIWire.ErrorBody(bytes).map { OpenAIWire.classifyErrorEvent($0, body: bytes) }
                ?? OpenAIWire.notJSON(bytes)
        }
        if chunk.choices == nil, let error = OpenAIWire.ErrorBody(bytes) {
            // An error after HTTP 200: classified as the same error with its own status.
            throw OpenAIWire.classifyErrorEvent(error, body: bytes)
        }
        if let model = chunk.model { self.model = model }
        if let usage = chunk.usage { self.usage = usage }
        guard let choice = chunk.choices?.first else { return nil }
        if let reason = choice.finishReason { finishReason = reason }
        var update: ChapterProgress?
        let reasoning = (choice.delta?.reasoningContent ?? "") + (choice.delta?.reasoning ?? "")
        if !reasoning.isEmpty { update = .thinking }
        if let piece = choice.delta?.refusal { refusal += piece }
        if let piece = choice.delta?.content, !piece.isEmpty {
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
        return update
    }

    /// The answer once the stream ended.
    /// - Parameter cut: the stream stopped inside an event.
    func finish(cut: Bool) -> Result<ChapterResponse, ProviderError> {
        let usage = usage?.usage
        if cut {
            return .failure(
                ProviderError(.retry, "the stream was cut off in the middle of an event", httpStatus: 200, usage: usage)
                    .markedCutOff()
            )
        }
        guard isDone else {
            return .failure(
                ProviderError(
                    .retry,
                    "the stream ended without data: [DONE]; it was probably cut off",
                    httpStatus: 200,
                    usage: usage
                ).markedCutOff()
            )
        }
        let choice = OpenAIWire.Response.Choice(
            message: .init(content: text, refusal: refusal.isEmpty ? nil : refusal),
            finishReason: finishReason
        )
        return OpenAIWire.classify(OpenAIWire.Response(choices: [choice], usage: self.usage, model: model))
    }
}

extension OpenAIStream: StreamedAnswer {
    mutating func progress(from event: ServerSentEventParser.Event) throws(ProviderError) -> ChapterProgress? {
        try add(event)
    }
}
