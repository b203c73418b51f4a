import Foundation
import Testing

@testable import Generation
@testable import Outlines

/// UTF-8 bytes, for comparisons that must not pass by canonical equivalence: Swift's `==` on
/// strings holds for `é` and `e` + U+0301 alike, a file system does not.
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func nfc(_ text: String) -> String { text.precomposedStringWithCanonicalMapping }

@Suite("Chapter files")
struct ChapterFileTests {
    @Test(
        "Latin titles keep, byte for byte, the names the ASCII-only rule gave them",
        arguments: [
            // Computed with the slug function as it was before other scripts were kept.
            ("Getting started", "getting-started"),
            ("Ownership and borrowing", "ownership-and-borrowing"),
            ("Structs, enums and pattern matching", "structs-enums-and-pattern-matching"),
            ("Cross-contamination and allergens", "cross-contamination-and-allergens"),
            ("Don't panic!", "dont-panic"),
            ("Don\u{2019}t panic", "dont-panic"),
            ("L'été à Paris", "lete-a-paris"),
            ("Café crème à la française", "cafe-creme-a-la-francaise"),
            ("Tiếng Việt cơ bản", "tieng-viet-co-ban"),
            ("Año 2000: ¿qué pasó?", "ano-2000-que-paso"),
            ("ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ", "abc-full-width"),
            ("İstanbul", "istanbul"),
            ("E = mc²", "e-mc"),
            ("C# & F# (.NET)", "c-f-net"),
            // Latin letters with no ASCII folding separate words, as they always did.
            ("Straße und Verkehr", "stra-e-und-verkehr"),
            ("Łódź", "odz"),
            (
                "A very long chapter title that goes on and on about many different subjects in detail",
                "a-very-long-chapter-title-that-goes-on-and-on-about-many"
            ),
            (
                "Supercalifragilisticexpialidocious-and-pneumonoultramicroscopicsilicovolcanoconiosis words",
                "supercalifragilisticexpialidocious-and"
            ),
            (String(repeating: "x", count: 70), String(repeating: "x", count: 60)),
            (String(repeating: "long ", count: 40), String(repeating: "long-", count: 12).dropLast().description),
            ("../../etc/passwd", "etc-passwd"),
            ("Tab\there\u{0007}bell", "tab-here-bell"),
        ]
    )
    func latinNames(title: String, slug: String) {
        #expect(bytes(ChapterFile.slug(title)) == bytes(slug))
    }

