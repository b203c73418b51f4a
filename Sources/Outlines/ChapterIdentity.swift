import Foundation

/// Which chapter a title names across edits of its outline.
///
/// Two chapters with equal identities are the same chapter: its earlier version, its published
/// file and any hand edit follow it when the outline moves or renumbers it. Two chapters of one
/// outline may not share an identity (`ChapterListCheck` refuses it), so within an outline the
/// identity picks out exactly one chapter.
///
/// The identity is the title with spacing and case set aside, in this order:
/// 1. Unicode NFC, so a decomposed accent is the same as a precomposed one;
/// 2. whitespace at either end removed, and every run of whitespace inside (anything Unicode
///    calls White_Space: tabs, no-break spaces, line separators) made one space;
/// 3. full Unicode case folding, the mapping Unicode defines for caseless matching, without a
///    locale; then NFC again, since folding can decompose ("İ" folds to "i" and a dot above).
///
/// Folding rather than `lowercased()`: lowercasing leaves "Straße" and "STRASSE", "ΟΔΟΣ" and
/// "οδος", "ﬁle" and "FILE" apart, although readers see the same word; folding matches them.
/// No locale, so that one title gives one identity on every machine (a Turkish locale would
/// change what "I" matches).
public struct ChapterIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The title after the three steps above. Compare identities with each other, never this
    /// text with a title.
    public let folded: String

    public init(title: some StringProtocol) {
        let spaced = OutlineText.collapsingWhitespace(String(title).precomposedStringWithCanonicalMapping)
        folded = spaced.folding(options: [.caseInsensitive], locale: nil).precomposedStringWithCanonicalMapping
    }

    public var description: String { folded }
}

extension Outline.Chapter {
    /// Which chapter this is across edits of the outline: its title with spacing and case set
    /// aside (see `ChapterIdentity`).
    public var identity: ChapterIdentity { ChapterIdentity(title: title) }
}
