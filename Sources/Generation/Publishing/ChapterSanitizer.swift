import Foundation

/// What the model wrote, made safe to publish as an mdBook chapter. The model's answer is
/// untrusted: an outline can carry a prompt injection, and mdBook copies raw HTML in Markdown into
/// the page as it is.
///
/// Always (the chapter never changes the book's structure):
/// - a leading YAML front matter block (`---` ... `---` or `...`, holding `key:` lines) is
///   dropped, and so is a leading top-level heading (`# Title`, or `Title` over `===`): the
///   publisher writes the title;
/// - every other top-level heading outside code is demoted (`# X` becomes `## X`, a `===`
///   underline becomes `---`).
///
/// Unless HTML is allowed, outside code:
/// - the tags of elements that can run script or change the page (`script`, `iframe`, `frame`,
///   `frameset`, `object`, `embed`, `applet`, `style`, `link`, `meta`, `base`; also written
///   `< script`, in any case), every tag holding an event-handler attribute (`on...=`) and every
///   tag or autolink holding a `javascript:`, `vbscript:` or non-image `data:` URL are
///   HTML-escaped: `<script>` becomes `&lt;script&gt;`, shown as text;
/// - a Markdown link or image destination or reference definition with such a URL gets an
///   `unsafe:` prefix, which makes it a scheme no browser runs.
/// URLs are read the way a browser reads them: entities decoded, backslash escapes resolved,
/// tabs and line breaks removed, case ignored (`java&#115;cript:`, `jav<TAB>ascript:`).
///
/// Always, everywhere, code included: every mdBook directive (`{{#include PATH}}`, `{{#title X}}`,
/// ...) is escaped with a backslash, so `mdbook build` shows it as text instead of reading a file
/// of the building machine into the page (`MdBookDirectives`).
///
/// Code spans and fenced or indented code blocks otherwise stay exactly as written: mdBook shows
/// them as text, so a chapter teaching HTML keeps its examples. Where this scanner cannot be
/// sure that mdBook reads a stretch as code (a fence in a block quote, an HTML block, a list it
/// cannot follow, a code span whose paragraph it cannot delimit), it treats the stretch as text:
/// at worst an example shows `&lt;script&gt;`, never does a script run. After a fence it cannot
/// pair, nothing later counts as code.
enum ChapterSanitizer {
    /// The version of these rules, recorded in each manifest: a change of what is escaped bumps
    /// it, so chapters published under other rules are republished (from their stored answers).
    /// 1: HTML and URLs; 2: mdBook directives too; 3: directives in the chapter's title as well;
    /// 4: stray `</p>` end tags in paragraphs.
    static let version = 4

    /// The text to publish and what was neutralised in it.
    struct Result: Sendable, Equatable {
        var text: String
        var neutralised: Neutralised
    }

    /// What was made harmless, by kind. Empty when nothing was.
    struct Neutralised: Sendable, Hashable, CustomStringConvertible {
        /// Opening tags of dangerous elements, by lowercase element name.
        var elements: [String: Int] = [:]
        /// Event-handler attributes in escaped tags.
        var eventHandlers = 0
        /// Dangerous URLs, by scheme (`javascript:`).
        var urls: [String: Int] = [:]
        /// Tags escaped unexamined: longer than `InlineBlock.maximumTagLength`, or past the
        /// block's examination budget (a flood of `<`).
        var uncheckedTags = 0
        /// mdBook directives that act (`MdBookDirectives.actedOn`) escaped, by name (`include`),
        /// whether HTML is allowed or not.
        var directives: [String: Int] = [:]
        /// `</p>` end tags inside a paragraph, which make mdBook 0.5 panic ("pop too far") and
        /// so fail the whole book's build.
        var strayParagraphEnds = 0

        var isEmpty: Bool {
            elements.isEmpty && eventHandlers == 0 && urls.isEmpty && uncheckedTags == 0 && directives.isEmpty
                && strayParagraphEnds == 0
        }

