/// Guessing which known word a misspelt one was meant to be, for "did you mean" hints.
///
/// The rule is the one the outline parsers use (`OutlineText.suggestion` in Generation), so a
/// later change can keep one copy of it for the whole product.
enum Spelling {
    /// The word in `known` that `typed` was most likely meant to be, if one is close enough:
    /// within two edits (a swap of neighbours counts as one) and fewer than half the candidate's
    /// length, ignoring the case of `typed`, or `typed` is a prefix of at least three letters
    /// ("desc" for "description"). Ties go to the earlier candidate.
    static func suggestion(for typed: String, among known: [String]) -> String? {
        let letters = Array(typed.lowercased())
        var best: (word: String, distance: Int)? = nil
        for candidate in known {
            let target = Array(candidate)
            let distance = editDistance(letters, target)
            let closeEnough = distance <= 2 && distance * 2 < max(target.count, 2)
            let isPrefix = letters.count >= 3 && target.starts(with: letters)
            guard closeEnough || isPrefix else { continue }
            let score = isPrefix ? min(distance, 1) : distance
            if let current = best, current.distance <= score { continue }
            best = (candidate, score)
        }
        return best?.word
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    /// neighbouring characters each cost one.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