    @Test("any title in Latin and common characters gets exactly the old rule's slug, cut included")
    func latinTitlesMatchTheOldRule() {
        let pieces = [
            "a", "b", "e", "z", "Q", "X", "0", "7", " ", " ", " ", "-", ",", ".", "'", "\u{2019}", "é", "È", "ñ",
            "ü", "Å", "ç", "ß", "ø", "æ", "ł", "œ", "Ａ", "１", "²", "½", "Ⅻ", "ﬁ", "İ", "\u{301}", "\t", "\u{200B}",
            "🚀", "1\u{FE0F}\u{20E3}", "word", "longerword", "Ünïcödé",
        ]
        var random = SplitMix64(seed: 14)
        for _ in 0..<2000 {
            let title = (0..<Int.random(in: 0...90, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            #expect(bytes(ChapterFile.slug(title)) == bytes(OldSlugRule.slug(title)), "\(title.debugDescription)")
        }
    }

    @Test(
        "letters and numbers of other scripts are kept: lowercased, NFC, with their marks",
        arguments: [
            // Japanese
            ("はじめに", "はじめに"),
            ("基本の型", "基本の型"),
            ("エラー処理：Result と ?", "エラー処理-result-と"),
            // Chinese
            ("第一章：变量与类型", "第一章-变量与类型"),
            ("資料結構與演算法", "資料結構與演算法"),
            // Russian: й and ё keep their marks (the old rule's folding made them и and е)
            ("Введение в программирование", "введение-в-программирование"),
            ("Ёмкость и Йогурт", "ёмкость-и-йогурт"),
            // Greek: lowercased a word at a time, so a final sigma is ς
            ("Εισαγωγή στους Αλγορίθμους", "εισαγωγή-στους-αλγορίθμους"),
            ("Ο ΚΌΣΜΟΣ ΤΗΣ RUST", "ο-κόσμος-της-rust"),
            // Arabic, with and without harakat
            ("مقدمة في البرمجة", "مقدمة-في-البرمجة"),
            ("اللُّغَةُ العَرَبِيَّةُ", "اللُّغَةُ-العَرَبِيَّةُ"),
            // Hebrew, with and without points
            ("מבוא לתכנות", "מבוא-לתכנות"),
            ("שָׁלוֹם עוֹלָם", "שָׁלוֹם-עוֹלָם"),
            // Hindi: vowel signs, viramas and anusvara stay; the danda separates
            ("हिन्दी व्याकरण", "हिन्दी-व्याकरण"),
            ("प्रोग्रामिंग का परिचय। अभ्यास", "प्रोग्रामिंग-का-परिचय-अभ्यास"),
            ("अध्याय १२", "अध्याय-१२"),
            // Korean, Thai
            ("변수와 타입", "변수와-타입"),
            ("การเขียนโปรแกรม", "การเขียนโปรแกรม"),
            // Latin with accents, in a title of its own or among other scripts
            ("Café crème brûlée", "cafe-creme-brulee"),
            ("Café と Rust", "cafe-と-rust"),
            // Mixed scripts and digits
            ("Rust の基本", "rust-の基本"),
            ("Rust入門", "rust入門"),
            ("第3章", "第3章"),
            ("Введение в Rust 2024", "введение-в-rust-2024"),
            ("Python и ΑΙ", "python-и-αι"),
            ("الفصل ٣", "الفصل-٣"),
            // Nothing to keep
            ("🚀", "chapter"),
            ("🎉 🦀 ✨", "chapter"),
            ("👩\u{200D}💻", "chapter"),
            ("!!! ???", "chapter"),
            (".", "chapter"),
            ("..", "chapter"),
            (".hidden", "hidden"),
        ]
    )
    func otherScripts(title: String, slug: String) {
        #expect(bytes(slug) == bytes(nfc(slug)), "the expectation itself is NFC")
        #expect(bytes(ChapterFile.slug(title)) == bytes(slug))
    }

    @Test("Hindi keeps every vowel sign and virama, and a joiner inside a conjunct is dropped, not the virama")
    func hindi() {
        #expect(
            ChapterFile.slug("हिन्दी").unicodeScalars.map(\.value) == [0x939, 0x93F, 0x928, 0x94D, 0x926, 0x940]
        )
        #expect(bytes(ChapterFile.slug("क्\u{200D}षमता")) == bytes("क्षमता"))
        #expect(bytes(ChapterFile.slug("क्\u{200C}ष")) == bytes("क्ष"))
        // U+0958 is excluded from composition: NFC spells it क + nukta, and so does the slug.
        #expect(ChapterFile.slug("\u{958}लम").unicodeScalars.map(\.value) == [0x915, 0x93C, 0x932, 0x92E])
    }

    static let invisible: [Unicode.Scalar] = [
        "\u{200E}", "\u{200F}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}",
        "\u{2068}", "\u{2069}", "\u{061C}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}",
    ]

    @Test("bidi controls and zero-width characters never reach a name", arguments: ChapterFileTests.invisible)
    func invisibleCharacters(mark: Unicode.Scalar) {
        let x = String(mark)
        let atWordEdges = ChapterFile.slug("\(x)مقدمة\(x) في\(x) \(x)البرمجة\(x)")
        #expect(bytes(atWordEdges) == bytes("مقدمة-في-البرمجة"))
        #expect(bytes(ChapterFile.slug("\(x)Hello \(x)world\(x)")) == bytes("hello-world"))
        for title in ["مقد\(x)مة", "שָׁל\(x)וֹם", "हि\(x)न्दी", "はじ\(x)めに", "Ка\(x)ша"] {
            let slug = ChapterFile.slug(title)
            #expect(!slug.unicodeScalars.contains { Self.invisible.contains($0) }, "\(title.debugDescription)")
            #expect(
                bytes(Self.removing("-", from: slug)) == bytes(nfc(Self.removing(mark, from: title.lowercased()))),
                "every letter and mark survives, in order: \(slug.debugDescription)"
            )
        }
    }