        /// "a <script> element, 2 on...= attributes, a javascript: URL, an mdBook {{#include}} directive".
        var description: String {
            var parts: [String] = []
            for (name, count) in elements.sorted(by: { $0.key < $1.key }) {
                let article = "aeiou".contains(name.first ?? "x") ? "an" : "a"
                parts.append(count == 1 ? "\(article) <\(name)> element" : "\(count) <\(name)> elements")
            }
            if eventHandlers > 0 {
                parts.append(eventHandlers == 1 ? "an on...= attribute" : "\(eventHandlers) on...= attributes")
            }
            for (scheme, count) in urls.sorted(by: { $0.key < $1.key }) {
                parts.append(count == 1 ? "a \(scheme) URL" : "\(count) \(scheme) URLs")
            }
            if uncheckedTags > 0 {
                parts.append(uncheckedTags == 1 ? "a tag too long to check" : "\(uncheckedTags) tags too long to check")
            }
            for (name, count) in directives.sorted(by: { $0.key < $1.key }) {
                parts.append(
                    count == 1 ? "an mdBook {{#\(name)}} directive" : "\(count) mdBook {{#\(name)}} directives"
                )
            }
            if strayParagraphEnds > 0 {
                parts.append(strayParagraphEnds == 1 ? "a stray </p> tag" : "\(strayParagraphEnds) stray </p> tags")
            }
            return parts.joined(separator: ", ")
        }
    }

    /// Elements whose tags are escaped wherever they appear outside code.
    static let dangerousElements: Set<String> = [
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "link", "meta", "base",
    ]

    /// `body` made safe to publish (see the type's documentation); `allowHTML` keeps HTML and
    /// URLs as written, and only fixes the structure and escapes mdBook directives.
    static func sanitize(_ body: String, allowHTML: Bool) -> Result {
        var lines: [[Unicode.Scalar]] = [[]]
        for scalar in body.unicodeScalars {
            if scalar == "\n" {
                if lines[lines.count - 1].last == "\r" { lines[lines.count - 1].removeLast() }
                lines.append([])
            } else {
                lines[lines.count - 1].append(scalar)
            }
        }
        dropLeadingStructure(&lines)
        let kinds = LineClassifier.classify(lines)
        var neutralised = Neutralised()
        demoteHeadings(&lines, kinds: kinds)
        if !allowHTML {
            var index = 0
            while index < lines.count {
                guard case .text = kinds[index] else {
                    index += 1
                    continue
                }
                var end = index
                while end < lines.count, case .text = kinds[end] { end += 1 }
                let block = InlineBlock(lines: Array(lines[index..<end]), kinds: Array(kinds[index..<end]))
                for (offset, line) in block.sanitized(into: &neutralised).enumerated() { lines[index + offset] = line }
                index = end
            }
        }
        var utf8: [UInt8] = []
        for (number, line) in lines.enumerated() {
            if number > 0 { utf8.append(0x0A) }
            for scalar in line { UTF8.encode(scalar) { utf8.append($0) } }
        }
        let escaped = MdBookDirectives.escape(String(decoding: utf8, as: UTF8.self))
        neutralised.directives = escaped.escaped
        return Result(text: escaped.text, neutralised: neutralised)
    }

    // MARK: - Structure

    /// Drops leading blank lines, a front matter block and a leading top-level heading.
    private static func dropLeadingStructure(_ lines: inout [[Unicode.Scalar]]) {
        func dropBlank() { while let first = lines.first, isBlank(first) { lines.removeFirst() } }
        dropBlank()
        if let first = lines.first, trimmed(first) == "---" {
            let end = lines.indices.dropFirst().first { ["---", "..."].contains(trimmed(lines[$0])) }
            if let end, lines[1..<end].allSatisfy(isFrontMatterLine), lines[1..<end].contains(where: { !isBlank($0) }) {
                lines.removeFirst(end + 1)
                dropBlank()
            }
        }
        if let first = lines.first, first.first == "#", first.count == 1 || first[1] == " " || first[1] == "\t" {
            lines.removeFirst()
        } else if lines.count > 1, !isBlank(lines[0]), lines[0].first != " ", isSetextUnderline(lines[1], "=") {
            lines.removeFirst(2)
        }
        dropBlank()
    }

