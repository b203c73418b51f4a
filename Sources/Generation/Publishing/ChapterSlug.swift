import Foundation

extension ChapterFile {
    /// Longest slug in characters (grapheme clusters): what ASCII titles have always been cut to.
    static let maximumSlugLength = 60

    /// Longest slug in UTF-8 bytes. Japanese and Chinese take 3 bytes a character, a Devanagari
    /// cluster 6 or more (`न्दी` is 12), so a character count alone could pass ext4's 255-byte
    /// NAME_MAX. With its number, `.md` and a `.orig-N` backup suffix, a name then stays under 140
    /// bytes. ASCII titles are not affected: 60 characters are 60 bytes.
    static let maximumSlugBytes = 120

    /// The file-name form of a chapter title (`Getting started` -> `getting-started`,
    /// `基本の型` -> `基本の型`), never empty.
    ///
    /// Each character (grapheme cluster) of the NFC title follows one of two rules:
    /// - **A letter or number of a script other than Latin** is kept as written: lowercased where
    ///   the script has case (a whole word at a time, so Greek `ΟΔΟΣ` ends in `ς`), with the
    ///   combining marks that belong to it (Devanagari vowel signs and viramas, Arabic harakat,
    ///   Hebrew points: a word without them is garbled or a different word), NFC.
    /// - **Anything else** follows the rule names had before other scripts were kept: diacritics
    ///   and width folded (`Café` -> `cafe`, `ＡＢＣ` -> `abc`), lowercased, apostrophes dropped
    ///   (`Don't` -> `dont`), and only ASCII letters and digits kept. So a Latin title keeps its
    ///   name byte for byte and no existing course is renamed. That includes Latin letters with no
    ///   ASCII folding: `ß`, `ø`, `æ`, `ł`, `œ` separate words as they always did
    ///   (`Straße` -> `stra-e`), because keeping them would rename those courses.
    ///
    /// Whatever is not kept separates words with one hyphen. Default-ignorable characters (bidi
    /// marks and embeddings, zero-width joiners and spaces, variation selectors) never reach a
    /// name: inside a kept letter's cluster they are dropped, on their own they separate words.
    /// The slug is at most `maximumSlugLength` characters and `maximumSlugBytes` UTF-8 bytes, cut
    /// before the last hyphen within them when there is one, never inside a character; it is
    /// `chapter` when nothing is left (a title of emoji or punctuation).
    ///
    /// No slug contains `/`, `.`, NUL or any other control or format character, a leading or
    /// trailing hyphen or two hyphens in a row. Titles that differ only in letter case or Unicode
    /// normalisation get the same slug. And since every name in a folder starts with its own
    /// number (`name(position:count:title:)`), two chapters whose slugs collide still get names
    /// that differ in ASCII digits, which neither case folding nor normalisation touches: no two
    /// names in a folder can clash on a case-insensitive or normalising file system.
    static func slug(_ title: String) -> String {
        var builder = SlugBuilder()
        var keptRun = ""
        var foldedRun = ""
        for character in title.precomposedStringWithCanonicalMapping {
            if SlugBuilder.keepsAsWritten(character) {
                builder.appendFolded(foldedRun)
                foldedRun = ""
                keptRun.append(character)
            } else {
                builder.appendKept(keptRun)
                keptRun = ""
                foldedRun.append(character)
            }
        }
        builder.appendFolded(foldedRun)
        builder.appendKept(keptRun)
        let slug = shortened(builder.slug.precomposedStringWithCanonicalMapping)
        return slug.isEmpty ? "chapter" : slug
    }

    /// `slug` cut to the limits: before the last hyphen within them when there is one (a word is
    /// dropped rather than split), otherwise before the first character that does not fit.
    static func shortened(_ slug: String) -> String {
        var characters = 0
        var bytes = 0
        var lastHyphen: String.Index?
        for index in slug.indices {
            let character = slug[index]
            characters += 1
            bytes += character.utf8.count
            if characters > maximumSlugLength || bytes > maximumSlugBytes {
                if character == "-" { return String(slug[..<index]) }
                return String(slug[..<(lastHyphen ?? index)])
            }
            if character == "-" { lastHyphen = index }
        }
        return slug
    }
}

