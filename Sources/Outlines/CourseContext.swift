/// How much of the rest of the course each chapter's prompt shows (`context:` in an outline, or
/// the `context` setting).
///
/// What a chapter's prompt shows is part of its key, which sets the cost of an edit:
/// - `none`: the chapter alone; an edit regenerates only the chapters it touches.
/// - `toc`: every chapter's title, in order; so chapters know what the others cover, but any
///   title change, insertion, removal or move regenerates every chapter.
/// - `neighbours`: the titles and points of the chapters just before and after; a change to
///   one chapter's title or points (or an insertion, removal, move) regenerates at most it and
///   its two neighbours. Notes stay private to their chapter.
public enum CourseContext: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case none
    case toc
    case neighbours

    /// Reads a value as written in an outline or a setting (`neighbors` too).
    public init?(word: String) {
        let word = word.lowercased()
        if word == "neighbors" {
            self = .neighbours
        } else if let value = CourseContext(rawValue: word) {
            self = value
        } else {
            return nil
        }
    }

    public var description: String { rawValue }
}