    /// A line a YAML front matter block can hold: `key: value`, an indented or list
    /// continuation, a comment, or a blank line.
    private static func isFrontMatterLine(_ line: [Unicode.Scalar]) -> Bool {
        guard let first = line.first else { return true }
        if first == " " || first == "\t" || first == "-" || first == "#" { return true }
        guard let colon = line.firstIndex(of: ":"), colon > 0 else { return false }
        return line[..<colon].allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_- ".unicodeScalars.contains($0)
        }
    }

    /// `# X` becomes `## X` and a `===` underline becomes `---`, on text lines (HTML blocks and
    /// code are left alone).
    private static func demoteHeadings(_ lines: inout [[Unicode.Scalar]], kinds: [LineKind]) {
        for index in lines.indices {
            guard case .text(let html) = kinds[index], !html else { continue }
            var position = 0
            while position < lines[index].count, position < 3, lines[index][position] == " " { position += 1 }
            while position < lines[index].count, lines[index][position] == ">" {
                position += 1
                if position < lines[index].count, lines[index][position] == " " { position += 1 }
            }
            let line = lines[index]
            if position < line.count, line[position] == "#",
                position + 1 == line.count || line[position + 1] == " " || line[position + 1] == "\t"
            {
                lines[index].insert("#", at: position)
            } else if index > 0, case .text(false) = kinds[index - 1], !isBlank(lines[index - 1]),
                isSetextUnderline(line, "=")
            {
                lines[index] = line.map { $0 == "=" ? "-" : $0 }
            }
        }
    }

    private static func isSetextUnderline(_ line: [Unicode.Scalar], _ character: Unicode.Scalar) -> Bool {
        let indent = line.prefix { $0 == " " }.count
        let rest = line.dropFirst(indent)
        let marks = rest.prefix { $0 == character }.count
        return indent <= 3 && marks > 0 && rest.dropFirst(marks).allSatisfy { $0 == " " || $0 == "\t" }
    }

    static func isBlank(_ line: [Unicode.Scalar]) -> Bool { line.allSatisfy { $0 == " " || $0 == "\t" } }

    private static func trimmed(_ line: [Unicode.Scalar]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: line)
        return text.trimmingCharacters(in: .whitespaces)
    }
}

// MARK: - Blocks

/// What mdBook makes of a line, as far as the sanitizer can tell.
enum LineKind: Sendable, Equatable {
    /// Inside a code block (fence lines included): shown as written.
    case code
    /// A blank line.
    case blank
    /// Markdown text; `html` when it may belong to an HTML block (no code spans there).
    case text(html: Bool)
}

/// Tells code lines from text lines, erring towards text: a line is code only when mdBook
/// certainly reads it as code.
struct LineClassifier {
    private var kinds: [LineKind] = []
    /// Content columns of the list items the line may be in, innermost last.
    private var lists: [Int] = []
    /// False once a line may have ended a list item without this classifier seeing how.
    private var listsCertain = true
    /// A fence that could not be paired: nothing after it is trusted as code.
    private var poisoned = false
    /// The HTML block the line is in: the text that ends it, or "" for one ending at a blank line.
    private var htmlEnd: String?
    private var fence: (character: Unicode.Scalar, count: Int, container: Int?)?

    static func classify(_ lines: [[Unicode.Scalar]]) -> [LineKind] {
        var classifier = LineClassifier()
        for line in lines { classifier.add(line) }
        return classifier.kinds
    }

