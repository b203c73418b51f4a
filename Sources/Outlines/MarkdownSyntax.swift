/// The few CommonMark block rules the outline format needs, each on one line of text.
///
/// Indentation is measured in columns with tabs advancing to the next multiple of four, as
/// CommonMark does; "at most three columns" keeps a line from being indented code.
enum MarkdownSyntax {
    /// A line that opens fenced code: three or more backticks or tildes after any indentation
    /// (a backtick fence's info string may not hold backticks).
    struct Fence {
        var marker: Character
        var length: Int
        var line: Int
    }

    /// A list item line: `-`, `*`, `+`, or 1 to 9 digits and `.` or `)`, then a space, a tab
    /// or the end of the line.
    struct ListItem {
        /// Columns before the marker.
        var indent: Int
        /// The marker as written: "-", "*", "+", "1.", "2)".
        var marker: Substring
        /// The column where the item's text starts; a later item indented at least this far is
        /// nested inside it (CommonMark's rule).
        var contentColumn: Int
        /// The text after the marker, trimmed.
        var text: Substring
    }

    static func indentColumns(_ text: some StringProtocol) -> Int {
        var columns = 0
        for character in text {
            switch character {
            case " ": columns += 1
            case "\t": columns = (columns / 4 + 1) * 4
            default: return columns
            }
        }
        return columns
    }

    private static func unindented(_ text: some StringProtocol) -> Substring {
        Substring(text).drop(while: { $0 == " " || $0 == "\t" })
    }

    /// An ATX heading: at most three columns of indentation, one to six `#`, then whitespace
    /// or the end of the line. The text is trimmed and loses a closing run of `#` that follows
    /// whitespace (`## Setup ##` is "Setup", `## C#` is "C#").
    static func atxHeading(_ line: String) -> (level: Int, text: Substring)? {
        guard indentColumns(line) <= 3 else { return nil }
        let rest = unindented(line)
        let level = rest.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(level) else { return nil }
        let afterHashes = rest.dropFirst(level)
        guard afterHashes.isEmpty || afterHashes.first == " " || afterHashes.first == "\t" else { return nil }
        var text = OutlineText.trimmed(afterHashes)
        let closing = text.reversed().prefix(while: { $0 == "#" }).count
        if closing == text.count {
            text = text.prefix(0)
        } else if closing > 0 {
            let before = text.dropLast(closing)
            if before.last == " " || before.last == "\t" { text = OutlineText.trimmed(before) }
        }
        return (level, text)
    }

    /// The number of `#` when the line looks like a heading but lacks the space after the
    /// `#`s (`##Setup`), which CommonMark reads as plain text.
    static func headingWithoutSpace(_ line: String) -> Int? {
        guard indentColumns(line) <= 3 else { return nil }
        let rest = unindented(line)
        let level = rest.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(level), let next = rest.dropFirst(level).first, !next.isWhitespace else { return nil }
        return level
    }

    /// `---`, `***`, `___` (three or more, spaces allowed between): a thematic break, not a list item.
    static func isThematicBreak(_ line: String) -> Bool {
        guard indentColumns(line) <= 3 else { return false }
        let rest = unindented(line)
        guard let marker = rest.first, "-*_".contains(marker) else { return false }
        var count = 0
        for character in rest {
            if character == marker {
                count += 1
            } else if character != " " && character != "\t" {
                return false
            }
        }
        return count >= 3
    }