    static func removing(_ scalar: Unicode.Scalar, from text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != scalar }))
    }

    @Test(
        "titles that differ only by case or normalisation get one slug, in NFC",
        arguments: [
            ["Getting Started", "GETTING STARTED", "getting started"],
            ["Café", "Cafe\u{301}", "CAFÉ"],
            ["Введение", "ВВЕДЕНИЕ", "введение"],
            ["Κόσμος", "ΚΌΣΜΟΣ", "Κο\u{301}σμος"],
            ["データ型", "\u{30C6}\u{3099}ータ型"],
            ["한국어", "\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}\u{110B}\u{1165}"],
            ["\u{958}लम", "\u{915}\u{93C}लम"],
            ["\u{5E9}\u{5B8}\u{5C1}לום", "\u{5E9}\u{5C1}\u{5B8}לום"],
        ]
    )
    func caseAndNormalisation(variants: [String]) {
        let slugs = variants.map { bytes(ChapterFile.slug($0)) }
        #expect(Set(slugs).count == 1, "\(variants.map { ChapterFile.slug($0).debugDescription })")
        #expect(slugs[0] == bytes(nfc(ChapterFile.slug(variants[0]))))
    }

    @Test("chapters whose slugs collide still get distinct names, even to a case-insensitive, normalising file system")
    func collisions() {
        let outline = Outline(
            title: "Collisions",
            chapters: ["Café", "Cafe!", "CAFÉ?", "練習!", "練習?", "🚀", "🎉"].map { Outline.Chapter(title: $0) }
        )
        let names = outline.chapterFileNames
        #expect(
            names == [
                "01-cafe.md", "02-cafe.md", "03-cafe.md", "04-練習.md", "05-練習.md", "06-chapter.md", "07-chapter.md",
            ]
        )
        // What a case-insensitive file system that also ignores normalisation (APFS, ext4 casefold)
        // compares: every name still differs from every other.
        let folded = names.map {
            bytes($0.decomposedStringWithCanonicalMapping.folding(options: .caseInsensitive, locale: nil))
        }
        #expect(Set(folded).count == names.count)
    }

    @Test(
        "long titles are cut to 60 characters and 120 bytes at a word end, never inside a character",
        arguments: [
            // 300 characters each
            (String(repeating: "long ", count: 60), String(repeating: "long-", count: 12).dropLast().description),
            (String(repeating: "x", count: 300), String(repeating: "x", count: 60)),
            // 3-byte characters: 40 of them make 120 bytes
            (String(repeating: "あ", count: 300), String(repeating: "あ", count: 40)),
            (String(repeating: "基本の型 ", count: 60), Array(repeating: "基本の型", count: 9).joined(separator: "-")),
            // 2-byte characters: the two limits meet
            (String(repeating: "слово ", count: 50), Array(repeating: "слово", count: 10).joined(separator: "-")),
            // Devanagari clusters of 6 and 12 bytes (हि, न्दी): 114 bytes fit, the next cluster does not
            (String(repeating: "हिन्दी", count: 50), String(repeating: "हिन्दी", count: 6) + "हि"),
            // One character of 602 bytes cannot fit at all
            ("й" + String(repeating: "\u{301}", count: 300), "chapter"),
            ("Привет й" + String(repeating: "\u{301}", count: 300), "привет"),
        ]
    )
    func longTitles(title: String, slug: String) {
        let made = ChapterFile.slug(title)
        #expect(bytes(made) == bytes(slug))
        #expect(made.count <= ChapterFile.maximumSlugLength && made.utf8.count <= ChapterFile.maximumSlugBytes)
    }

    @Test("no slug, whatever the title, holds a path, a control, a format character or a stray hyphen")
    func safety() {
        let pieces = [
            "a", "Z", "é", "ß", "1", "٣", " ", "\t", "\n", "\r", "\u{0}", "\u{7}", "\u{7F}", "/", "\\", ".", "..", "-",
            "_", "'", "\u{2019}", "\u{200F}", "\u{202E}", "\u{2066}", "\u{200D}", "\u{FE0F}", "\u{301}", "\u{94D}",
            "हि", "न्दी", "の", "基", "Я", "ς", "Σ", "ό", "🚀", "👩\u{200D}💻", "\u{1F1EF}\u{1F1F5}", "\u{600}", "\u{3164}",
            "%", "(", ")", "<", ">", "&", "[", "]", "#", "ｶﾞ", "ー", "\u{E000}", "\u{2028}", "\u{A0}", "\u{3000}",
        ]
        var random = SplitMix64(seed: 2024)
        for _ in 0..<3000 {
            let title = (0..<Int.random(in: 0...120, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            let slug = ChapterFile.slug(title)
            let context = "\(title.debugDescription) -> \(slug.debugDescription)"
            #expect(!slug.isEmpty && !slug.hasPrefix("-") && !slug.hasSuffix("-") && !slug.contains("--"), "\(context)")
            #expect(slug.unicodeScalars.allSatisfy(Self.allowedInSlug), "\(context)")
            #expect(slug.count <= 60 && slug.utf8.count <= 120, "\(context)")
            #expect(bytes(slug) == bytes(nfc(slug)), "NFC: \(context)")
            #expect(bytes(ChapterFile.slug(title.decomposedStringWithCanonicalMapping)) == bytes(slug), "\(context)")
            #expect(ChapterFile.isChapterFileName(ChapterFile.name(position: 1, count: 1, title: title)))
        }
    }

    /// ASCII lowercase letters, digits and hyphens, or another script's letters, numbers and
    /// combining marks: never `/`, `.`, a control, format, space or private-use character.
    static func allowedInSlug(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
        }
        guard !scalar.properties.isDefaultIgnorableCodePoint else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
            .letterNumber, .otherNumber, .nonspacingMark, .spacingMark:
            return true
        default:
            return false
        }
    }

    @Test("numbers have at least two digits, three past 99 chapters")
    func numbering() {
        #expect(ChapterFile.name(position: 1, count: 7, title: "A") == "01-a.md")
        #expect(ChapterFile.name(position: 12, count: 12, title: "B") == "12-b.md")
        #expect(ChapterFile.name(position: 7, count: 120, title: "C") == "007-c.md")
        #expect(ChapterFile.name(position: 120, count: 120, title: "D") == "120-d.md")
        #expect(bytes(ChapterFile.name(position: 2, count: 3, title: "基本の型")) == bytes("02-基本の型.md"))
    }

    @Test(
        "only NN-name.md files are the publisher's",
        arguments: [
            ("01-a.md", true), ("123-x-y.md", true), ("01-はじめに.md", true), ("SUMMARY.md", false),
            ("01-a.md.orig", false), ("a-01.md", false), ("-a.md", false), ("01a.md", false), ("book.toml", false),
            ("٠١-a.md", false),
        ]
    )
    func managedNames(name: String, managed: Bool) {
        #expect(ChapterFile.isChapterFileName(name) == managed)
    }

    @Test("rendering adds the title heading and drops a duplicate the model wrote")
    func rendering() {
        #expect(
            String(
                decoding: ChapterFile.render(title: "Ownership", body: "\n# Ownership\n\nBody text.\n\n"),
                as: UTF8.self
            ) == "# Ownership\n\nBody text.\n"
        )
        #expect(
            String(decoding: ChapterFile.render(title: "X", body: "## Part\nText"), as: UTF8.self)
                == "# X\n\n## Part\nText\n"
        )
    }

    @Test("SUMMARY.md is mdBook's format with brackets escaped, names of today written as before")
    func summary() {
        let text = String(
            decoding: ChapterFile.summary([("Intro [draft]", "01-intro-draft.md"), ("Next", "02-next.md")]),
            as: UTF8.self
        )
        #expect(text == "# Summary\n\n- [Intro \\[draft\\]](01-intro-draft.md)\n- [Next](02-next.md)\n")
    }

    @Test(
        "a SUMMARY.md link reads back, by mdBook's rules, as the exact file name and title",
        arguments: [
            ("はじめに", "01-はじめに.md", "01-はじめに.md"),
            ("हिन्दी व्याकरण", "02-हिन्दी-व्याकरण.md", "02-हिन्दी-व्याकरण.md"),
            ("مقدمة", "03-مقدمة.md", "03-مقدمة.md"),
            ("Getting started", "04-getting-started.md", "04-getting-started.md"),
            ("a \\ b [c]", "a b.md", "<a b.md>"),
            ("Parens", "a(b).md", "<a(b).md>"),
            ("Unbalanced", "a)b.md", "<a)b.md>"),
            ("Entity", "x&amp;y.md", "<x\\&amp;y.md>"),
            ("Backslash", "a\\b.md", "<a\\\\b.md>"),
            ("Angles", "a<b>.md", "<a\\<b\\>.md>"),
        ]
    )
    func summaryLinks(title: String, file: String, destination: String) throws {
        #expect(ChapterFile.linkDestination(file) == destination)
        let text = String(decoding: ChapterFile.summary([(title, file)]), as: UTF8.self)
        let line = try #require(text.split(separator: "\n").last.map(String.init))
        let link = try #require(MdBookSummaryLink(line: line), "\(line)")
        #expect(bytes(link.location) == bytes(file))
        #expect(link.name == title)
        #expect(!line.contains("%"), "mdBook does not percent-decode: names are written as they are")
    }

    @Test(
        "the folder name is the file name without its extension",
        arguments: [
            ("practical-rust.md", "practical-rust"), ("course.v2.yaml", "course.v2"), ("course.v2.md", "course.v2"),
            ("course.JSON", "course"), (".hidden.md", nil), (".md", nil), ("a\u{1}b.md", nil), ("notes.txt", nil),
        ] as [(String, String?)]
    )
    func folderNames(file: String, folder: String?) {
        #expect(Outline.folderName(forFile: file) == folder)
    }
}