/// A slug as it grows: words joined by single hyphens, no hyphen first or last.
private struct SlugBuilder {
    private(set) var slug = ""
    private var pendingHyphen = false

    /// Locale-independent case mapping (no Turkish dotless i). Foundation's lowercasing, unlike
    /// `String.lowercased()`, maps a word-final Greek sigma to `ς`.
    static let locale = Locale(identifier: "en_US_POSIX")

    /// Unicode blocks whose letters and numbers follow the ASCII rule: the Latin script's blocks,
    /// and those of the "common" letters and numbers found in Latin titles (super- and
    /// subscripts, letterlike symbols, number forms, circled and mathematical letters, fullwidth
    /// ASCII). Blocks stand in for the Unicode Script property, which Swift does not expose; the
    /// other blocks hold other scripts, whose letters are kept.
    static let foldedBlocks: [ClosedRange<UInt32>] = [
        0x0000...0x036F,  // Basic Latin to Latin Extended-B, IPA, spacing modifiers, combining diacritics
        0x1D00...0x1EFF,  // phonetic extensions, combining diacritics supplement, Latin Extended Additional
        0x2000...0x2BFF,  // punctuation, super/subscripts, letterlike, number forms, enclosed alphanumerics
        0x2C60...0x2C7F,  // Latin Extended-C
        0xA720...0xA7FF,  // Latin Extended-D
        0xAB30...0xAB6F,  // Latin Extended-E
        0xFB00...0xFB06,  // Latin ligatures (ﬁ)
        0xFF00...0xFF60,  // fullwidth ASCII
        0x10780...0x107BF,  // Latin Extended-F
        0x1D400...0x1D7FF,  // mathematical alphanumerics
        0x1DF00...0x1DFFF,  // Latin Extended-G
        0x1F100...0x1F1FF,  // enclosed alphanumeric supplement
    ]

    /// True for a letter or number (with its marks) of a script other than Latin: the first letter
    /// or number in the cluster is outside `foldedBlocks`.
    static func keepsAsWritten(_ character: Character) -> Bool {
        guard let base = character.unicodeScalars.first(where: isLetterOrNumber) else { return false }
        return !foldedBlocks.contains { $0.contains(base.value) }
    }

    static func isLetterOrNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Combining marks that are part of a letter: nonspacing (Mn: viramas, harakat, points) and
    /// spacing (Mc: Devanagari vowel signs). Enclosing marks (Me) only draw around a character.
    static func isLetterMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark: return true
        default: return false
        }
    }

    /// Appends characters by the ASCII rule, exactly as names were made before other scripts were
    /// kept: for a Latin title this is the whole of the old rule.
    mutating func appendFolded(_ run: String) {
        guard !run.isEmpty else { return }
        let folded = run.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: Self.locale)
            .lowercased()
        for scalar in folded.unicodeScalars {
            if scalar == "'" || scalar == "\u{2019}" { continue }  // "don't" -> "dont"
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                startWord()
                slug.unicodeScalars.append(scalar)
            } else {
                pendingHyphen = true
            }
        }
    }

    /// Appends letters and numbers kept as written, lowercased together (case mapping needs the
    /// neighbours), keeping only letters, numbers and the marks that follow them.
    mutating func appendKept(_ run: String) {
        var word = String.UnicodeScalarView()
        for scalar in run.lowercased(with: Self.locale).unicodeScalars
        where !scalar.properties.isDefaultIgnorableCodePoint {
            if Self.isLetterOrNumber(scalar) || (!word.isEmpty && Self.isLetterMark(scalar)) {
                word.append(scalar)
            }
        }
        guard !word.isEmpty else { return }
        startWord()
        slug.unicodeScalars.append(contentsOf: word)
    }

    private mutating func startWord() {
        if pendingHyphen && !slug.isEmpty { slug.append("-") }
        pendingHyphen = false
    }
}
