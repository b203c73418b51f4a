/// A chapter's failure in plain words for its author, and what they can do: the status page says
/// "the safety filter blocked its prompt; reword its title, points or notes, then save" rather
/// than `HTTP 200: ... blockReason SAFETY`. Pure: made from the error as the manifest keeps it.
struct FailureExplanation: Sendable, Hashable {
    var explanation: String
    var advice: String

    /// - Parameters:
    ///   - error: the failure's message, as `GenerationFailure` describes it.
    ///   - needsAuthor: only the author can fix it (the failure was fatal for the chapter).
    init(error: String, needsAuthor: Bool) {
        let text = error.lowercased()
        func has(_ words: String...) -> Bool { words.contains { text.contains($0.lowercased()) } }

        if has("blockReason", "content_filter") {
            explanation = "the safety filter blocked the request for this chapter"
            advice = "reword its title, points or notes (avoid what the filter objects to), then save the outline"
        } else if has("finishReason SAFETY", "finishReason PROHIBITED_CONTENT", "finishReason BLOCKLIST", "finishReason SPII") {
            explanation = "the model stopped writing this chapter: its safety filter objected to what it was writing"
            advice = "reword its points or notes so the chapter stays clear of the topic, then save the outline"
        } else if has("finishReason RECITATION") {
            explanation = "the model stopped writing this chapter because it was repeating published text word for word"
            advice = "ask for the topic in your own terms: reword its points or add notes, then save the outline"
        } else if has("finishReason") {
            explanation = "the model stopped writing this chapter before its end"
            advice = "reword its points or notes, then save the outline; a chapter cut short is never published"
        } else if has("API key", "permission_denied", "unauthenticated", "is not found", "model_not_found") {
            explanation = "the service's key or model was refused by the API"
            advice = "nothing to do on your side: the administrator has been told, and the chapter is written once they fix it"
        } else if has("daily quota", "insufficient_quota") {
            explanation = "the project's daily quota of requests is used up"
            advice = "nothing to do: coursegen writes it after the quota resets"
        } else if has("could not be stored", "disk is full") {
            explanation = "the server could not store the chapter (its disk may be full)"
            advice = "nothing to do on your side: the administrator has been told; coursegen tries again"
        } else if has("overloaded", "UNAVAILABLE", "HTTP 503", "HTTP 504", "stalled", "timeout", "in time") {
            explanation = "the API was overloaded or too slow to answer"
            advice = "nothing to do: coursegen tries again on its own"
        } else if needsAuthor {
            explanation = "the API refused to write this chapter: \(Self.firstSentence(of: error))"
            advice = "check the chapter's title, points and notes, then save the outline"
        } else {
            explanation = "the API failed while writing this chapter"
            advice = "nothing to do: coursegen tries again on its own"
        }
    }

    private static func firstSentence(of text: String) -> String {
        let cut = text.firstIndex { ".;\n".contains($0) } ?? text.endIndex
        return String(text[..<cut].prefix(200))
    }
}