    private mutating func add(_ line: [Unicode.Scalar]) {
        let indent = Self.columns(line)
        let blank = ChapterSanitizer.isBlank(line)
        let previous = kinds.last
        if let open = fence {
            if let container = open.container, !blank, indent < container {
                // The list item ended, and with it the fence: this pairing can no longer be trusted.
                fence = nil
                poisoned = true
            } else {
                if !blank, indent - (open.container ?? 0) <= 3, let mark = Self.fenceMark(line),
                    mark.character == open.character, mark.count >= open.count, mark.info.allSatisfy(\.isWhitespace)
                {
                    fence = nil
                }
                kinds.append(.code)
                return
            }
        }
        if blank {
            if htmlEnd == "" { htmlEnd = nil }
            kinds.append(.blank)
            return
        }
        if let end = htmlEnd {
            if !end.isEmpty, Self.lowercased(line).contains(end) { htmlEnd = nil }
            if Self.looksLikeFence(line) { poisoned = true }
            kinds.append(.text(html: true))
            return
        }
        // Indented code: only outside lists, after a blank line or more code.
        if !poisoned, lists.isEmpty, indent >= 4, previous == nil || previous == .blank || previous == .code {
            kinds.append(.code)
            return
        }
        let mark = Self.fenceMark(line)
        updateLists(line, indent: indent, afterBlank: previous == nil || previous == .blank, isFence: mark != nil)
        if let mark, !(mark.character == "`" && mark.info.contains("`")) {
            let container = lists.last
            let fits = container.map { indent >= $0 && indent - $0 <= 3 } ?? (indent <= 3)
            if !poisoned, fits, listsCertain {
                fence = (mark.character, mark.count, container)
                kinds.append(.code)
                return
            }
            poisoned = true
        } else if Self.looksLikeFence(line) {
            poisoned = true
        }
        if let end = Self.htmlBlockEnd(startingWith: line) {
            htmlEnd = Self.lowercased(line).contains(end) && !end.isEmpty ? nil : end
            kinds.append(.text(html: true))
            return
        }
        kinds.append(.text(html: false))
    }

    /// Keeps `lists` in step: a list marker opens an item (closing deeper ones); after a blank
    /// line, a less indented line closes the items it is outside of. Right after a text line a
    /// less indented line may be a lazy continuation, so the items are kept but no longer certain.
    /// A fence line is never a lazy continuation: it closes the items it is outside of.
    private mutating func updateLists(_ line: [Unicode.Scalar], indent: Int, afterBlank: Bool, isFence: Bool) {
        if let content = Self.listItemContent(line) {
            while let last = lists.last, last > indent { lists.removeLast() }
            lists.append(content)
        } else if let last = lists.last, indent < last {
            if afterBlank || isFence {
                while let last = lists.last, last > indent { lists.removeLast() }
            } else {
                listsCertain = false
            }
        }
        if lists.isEmpty { listsCertain = true }
    }

    /// The content column of a list item starting on `line` (`- `, `* `, `+ `, `1. `, `1) `).
    static func listItemContent(_ line: [Unicode.Scalar]) -> Int? {
        let indent = line.prefix { $0 == " " }.count
        var position = indent
        if position < line.count, "-*+".unicodeScalars.contains(line[position]) {
            position += 1
        } else {
            let digits = line.dropFirst(indent).prefix { ("0"..."9").contains($0) }.count
            guard digits > 0, digits <= 9, indent + digits < line.count,
                ".)".unicodeScalars.contains(line[indent + digits])
            else { return nil }
            position = indent + digits + 1
        }
        guard position == line.count || line[position] == " " || line[position] == "\t" else { return nil }
        let spaces = line.dropFirst(position).prefix { $0 == " " }.count
        return position + (spaces >= 1 && spaces <= 4 && position + spaces < line.count ? spaces : 1)
    }

    /// A fence line: up to 3 spaces of indent (counted by the caller), then 3 or more backticks or tildes.
    static func fenceMark(_ line: [Unicode.Scalar]) -> (character: Unicode.Scalar, count: Int, info: String)? {
        let body = line.drop { $0 == " " || $0 == "\t" }
        guard let first = body.first, first == "`" || first == "~" else { return nil }
        let count = body.prefix { $0 == first }.count
        guard count >= 3 else { return nil }
        var info = ""
        info.unicodeScalars.append(contentsOf: body.dropFirst(count))
        return (first, count, info)
    }

