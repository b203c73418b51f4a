import Foundation

/// How a chapter is recognised across edits of its outline: by its title, ignoring case and
/// whitespace around and between words. Renumbering, moving or re-spacing a chapter keeps its
/// identity (its previous version and any hand edit follow it); retitling it makes it another
/// chapter. The parsers refuse two chapters of one outline with the same identity.
public struct ChapterIdentity: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ title: String) {
        let words = title.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        value = words.folding(options: [.caseInsensitive], locale: nil).precomposedStringWithCanonicalMapping
    }

    public var description: String { value }
}
