/// Words in a text that arrives in pieces: runs of non-whitespace, counted across pieces that
/// split a word ("Own" + "ership" is one word). For progress displays while a chapter streams.
struct RunningWordCount: Sendable, Hashable {
    /// Words so far.
    private(set) var words = 0
    private var endsInsideWord = false

    /// Counts the words `piece` adds.
    /// - Returns: words so far.
    @discardableResult
    mutating func add(_ piece: some StringProtocol) -> Int {
        for character in piece {
            if character.isWhitespace {
                endsInsideWord = false
            } else if !endsInsideWord {
                endsInsideWord = true
                words += 1
            }
        }
        return words
    }
}