/// What mdBook makes of one `- [name](destination)` line of SUMMARY.md, following its source
/// (mdbook-summary `parse_link` on pulldown-cmark's `scan_link_dest` and `unescape`):
/// - the destination is either `<...>` (no line break, no unescaped `<`; ends at the first
///   unescaped `>`) or bare (ends at a byte up to 0x20 or an unbalanced `)`);
/// - in both, a backslash before ASCII punctuation escapes it and `&...;` entities are decoded
///   (a line that relies on an entity is refused here rather than decoded);
/// - mdBook then replaces `%20` by a space and takes the rest as a path: nothing else is decoded.
/// The name is the link text with backslash escapes resolved (mdBook keeps the text events).
struct MdBookSummaryLink {
    var name: String
    var location: String

    init?(line: String) {
        var rest = Substring(line)
        guard rest.hasPrefix("- [") else { return nil }
        rest = rest.dropFirst(3)
        var name = ""
        while let character = rest.first, character != "]" {
            rest = rest.dropFirst()
            if character == "\\", let next = rest.first, Self.isASCIIPunctuation(next) {
                name.append(next)
                rest = rest.dropFirst()
            } else {
                name.append(character)
            }
        }
        guard rest.hasPrefix("](") else { return nil }
        rest = rest.dropFirst(2)
        var raw = ""
        if rest.first == "<" {
            rest = rest.dropFirst()
            while let character = rest.first, character != ">" {
                guard character != "\n", character != "\r", character != "<" else { return nil }
                raw.append(character)
                rest = rest.dropFirst()
                if character == "\\", let next = rest.first, Self.isASCIIPunctuation(next) {
                    raw.append(next)
                    rest = rest.dropFirst()
                }
            }
            guard rest.hasPrefix(">") else { return nil }
            rest = rest.dropFirst()
        } else {
            var depth = 0
            while let character = rest.first {
                if let ascii = character.asciiValue, ascii <= 0x20 { break }
                if character == "(" { depth += 1 }
                if character == ")" {
                    if depth == 0 { break }
                    depth -= 1
                }
                raw.append(character)
                rest = rest.dropFirst()
                if character == "\\", let next = rest.first, Self.isASCIIPunctuation(next) {
                    raw.append(next)
                    rest = rest.dropFirst()
                }
            }
            guard depth == 0 else { return nil }
        }
        guard rest == ")" else { return nil }
        guard let unescaped = Self.unescape(raw) else { return nil }
        self.name = name
        location = unescaped.replacingOccurrences(of: "%20", with: " ")
    }

