import Foundation

/// How a chapter looks on disk: its file name and its text. The publisher renders the number and
/// the `# title` heading, not the model, so a reorder needs no new text.
enum ChapterFile {
    /// `NN-slug.md` for the chapter at 1-based `position` of `count`: at least two digits, more
    /// when there are more chapters (`001-...` past 99).
    static func name(position: Int, count: Int, title: String) -> String {
        let width = max(2, String(count).count)
        let number = String(position)
        return String(repeating: "0", count: max(width - number.count, 0)) + number + "-" + slug(title) + ".md"
    }

    /// A file-name-safe form of a title: lowercase ASCII letters, digits and single hyphens, at
    /// most 60 characters, never empty, never `.`, `..` or anything with `/` or control characters.
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

    /// True for names the publisher owns in an outline's folder: `^[0-9]+-.*\.md$`.
    static func isChapterFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".md"), let hyphen = name.firstIndex(of: "-"), hyphen > name.startIndex else {
            return false
        }
        return name[..<hyphen].allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The file's text: `# title`, a blank line, the body. A leading `#` heading the model wrote
    /// anyway is dropped (the title is already there); the body keeps everything else.
    static func render(title: String, body: String) -> [UInt8] {
        var lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        if let first = lines.first, first.hasPrefix("# ") || first == "#" {
            lines.removeFirst()
            while let next = lines.first, next.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        let text = "# \(title)\n\n" + lines.joined(separator: "\n") + "\n"
        return Array(text.utf8)
    }

    /// mdBook's `SUMMARY.md` for chapters (title, file name) in order.
    static func summary(_ chapters: [(title: String, file: String)]) -> [UInt8] {
        var text = "# Summary\n\n"
        for chapter in chapters {
            let title = chapter.title
                .replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "[", with: "\\[")
                .replacingOccurrences(of: "]", with: "\\]")
            text += "- [\(title)](\(chapter.file))\n"
        }
        return Array(text.utf8)
    }

    /// A minimal `book.toml` so `mdbook build` works on the folder as it is.
    static func bookConfiguration(title: String) -> [UInt8] {
        var escaped = ""
        for scalar in title.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                escaped += String(format: "\\u%04X", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        let text = """
            # Written once by coursegen so `mdbook build` works here; yours to edit (never overwritten).
            [book]
            title = "\(escaped)"
            src = "."

            """
        return Array(text.utf8)
    }
}

extension Outline {
    /// The file each chapter is published as, in order (`01-getting-started.md`, ...).
    public var chapterFileNames: [String] {
        chapters.enumerated().map { index, chapter in
            ChapterFile.name(position: index + 1, count: chapters.count, title: chapter.title)
        }
    }
}