    /// A line that may be a fence inside a container this classifier does not follow (`> ```` , `- ~~~`).
    static func looksLikeFence(_ line: [Unicode.Scalar]) -> Bool {
        var body = line[...]
        while let first = body.first, " \t>-*+.)0123456789".unicodeScalars.contains(first) { body = body.dropFirst() }
        let marks = body.prefix { $0 == "`" }.count >= 3 || body.prefix { $0 == "~" }.count >= 3
        return marks
    }

    /// When `line` may start an HTML block: what ends it ("" for a blank line); nil otherwise.
    /// Over-detects on purpose (any indent, block quote or list marker before the `<`).
    static func htmlBlockEnd(startingWith line: [Unicode.Scalar]) -> String? {
        var body = line[...]
        while let first = body.first, " \t>-*+.)0123456789".unicodeScalars.contains(first) { body = body.dropFirst() }
        guard body.first == "<", body.count > 1 else { return nil }
        let next = body[body.index(after: body.startIndex)]
        guard next.properties.isAlphabetic || next == "/" || next == "!" || next == "?" else { return nil }
        let text = lowercased(Array(body))
        if text.hasPrefix("<!--") { return "-->" }
        if text.hasPrefix("<?") { return "?>" }
        if text.hasPrefix("<![cdata[") { return "]]>" }
        if text.hasPrefix("<!") { return ">" }
        for name in ["script", "pre", "style", "textarea"] where text.hasPrefix("<\(name)") {
            let after = text.dropFirst(name.count + 1).first
            if after == nil || after == ">" || after == " " || after == "\t" { return "</\(name)>" }
        }
        return ""
    }

    /// Leading whitespace in columns, a tab reaching the next multiple of 4.
    static func columns(_ line: [Unicode.Scalar]) -> Int {
        var column = 0
        for scalar in line {
            if scalar == " " {
                column += 1
            } else if scalar == "\t" {
                column += 4 - column % 4
            } else {
                break
            }
        }
        return column
    }

    static func lowercased(_ line: [Unicode.Scalar]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: line)
        return text.lowercased()
    }
}

// MARK: - Inline

/// Consecutive text lines (a paragraph or more, as far as the classifier can tell), sanitized
/// together: a tag or a link may span lines.
struct InlineBlock {
    let lines: [[Unicode.Scalar]]
    let kinds: [LineKind]

    private typealias Scalars = [Unicode.Scalar]

    /// The longest tag examined, in scalars (an inline image's `data:` URL fits); a longer one is
    /// escaped unexamined.
    static let maximumTagLength = 1 << 17

    /// What makes a tag dangerous.
    private struct DangerousTag {
        /// Its closing `>`, when found.
        var end: Int?
        /// A dangerous element's name, on its opening tag.
        var element: String?
        var eventHandlers = 0
        var urls: [String] = []
        var unchecked = false
    }

