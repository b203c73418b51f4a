/// Which known name a mistyped one was meant to be, for "did you mean ...?" hints.
///
/// One rule for every hint the product gives: the outline parsers use it for unknown keys, the
/// command line for unknown settings.
public enum Spelling {
    /// The name in `known` that `typed` was most likely meant to be, nil when none is close enough.
    ///
    /// Case is ignored on both sides. A known name is close enough when it is within two edits
    /// (`editDistance`) and the edits are fewer than half its length (so a two-letter name is
    /// not suggested for any two letters), or when `typed` has at least three characters and
    /// begins it ("desc" for "description", counted as one edit). The closest wins, then the one
    /// with fewer edits in full ("note" is "notes" rather than "notebook"), then the first in
    /// `known`. The name is returned as `known` spells it.
    public static func suggestion(for typed: String, among known: some Sequence<String>) -> String? {
        let typed = Array(typed.lowercased())
        var best: (name: String, score: Int, distance: Int)? = nil
        for candidate in known {
            let target = Array(candidate.lowercased())
            let distance = editDistance(typed, target)
            let closeEnough = distance <= 2 && distance * 2 < max(target.count, 2)
            let isPrefix = typed.count >= 3 && target.starts(with: typed)
            guard closeEnough || isPrefix else { continue }
            let score = isPrefix ? min(distance, 1) : distance
            if let current = best, (current.score, current.distance) <= (score, distance) { continue }
            best = (candidate, score, distance)
        }
        return best?.name
    }

    /// The optimal string alignment distance between `a` and `b`, compared by `Character`:
    /// inserting, deleting or substituting a character, or swapping two neighbouring ones,
    /// each costs one ("ponits" is one edit from "points"). Case counts.
    public static func editDistance(_ a: some StringProtocol, _ b: some StringProtocol) -> Int {
        editDistance(Array(a), Array(b))
    }

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
