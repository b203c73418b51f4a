/// mdBook's own directives in what the model wrote, escaped so that `mdbook build` shows them as
/// text and reads no file.
///
/// mdBook's default `links` preprocessor runs on a chapter's raw text before Markdown is parsed,
/// so it acts inside code spans and code blocks too. It replaces `{{#include PATH}}`,
/// `{{#rustdoc_include PATH}}` and `{{#playground PATH}}` (`#playpen`, its old name), with line
/// ranges or an anchor after a colon, by the file at PATH, resolved on the machine that builds the
/// book with no limit to the book's folder (`/etc/passwd`, `../../state/...`); and it removes
/// `{{#title TEXT}}`, making TEXT the page's title. Its grammar (mdBook 0.4 and 0.5, `links.rs`)
/// is one regular expression run over the whole chapter:
///
///     \\\{\{\#.*\}\}                            an escaped directive
///     \{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}    a directive
///
/// matched leftmost first, each search starting where the last match ended. `\s` is Unicode
/// white space, line breaks included, and `[^}]` is anything but `}`: a directive may span lines
/// and paragraphs. `.` is anything but a line feed and `.*` is greedy: an escaped directive runs
/// to the last `}}` of its line, and mdBook shows it as written, less its leading backslash.
///
/// `escape(_:)` finds every directive that grammar matches in the text, whatever its name (mdBook
/// shows names it does not know as written; a later mdBook may know more), and:
/// - a directive written `{{#` and closed on the same line gets a backslash before it, mdBook's
///   own escape: the page shows exactly what the model wrote, in prose, code spans and code
///   blocks alike;
/// - one that escape cannot reach (space between `{{` and `#`, as in `{{ #include x}}`, or a
///   directive spanning lines) gets a backslash between its braces, `{\{`: prose shows `{{`
///   (Markdown drops the backslash), code shows `{\{`.
/// Text mdBook already reads as escaped, and text with no directive, are left as they are. The
/// result holds no directive mdBook expands.
enum MdBookDirectives {
    /// The directives mdBook 0.4 and 0.5 act on; only these are counted in `Result.escaped` (a
    /// chapter about Handlebars writes `{{#each items}}`, escaped too but never acted on).
    static let actedOn: Set<String> = ["include", "rustdoc_include", "playground", "playpen", "title"]

    /// The escaped text, and the directives mdBook would have acted on in the text as written,
    /// by name: what the escaping stopped.
    struct Result: Sendable, Equatable {
        var text: String
        var escaped: [String: Int]
    }

    /// `text` with every mdBook directive escaped (see the type's documentation).
    static func escape(_ text: String) -> Result {
        guard text.contains("{{") else { return Result(text: text, escaped: [:]) }
        let scanner = Scanner(Array(text.unicodeScalars))
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scanner.text.count + 64)
        var index = 0
        var line = 0
        while index < scanner.text.count {
            let scalar = scanner.text[index]
            if scalar == "\\", let end = scanner.escapedEnd(braces: index + 1, line: line) {
                // Already escaped: mdBook shows it less this backslash.
                output += scanner.text[index..<end]
                index = end
            } else if scalar == "{", scanner.directive(at: index) != nil {
                if let end = scanner.escapedEnd(braces: index, line: line) {
                    output.append("\\")
                    output += scanner.text[index..<end]
                    index = end
                } else {
                    output += ["{", "\\", "{"]
                    index += 2
                }
            } else {
                if scalar == "\n" { line += 1 }
                output.append(scalar)
                index += 1
            }
        }
        var result = ""
        result.unicodeScalars.append(contentsOf: output)
        return Result(text: result, escaped: scanner.expanded())
    }

    /// The text with what matching reads in constant time: where the next `}` is, and where
    /// each line's last `}}` starts. Linear in the text, whatever it holds.
    private struct Scanner {
        let text: [Unicode.Scalar]
        /// Per position, the first `}` at or after it (`text.count` when none).
        private let nextBrace: [Int]
        /// Per line, where its last `}}` starts (-1 when it has none).
        private let lastClose: [Int]

        init(_ text: [Unicode.Scalar]) {
            self.text = text
            var nextBrace = [Int](repeating: text.count, count: text.count + 1)
            for position in text.indices.reversed() {
                nextBrace[position] = text[position] == "}" ? position : nextBrace[position + 1]
            }
            var lastClose = [-1]
            for position in text.indices {
                if text[position] == "\n" {
                    lastClose.append(-1)
                } else if text[position] == "}", position + 1 < text.count, text[position + 1] == "}" {
                    lastClose[lastClose.count - 1] = position
                }
            }
            self.nextBrace = nextBrace
            self.lastClose = lastClose
        }

        /// Where mdBook's escaped-directive match ends when a backslash stands before the `{{#` at
        /// `braces`, on line number `line`: after the line's last `}}`. Nil when that is no match.
        func escapedEnd(braces: Int, line: Int) -> Int? {
            guard braces + 2 < text.count, text[braces] == "{", text[braces + 1] == "{", text[braces + 2] == "#",
                lastClose[line] >= braces + 3
            else { return nil }
            return lastClose[line] + 2
        }

        /// The directives mdBook would act on in the text as it is, by name: its matches, in its
        /// order, those it knows counted.
        func expanded() -> [String: Int] {
            var found: [String: Int] = [:]
            var index = 0
            var line = 0
            while index < text.count {
                if text[index] == "\\", let end = escapedEnd(braces: index + 1, line: line) {
                    index = end
                } else if text[index] == "{", let directive = directive(at: index) {
                    if MdBookDirectives.actedOn.contains(directive.name) { found[directive.name, default: 0] += 1 }
                    line += text[index..<directive.end].count { $0 == "\n" }
                    index = directive.end
                } else {
                    if text[index] == "\n" { line += 1 }
                    index += 1
                }
            }
            return found
        }

        /// The directive mdBook matches at `start` (its name, and where it ends), nil when it
        /// matches none there.
        func directive(at start: Int) -> (name: String, end: Int)? {
            guard start + 1 < text.count, text[start] == "{", text[start + 1] == "{" else { return nil }
            var position = start + 2
            while position < text.count, text[position].properties.isWhitespace { position += 1 }
            guard position < text.count, text[position] == "#" else { return nil }
            position += 1
            let nameStart = position
            while position < text.count, Self.isNameScalar(text[position]) { position += 1 }
            // At least one name character, then white space and one more character before the
            // first `}`, which a second `}` must follow.
            guard position > nameStart, position < text.count, text[position].properties.isWhitespace else {
                return nil
            }
            let brace = nextBrace[position]
            guard brace >= position + 2, brace + 1 < text.count, text[brace + 1] == "}" else { return nil }
            var name = ""
            name.unicodeScalars.append(contentsOf: text[nameStart..<position])
            return (name, brace + 2)
        }

        /// `[a-zA-Z0-9_]`.
        private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_"
        }
    }
}