    /// The lines with every dangerous construct outside code spans neutralised.
    func sanitized(into neutralised: inout ChapterSanitizer.Neutralised) -> [[Unicode.Scalar]] {
        var text: Scalars = []
        var lineStarts: [Int] = []
        for line in lines {
            if !lineStarts.isEmpty { text.append("\n") }
            lineStarts.append(text.count)
            text += line
        }
        let protected = codeSpans(in: text, lineStarts: lineStarts)
        // mdBook 0.5 panics on a `</p>` inside a paragraph (not in an HTML block, where it is the
        // browser's business), failing the whole book: shown as text instead.
        let isParagraph = !kinds.contains(.text(html: true))
        // Per scalar: "&lt;" or "&gt;" in its place, "unsafe:" before it.
        var replacements = [String?](repeating: nil, count: text.count)
        var insertions = [Bool](repeating: false, count: text.count)
        // Escaped tags can nest (`<p title="<script>">`): the end of the furthest one so far.
        var escapedUntil = 0
        // Scalars tag examination may still read: linear in the block, whatever it holds.
        var budget = 8 * text.count + Self.maximumTagLength
        var index = 0
        while index < text.count {
            defer { index += 1 }
            guard !protected[index] else { continue }
            let scalar = text[index]
            if scalar == "\\", index + 1 < text.count, Self.isASCIIPunctuation(text[index + 1]) {
                index += 1
            } else if scalar == "<", isParagraph, Self.isParagraphEnd(at: index, in: text) {
                replacements[index] = "&lt;"
                neutralised.strayParagraphEnds += 1
            } else if scalar == "<", let tag = Self.dangerousTag(at: index, in: text, budget: &budget) {
                replacements[index] = "&lt;"
                if let end = tag.end, !protected[end] { replacements[end] = "&gt;" }
                escapedUntil = max(escapedUntil, tag.end ?? text.count)
                if tag.unchecked { neutralised.uncheckedTags += 1 }
                if let element = tag.element { neutralised.elements[element, default: 0] += 1 }
                neutralised.eventHandlers += tag.eventHandlers
                for scheme in tag.urls { neutralised.urls[scheme, default: 0] += 1 }
            } else if scalar == "(" || scalar == ":", index > 0, text[index - 1] == "]",
                index >= escapedUntil
            {
                // A Markdown link destination or a reference definition.
                var start = index + 1
                while start < text.count, Self.isSpace(text[start]) { start += 1 }
                if start < text.count, text[start] == "<" { start += 1 }
                if let url = Self.dangerousURL(at: start, in: text) {
                    insertions[url.start] = true
                    neutralised.urls[url.scheme, default: 0] += 1
                }
            }
        }
        var result: [Scalars] = [[]]
        for (position, scalar) in text.enumerated() {
            if insertions[position] { result[result.count - 1] += "unsafe:".unicodeScalars }
            if scalar == "\n" {
                result.append([])
            } else if let replacement = replacements[position] {
                result[result.count - 1] += replacement.unicodeScalars
            } else {
                result[result.count - 1].append(scalar)
            }
        }
        return result
    }

    /// Which scalars are inside code spans mdBook certainly sees. Spans are paired line by line;
    /// once a line leaves a backtick run unpaired (a span may then cross lines), a tag holds a
    /// backtick, or a span holds a `|` (a table cell may end there), no later span in the block
    /// is trusted. A block that may be an HTML block has no spans.
    private func codeSpans(in text: Scalars, lineStarts: [Int]) -> [Bool] {
        var protected = [Bool](repeating: false, count: text.count)
        guard !kinds.contains(.text(html: true)) else { return protected }
        for (number, start) in lineStarts.enumerated() {
            let end = number + 1 < lineStarts.count ? lineStarts[number + 1] - 1 : text.count
            var index = start
            while index < end {
                let scalar = text[index]
                if scalar == "\\", index + 1 < end, Self.isASCIIPunctuation(text[index + 1]) {
                    index += 2
                } else if scalar == "<", index + 1 < end, text[index + 1].properties.isAlphabetic {
                    // A tag comes before a code span: one holding a backtick may pair it otherwise.
                    guard let tagEnd = Self.tagEnd(from: index + 1, in: text), !text[index..<tagEnd].contains("`")
                    else { return protected }
                    index = tagEnd + 1
                } else if scalar == "`" {
                    let count = Self.run(at: index, in: text, end: end)
                    var search = index + count
                    var closer: Int?
                    while search < end {
                        if text[search] == "`" {
                            let length = Self.run(at: search, in: text, end: end)
                            if length == count {
                                closer = search
                                break
                            }
                            search += length
                        } else {
                            search += 1
                        }
                    }
                    guard let closer, !text[index..<closer].contains("|") else { return protected }
                    for position in index..<(closer + count) { protected[position] = true }
                    index = closer + count
                } else {
                    index += 1
                }
            }
        }
        return protected
    }

    private static func run(at index: Int, in text: Scalars, end: Int) -> Int {
        var length = 0
        while index + length < end, text[index + length] == "`" { length += 1 }
        return length
    }

