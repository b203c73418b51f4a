import Yams

/// Reads YAML (an outline file or Markdown front matter) into `StructuredValue`s through
/// `Yams.compose`, which keeps each node's line.
///
/// Plain scalars are classified here, not by Yams' YAML 1.1 resolver: an empty value, `~` and
/// `null` are null, optionally signed decimal digits are an integer, digits with a fraction
/// (`2.50`) a number, anything else is text as written (so `title: yes` is the title "yes").
/// Quoted and block scalars are always text.
enum YAMLReader {
    /// Deepest nesting accepted once composed; an outline needs four levels.
    static let maximumDepth = 64

    /// Composes `text` and converts it. Spaces and tabs at line ends are removed first.
    ///
    /// - Parameters:
    ///   - firstLine: the file line `text` starts on (2 for front matter after `---`).
    ///   - nodeBudget: most values the document may expand to. Aliases can make a small file
    ///     expand exponentially ("billion laughs"); a budget near the byte count stops that.
    ///   - what: how messages name the text ("the front matter", "the YAML").
    /// - Returns: nil for a document with no content at all.
    /// - Throws: `OutlineError` with the file line of a syntax error, a duplicate key, a
    ///   non-text key or an over-expanding document.
    static func read(
        _ text: String,
        firstLine: Int,
        fileName: String,
        nodeBudget: Int,
        what: String
    ) throws(OutlineError) -> StructuredValue? {
        // Trailing spaces change folded and literal block text but never the meaning, and
        // lines are kept, so marks still match the file.
        let text = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map(withoutTrailingBlanks)
            .joined(separator: "\n")
        let node: Node?
        do {
            // The encoding is explicit: its default reads an environment variable and prints.
            node = try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            throw translate(error, text: text, firstLine: firstLine, fileName: fileName, what: what)
        } catch {
            throw OutlineError(file: fileName, line: firstLine, message: "\(what) could not be read: \(error)")
        }
        guard let node else { return nil }
        var converter = Converter(firstLine: firstLine, fileName: fileName, budget: nodeBudget, what: what)
        return try converter.convert(node, depth: 0)
    }

    private struct Converter {
        let firstLine: Int
        let fileName: String
        var budget: Int
        let what: String

        mutating func convert(_ node: Node, depth: Int) throws(OutlineError) -> StructuredValue {
            let line = (node.mark?.line ?? 1) + firstLine - 1
            budget -= 1
            guard budget >= 0 else {
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "\(what) expands to far more values than it holds (aliases like `*name` reused "
                        + "over and over?): write the values out"
                )
            }
            guard depth <= YAMLReader.maximumDepth else {
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "\(what) is nested more than \(YAMLReader.maximumDepth) levels deep: an outline needs four"
                )
            }
            switch node {
            case .scalar(let scalar):
                let kind = scalar.style == .plain ? YAMLReader.classify(scalar.string) : .text
                return StructuredValue(content: .scalar(scalar.string, kind), line: line)
            case .sequence(let sequence):
                var elements: [StructuredValue] = []
                for element in sequence {
                    elements.append(try convert(element, depth: depth + 1))
                }
                return StructuredValue(content: .list(elements), line: line)
            case .mapping(let mapping):
                var entries: [StructuredValue.Entry] = []
                for (key, value) in mapping {
                    let keyLine = (key.mark?.line ?? 1) + firstLine - 1
                    guard case .scalar(let name) = key else {
                        throw OutlineError(
                            file: fileName,
                            line: keyLine,
                            message: "a key is a list or mapping: keys must be plain names such as `title`"
                        )
                    }
                    budget -= 1
                    entries.append(
                        .init(key: name.string, keyLine: keyLine, value: try convert(value, depth: depth + 1))
                    )
                }
                return StructuredValue(content: .mapping(entries), line: line)
            case .alias:
                // compose() resolves aliases to their nodes; this is a safety net.
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "an alias (`*name`) could not be resolved: write the value out"
                )
            }
        }
    }

    private static func withoutTrailingBlanks(_ line: Substring) -> Substring {
        var end = line.endIndex
        while end > line.startIndex {
            let before = line.index(before: end)
            guard line[before] == " " || line[before] == "\t" else { break }
            end = before
        }
        return line[..<end]
    }

    static func classify(_ plain: String) -> StructuredValue.ScalarKind {
        switch plain {
        case "", "~", "null", "Null", "NULL":
            return .null
        default:
            let unsigned = plain.first == "+" || plain.first == "-" ? plain.dropFirst() : Substring(plain)
            let parts = unsigned.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
            guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isDigit) }) else { return .text }
            return parts.count == 1 ? .integer : .number
        }
    }

    private static func translate(
        _ error: YamlError,
        text: String,
        firstLine: Int,
        fileName: String,
        what: String
    ) -> OutlineError {
        func fileLine(_ mark: Mark) -> Int { mark.line + firstLine - 1 }
        func located(_ problem: String, _ context: YamlError.Context?, _ reported: Mark) -> OutlineError {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            // libyaml gives up on a key without `:` where the next token starts, often the line
            // after; the key's own line is the one to fix. Nothing is past the last line.
            var line = reported.line
            if let context, context.text.contains("simple key") { line = context.mark.line }
            line = min(max(line, 1), lines.count)
            var message = "\(what) is not valid YAML: \(problem)"
            if let context, context.mark.line != line {
                message += " (\(context.text) started on line \(fileLine(context.mark)))"
            }
            let source = lines[line - 1]
            if problem.contains("tab character")
                || (problem.contains("cannot start any token") && source.contains("\t"))
            {
                message += ": YAML indentation must be spaces, not tabs"
            } else if problem.contains("mapping values are not allowed") {
                message += ": a `: ` inside a value makes YAML read a new key; put the whole value in quotes"
            } else if problem.contains("did not find expected key") || problem.contains("did not find expected '-'") {
                message += ": check the indentation of this line against the lines above"
            }
            return OutlineError(file: fileName, line: line + firstLine - 1, message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(problem, context, mark)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in
                text.prefix(offset).reduce(into: firstLine) { count, character in
                    if character == "\n" { count += 1 }
                }
            }
            return OutlineError(file: fileName, line: line, message: "\(what) could not be read: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            return OutlineError(
                file: fileName,
                line: fileLine(context.mark),
                message: "the key \(names) appears more than once in the same mapping (first here): keep one"
            )
        default:
            return OutlineError(file: fileName, line: firstLine, message: "\(what) could not be read: \(error)")
        }
    }
}