    static func listItem(_ line: String) -> ListItem? {
        let indent = indentColumns(line)
        let rest = unindented(line)
        guard let first = rest.first else { return nil }
        let markerLength: Int
        if "-*+".contains(first) {
            markerLength = 1
        } else {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber }).count
            guard (1...9).contains(digits) else { return nil }
            let delimiter = rest.dropFirst(digits).first
            guard delimiter == "." || delimiter == ")" else { return nil }
            markerLength = digits + 1
        }
        let marker = rest.prefix(markerLength)
        let afterMarker = rest.dropFirst(markerLength)
        let markerEnd = indent + markerLength
        guard let separator = afterMarker.first else {
            return ListItem(indent: indent, marker: marker, contentColumn: markerEnd + 1, text: afterMarker)
        }
        guard separator == " " || separator == "\t" else { return nil }
        var column = markerEnd
        for character in afterMarker {
            if character == " " {
                column += 1
            } else if character == "\t" {
                column = (column / 4 + 1) * 4
            } else {
                break
            }
        }
        let gap = column - markerEnd
        let text = OutlineText.trimmed(afterMarker)
        // CommonMark: five or more spaces after the marker start indented code, so the
        // content column is one past the marker.
        let contentColumn = text.isEmpty || gap > 4 ? markerEnd + 1 : markerEnd + gap
        return ListItem(indent: indent, marker: marker, contentColumn: contentColumn, text: text)
    }

    static func openingFence(_ line: some StringProtocol, number: Int) -> Fence? {
        let rest = unindented(line)
        guard let marker = rest.first, marker == "`" || marker == "~" else { return nil }
        let length = rest.prefix(while: { $0 == marker }).count
        guard length >= 3 else { return nil }
        if marker == "`" && rest.dropFirst(length).contains("`") { return nil }
        return Fence(marker: marker, length: length, line: number)
    }

    /// Whether `line` closes `fence`: the same marker at least as many times, then only whitespace.
    static func closes(_ fence: Fence, _ line: some StringProtocol) -> Bool {
        let rest = unindented(line)
        let length = rest.prefix(while: { $0 == fence.marker }).count
        return length >= fence.length && OutlineText.isBlank(rest.dropFirst(length))
    }

    /// The line with its HTML comments removed, whether a comment is still open at its end, and
    /// whether any comment was found.
    ///
    /// `<!--` inside a code span (backticks) is text, as in CommonMark.
    static func removingComments(_ line: Substring) -> (kept: String, open: Bool, removed: Bool) {
        guard containsCommentStart(line) else { return (String(line), false, false) }
        var spans = codeSpans(line)[...]
        var kept = ""
        var removed = false
        var index = line.startIndex
        while index < line.endIndex {
            if let span = spans.first, span.lowerBound == index {
                kept += line[span]
                index = span.upperBound
                spans = spans.dropFirst()
                continue
            }
            if line[index] == "<" && line[index...].hasPrefix("<!--") {
                let body = line[index...].dropFirst(4)
                guard let end = body.firstRange(of: "-->") else { return (kept, true, true) }
                index = end.upperBound
                removed = true
                while let span = spans.first, span.lowerBound < index { spans = spans.dropFirst() }
                continue
            }
            kept.append(line[index])
            index = line.index(after: index)
        }
        return (kept, false, removed)
    }

    /// Whether `<!--` occurs in the line; a byte scan, since most lines have none.
    private static func containsCommentStart(_ line: Substring) -> Bool {
        var matched = 0
        for byte in line.utf8 {
            switch (matched, byte) {
            case (0, UInt8(ascii: "<")): matched = 1
            case (1, UInt8(ascii: "!")): matched = 2
            case (2, UInt8(ascii: "-")): matched = 3
            case (3, UInt8(ascii: "-")): return true
            case (_, UInt8(ascii: "<")): matched = 1
            default: matched = 0
            }
        }
        return false
    }

    /// The code spans of a line: a run of backticks up to the next run of the same length.
    /// Runs are matched through per-length queues, so a line of many unmatched runs stays linear.
    private static func codeSpans(_ line: Substring) -> [Range<Substring.Index>] {
        var runs: [(range: Range<Substring.Index>, length: Int)] = []
        var index = line.startIndex
        while index < line.endIndex {
            guard line[index] == "`" else {
                index = line.index(after: index)
                continue
            }
            let run = line[index...].prefix(while: { $0 == "`" })
            runs.append((index..<run.endIndex, run.count))
            index = run.endIndex
        }
        var byLength: [Int: [Int]] = [:]
        for (position, run) in runs.enumerated() { byLength[run.length, default: []].append(position) }
        var heads: [Int: Int] = [:]
        var spans: [Range<Substring.Index>] = []
        var position = 0
        while position < runs.count {
            let run = runs[position]
            let queue = byLength[run.length]!
            var head = heads[run.length, default: 0]
            while head < queue.count && queue[head] <= position { head += 1 }
            heads[run.length] = head
            if head < queue.count {
                let closing = queue[head]
                spans.append(run.range.lowerBound..<runs[closing].range.upperBound)
                position = closing + 1
            } else {
                position += 1
            }
        }
        return spans
    }
}