    /// What makes the tag starting at `index` (a `<`) dangerous; nil when nothing does.
    /// Reading at most `maximumTagLength` scalars, charged to `budget`; once the budget is
    /// spent, every tag is dangerous.
    private static func dangerousTag(at index: Int, in text: Scalars, budget: inout Int) -> DangerousTag? {
        var position = index + 1
        let closing = position < text.count && text[position] == "/"
        if closing { position += 1 }
        let spaceStart = position
        while position < text.count, isSpace(text[position]) { position += 1 }
        let spaced = position > spaceStart
        let nameStart = position
        while position < text.count, text[position].isASCII,
            text[position].properties.isAlphabetic || ("0"..."9").contains(text[position]) || text[position] == "-"
        {
            position += 1
        }
        guard position > nameStart, text[nameStart].properties.isAlphabetic else { return nil }
        // No dangerous element's name is longer than 8 letters: a longer one needs no String.
        var name = ""
        if position - nameStart <= 8 {
            name.unicodeScalars.append(contentsOf: text[nameStart..<position])
            name = name.lowercased()
        }
        let isDangerousElement = ChapterSanitizer.dangerousElements.contains(name)
        if spaced {
            // `< script>` is text to a browser, but says what it means to do.
            guard isDangerousElement else { return nil }
            return DangerousTag(element: closing ? nil : name)
        }
        guard budget > 0 else { return DangerousTag(unchecked: true) }
        let limit = min(text.count, position + maximumTagLength)
        if !closing, position < text.count, "+.:".unicodeScalars.contains(text[position]) {
            // An autolink, `<javascript:...>`.
            guard let url = dangerousURL(at: index + 1, in: text) else { return nil }
            let end = text[index..<limit].firstIndex(of: ">")
            budget -= (end ?? limit) - index
            return DangerousTag(end: end, urls: [url.scheme])
        }
        let end = tagEnd(from: position, in: text, limit: limit)
        let attributes = text[position..<(end ?? limit)]
        budget -= 2 * attributes.count
        if end == nil, limit < text.count { return DangerousTag(unchecked: true) }
        var handlers = 0
        var urls: [String] = []
        if !closing {
            for offset in attributes.indices where attributes[offset] == "=" {
                var start = offset + 1
                while start < text.count, Self.isSpace(text[start]) { start += 1 }
                if start < text.count, text[start] == "\"" || text[start] == "'" { start += 1 }
                if let url = dangerousURL(at: start, in: text) { urls.append(url.scheme) }
            }
            handlers = eventHandlerCount(in: Array(attributes))
        }
        guard isDangerousElement || handlers > 0 || !urls.isEmpty else { return nil }
        return DangerousTag(
            end: end,
            element: isDangerousElement && !closing ? name : nil,
            eventHandlers: handlers,
            urls: urls
        )
    }

    /// Whether a `</p>` end tag (any case, `>` or a space after the name) starts at `index`.
    private static func isParagraphEnd(at index: Int, in text: Scalars) -> Bool {
        guard index + 3 < text.count, text[index + 1] == "/", text[index + 2] == "p" || text[index + 2] == "P"
        else { return false }
        return text[index + 3] == ">" || isSpace(text[index + 3])
    }

    /// The `>` ending a tag whose name ends before `start`, skipping quoted text; nil when none
    /// does before `limit` (the text's end unless given).
    private static func tagEnd(from start: Int, in text: Scalars, limit: Int? = nil) -> Int? {
        var quote: Unicode.Scalar?
        for position in start..<(limit ?? text.count) {
            let scalar = text[position]
            if let open = quote {
                if scalar == open { quote = nil }
            } else if scalar == "\"" || scalar == "'" {
                quote = scalar
            } else if scalar == ">" {
                return position
            }
        }
        return nil
    }

