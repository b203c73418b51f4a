import Outlines

/// Reads a template's tags before Mustache does, to refuse what Mustache would render silently
/// wrong: a variable that names nothing where it stands (it would be empty), and partials or
/// blocks (a prompt has no library to take them from).
///
/// Scopes follow the sections: inside `{{#toc}}` a name is looked up in a table-of-contents
/// entry first, then in the course values, as Mustache does.
enum PromptTemplateCheck {
    static func check(_ text: String, origin: String) throws(PromptTemplateError) {
        var scopes = ["root"]
        // The sections open, with the line each opened on.
        var open: [(name: String, line: Int)] = []
        var rest = Substring(text)
        var line = 1
        while let tagStart = rest.range(of: "{{") {
            line += rest[..<tagStart.lowerBound].count { $0 == "\n" }
            let tagLine = line
            let isTriple = rest[tagStart.upperBound...].hasPrefix("{")
            let closing = isTriple ? "}}}" : "}}"
            let bodyStart = isTriple ? rest.index(after: tagStart.upperBound) : tagStart.upperBound
            guard let close = rest[bodyStart...].range(of: closing) else {
                throw PromptTemplateError(
                    file: origin,
                    line: tagLine,
                    message: "a tag is not finished: close the `{{` with `\(closing)`"
                )
            }
            let body = rest[bodyStart..<close.lowerBound]
            line += body.count { $0 == "\n" }
            rest = rest[close.upperBound...]
            func fail(_ message: String) -> PromptTemplateError {
                PromptTemplateError(file: origin, line: tagLine, message: message)
            }

            let trimmed = body.trimmingWhitespace()
            guard let sigil = trimmed.first else { throw fail("an empty tag `{{}}`: write a variable name in it") }
            switch sigil {
            case "!", "%":
                continue
            case "=":
                throw fail("changing the `{{ }}` delimiters is not supported in prompt templates")
            case ">", "<", "$":
                throw fail(
                    "partials and blocks (`{{\(sigil) ...}}`) are not supported in prompt templates: "
                        + "write their text into this template"
                )
            case "#", "^":
                let name = String(trimmed.dropFirst()).trimmingWhitespace()
                let kind = try resolve(name, in: scopes, fail: fail)
                scopes.append(sigil == "^" || kind == "flag" ? scopes.last! : kind)
                open.append((name, tagLine))
            case "/":
                let name = String(trimmed.dropFirst()).trimmingWhitespace()
                guard let innermost = open.popLast() else {
                    throw fail("`{{\(trimmed)}}` closes a section that was never opened: remove it")
                }
                guard innermost.name == name else {
                    throw fail(
                        "`{{\(trimmed)}}` closes `{{#\(innermost.name)}}` (line \(innermost.line)): "
                            + "close that one first, with `{{/\(innermost.name)}}`"
                    )
                }
                scopes.removeLast()
            case "&":
                _ = try resolve(String(trimmed.dropFirst()).trimmingWhitespace(), in: scopes, fail: fail)
            default:
                _ = try resolve(trimmed, in: scopes, fail: fail)
            }
        }
        if let unclosed = open.last {
            throw PromptTemplateError(
                file: origin,
                line: unclosed.line,
                message:
                    "the section `{{#\(unclosed.name)}}` is never closed: add `{{/\(unclosed.name)}}` where it ends"
            )
        }
    }

    /// The kind of value `name` holds where `scopes` stand.
    private static func resolve(
        _ written: String,
        in scopes: [String],
        fail: (String) -> PromptTemplateError
    ) throws(PromptTemplateError) -> String {
        var name = written
        // A transform, `uppercased(chapter.title)`, applies to the name inside.
        if let open = name.firstIndex(of: "("), name.hasSuffix(")") {
            name = String(name[name.index(after: open)..<name.index(before: name.endIndex)]).trimmingWhitespace()
        }
        if name == "." { return "text" }
        let schema = PromptValues.schema
        var components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var searched: [String]
        if components.first == "" {
            components.removeFirst()
            searched = [scopes.last!]
        } else {
            searched = scopes.reversed()
        }
        guard let first = components.first, !first.isEmpty else {
            throw fail("`{{\(written)}}` is not a variable name")
        }
        guard let scope = searched.first(where: { schema[$0]?[first] != nil }), var kind = schema[scope]?[first] else {
            throw fail(unknown(first, written: written, in: searched))
        }
        for component in components.dropFirst() {
            guard let next = schema[kind]?[component] else {
                throw fail(unknown(component, written: written, in: [kind]))
            }
            kind = next
        }
        return kind
    }

    private static func unknown(_ name: String, written: String, in scopes: [String]) -> String {
        let known = scopes.flatMap { (PromptValues.schema[$0] ?? [:]).keys.sorted() }
        var message = "`{{\(written)}}` names nothing a prompt has"
        if let suggestion = Spelling.suggestion(for: name, among: known) {
            message += " (did you mean `\(suggestion)`?)"
        }
        let names = known.isEmpty ? "none: a text value has no fields" : known.map { "`\($0)`" }.joined(separator: ", ")
        return message + "; here the names are " + names + " (see README: Writing a prompt template)"
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