    static func isASCIIPunctuation(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return (0x21...0x2F).contains(ascii) || (0x3A...0x40).contains(ascii) || (0x5B...0x60).contains(ascii)
            || (0x7B...0x7E).contains(ascii)
    }

    /// Backslash escapes resolved; nil where pulldown-cmark would decode an entity.
    static func unescape(_ raw: String) -> String? {
        var result = ""
        var rest = Substring(raw)
        while let character = rest.first {
            rest = rest.dropFirst()
            if character == "\\", let next = rest.first, isASCIIPunctuation(next) {
                result.append(next)
                rest = rest.dropFirst()
            } else if character == "&", let semicolon = rest.firstIndex(of: ";"), semicolon > rest.startIndex,
                rest[..<semicolon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "#") })
            {
                return nil
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// The slug rule as it was before other scripts were kept, verbatim: the reference that Latin
/// titles must still match.
private enum OldSlugRule {
    static let maximumSlugLength = 60

    static func slug(_ title: String) -> String {
        let folded =
            title
            .folding(options: [.diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            .lowercased()
        var slug = ""
        var pendingHyphen = false
        for scalar in folded.unicodeScalars {
            if scalar == "'" || scalar == "\u{2019}" { continue }  // "don't" -> "dont"
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingHyphen && !slug.isEmpty { slug.append("-") }
                pendingHyphen = false
                slug.unicodeScalars.append(scalar)
                if slug.utf8.count > maximumSlugLength { break }
            } else {
                pendingHyphen = true
            }
        }
        if slug.utf8.count > maximumSlugLength {
            // Cut at a word boundary when there is one.
            slug = String(slug.prefix(maximumSlugLength + 1))
            if let hyphen = slug.lastIndex(of: "-") {
                slug = String(slug[..<hyphen])
            } else {
                slug = String(slug.prefix(maximumSlugLength))
            }
        }
        return slug.isEmpty ? "chapter" : slug
    }
}

/// A seeded generator, so the random tables are the same on every run.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