    /// `on<letters>` followed by `=`, after whitespace, `/` or a quote: an event handler as a
    /// browser reads attributes (`<img/onerror=`, `<img src="x"onerror=`).
    private static func eventHandlerCount(in attributes: Scalars) -> Int {
        var count = 0
        for start in attributes.indices where start + 2 < attributes.count {
            guard start == 0 || [" ", "\t", "\n", "/", "\"", "'"].contains(attributes[start - 1]) else { continue }
            guard ["o", "O"].contains(attributes[start]), ["n", "N"].contains(attributes[start + 1]) else { continue }
            var position = start + 2
            while position < attributes.count, attributes[position].isASCII,
                attributes[position].properties.isAlphabetic
            {
                position += 1
            }
            guard position > start + 2 else { continue }
            while position < attributes.count, isSpace(attributes[position]) { position += 1 }
            if position < attributes.count, attributes[position] == "=" { count += 1 }
        }
        return count
    }

    /// The scheme (`javascript:`) and position of a URL starting at `start` that a browser would
    /// run, reading it as a browser does: leading spaces and control characters skipped, entities
    /// and backslash escapes decoded, tabs and line breaks dropped, case ignored. `data:` is
    /// dangerous unless it holds a raster image.
    static func dangerousURL(at start: Int, in text: [Unicode.Scalar]) -> (scheme: String, start: Int)? {
        var decoded: [(scalar: Unicode.Scalar, position: Int)] = []
        var position = start
        while position < text.count, decoded.count < 32 {
            let origin = position
            var scalar = text[position]
            position += 1
            if scalar == "&", let entity = entity(at: origin, in: text) {
                scalar = entity.scalar
                position = entity.end
            } else if scalar == "\\", position < text.count, isASCIIPunctuation(text[position]) {
                scalar = text[position]
                position += 1
            }
            if scalar == "\t" || scalar == "\n" || scalar == "\r" { continue }
            if decoded.isEmpty, scalar.value <= 0x20 { continue }
            decoded.append((scalar, origin))
        }
        var url = ""
        url.unicodeScalars.append(contentsOf: decoded.map(\.scalar))
        url = url.lowercased()
        guard let first = decoded.first else { return nil }
        for scheme in ["javascript:", "vbscript:"] where url.hasPrefix(scheme) { return (scheme, first.position) }
        if url.hasPrefix("data:") {
            let type = url.dropFirst(5).drop { $0 == " " }
            let raster = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]
            if !raster.contains(where: { type.hasPrefix($0) }) { return ("data:", first.position) }
        }
        return nil
    }

    /// A character reference at `start` (`&#106;`, `&#x6A`, `&colon;`) as a browser decodes it
    /// in a URL: the scalar and where the reference ends.
    private static func entity(at start: Int, in text: [Unicode.Scalar]) -> (scalar: Unicode.Scalar, end: Int)? {
        var position = start + 1
        if position < text.count, text[position] == "#" {
            position += 1
            var radix = 10
            if position < text.count, text[position] == "x" || text[position] == "X" {
                radix = 16
                position += 1
            }
            var digits = ""
            while position < text.count, text[position].isASCII, Character(text[position]).isHexDigit,
                radix == 16 || ("0"..."9").contains(text[position]), digits.count < 12
            {
                digits.unicodeScalars.append(text[position])
                position += 1
            }
            guard let value = UInt32(digits, radix: radix) else { return nil }
            if position < text.count, text[position] == ";" { position += 1 }
            return (Unicode.Scalar(value) ?? "\u{FFFD}", position)
        }
        let names: [String: Unicode.Scalar] = [
            "colon": ":", "tab": "\t", "newline": "\n", "sol": "/", "lpar": "(", "rpar": ")", "amp": "&",
            "quot": "\"", "apos": "'", "lt": "<", "gt": ">", "nbsp": " ", "period": ".",
        ]
        var name = ""
        while position < text.count, text[position].isASCII, text[position].properties.isAlphabetic, name.count < 10 {
            name.unicodeScalars.append(text[position])
            position += 1
        }
        guard position < text.count, text[position] == ";", let scalar = names[name.lowercased()] else { return nil }
        return (scalar, position + 1)
    }

    /// A space, tab or line break.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" || scalar == "\n" }

    private static func isASCIIPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII
            && (33...47 ~= scalar.value || 58...64 ~= scalar.value || 91...96 ~= scalar.value
                || 123...126 ~= scalar.value)
    }
}
