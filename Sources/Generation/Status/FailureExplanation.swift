import Providers

/// A chapter's failure in plain words for its author: what happened, who can do something about
/// it (the author, the administrator who runs coursegen, or nobody: it passes with time) and
/// what. The status page says "the safety filter blocked its prompt; reword its title, points or
/// notes, then save" rather than `HTTP 200: ... blockReason SAFETY`. Pure: made from the error
/// as the manifest keeps it.
struct FailureExplanation: Sendable, Hashable {
    var explanation: String
    var advice: String
    var actor: CourseStatus.Actor

    /// - Parameters:
    ///   - error: the failure's message, as `GenerationFailure` describes it.
    ///   - disposition: how the scheduler classified it; nil in manifests from before it was kept.
    ///   - retryable: whether trying again later may help (from manifests that have no
    ///     disposition).
    ///   - watched: the daemon follows the course (it tries failures that may pass again on its
    ///     own); false after `coursegen generate`, which tries them at its next run.
    init(error: String, disposition: ProviderError.Disposition?, retryable: Bool?, watched: Bool) {
        let text = error.lowercased()
        func has(_ words: String...) -> Bool { words.contains { text.contains($0.lowercased()) } }
        let again = watched ? "coursegen tries again on its own" : "run `coursegen generate` again to try it"

        if has("blockReason", "content_filter") {
            actor = .author
            explanation = "the safety filter blocked the request for this chapter"
            advice = "reword its title, points or notes (avoid what the filter objects to), then save the outline"
        } else if has("finishReason SAFETY", "finishReason PROHIBITED_CONTENT", "finishReason BLOCKLIST", "finishReason SPII") {
            actor = .author
            explanation = "the model stopped writing this chapter: its safety filter objected to what it was writing"
            advice = "reword its points or notes so the chapter stays clear of the topic, then save the outline"
        } else if has("finishReason RECITATION") {
            actor = .author
            explanation = "the model stopped writing this chapter because it was repeating published text word for word"
            advice = "ask for the topic in your own terms: reword its points or add notes, then save the outline"
        } else if has("finishReason", "refused to write") {
            actor = .author
            explanation = "the model stopped writing this chapter before its end"
            advice = "reword its points or notes, then save the outline; a chapter cut short is never published"
        } else if disposition == .stopEverything
            || has("API key", "permission_denied", "unauthenticated", "is not found", "model_not_found", "base URL")
        {
            actor = .administrator
            explanation = "the API refused the key, the model or the address coursegen is set up with"
            advice =
                "nothing to do on your side: the administrator has been told, and the chapter is written once they "
                + "fix the setting"
        } else if disposition == .dailyQuotaExhausted || has("daily quota", "insufficient_quota") {
            actor = .nobody
            explanation = "the project's daily quota of requests is used up"
            advice =
                watched
                ? "nothing to do: coursegen writes it after the quota resets"
                : "run `coursegen generate` again after the quota resets (midnight Pacific time)"
        } else if has("could not be stored", "disk is full", "state folder") {
            actor = .administrator
            explanation = "the server could not store the chapter (its disk may be full)"
            advice = "nothing to do on your side: the administrator has been told; " + again + " once they fix it"
        } else if has("overloaded", "UNAVAILABLE", "HTTP 503", "HTTP 504", "stalled", "timeout", "in time", "unavailable")
        {
            actor = .nobody
            explanation = "the API was overloaded or too slow to answer"
            advice = watched ? "nothing to do: \(again)" : again + "; this usually passes"
        } else if disposition == .fatal || (disposition == nil && retryable == false) {
            // Not the chapter's content (that is above): the request as coursegen sent it.
            actor = .administrator
            explanation = "the API refused the request for this chapter: \(Self.firstSentence(of: error))"
            advice =
                "nothing to do on your side unless the chapter's notes are very long (shorten them, then save); "
                + "the administrator has been told"
        } else {
            actor = .nobody
            explanation = "the API failed while writing this chapter"
            advice = watched ? "nothing to do: \(again)" : again
        }
    }

    private static func firstSentence(of text: String) -> String {
        let cut = text.firstIndex { ".;\n".contains($0) } ?? text.endIndex
        return String(text[..<cut].prefix(200))
    }
}
