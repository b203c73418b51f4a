/// A strict RFC 8259 JSON reader that keeps the line of every value and key.
///
/// JSON outlines are not read through Yams, as YAML ones are, because Yams 6.2.2 (libyaml,
/// YAML 1.1) reads JSON differently in both directions (`OutlineJSONReaderTests` holds each
/// case). It refuses valid JSON that real tools write: a surrogate-pair escape such as
/// `\ud83d\ude00` (Python's `json.dump` escapes every emoji so by default), a tab before the
/// top-level value, a key with its `:` on the next line, a key over 1024 characters. And it
/// accepts what JSON forbids: comments, trailing commas, single quotes, unquoted keys and
/// values, raw tabs and line breaks in strings, YAML escapes, a no-break space read into a value.
/// Keeping `.json` strict behind Yams would take a check that knows the whole JSON grammar,
/// which is this reader. (Yams does read `\/`, `\u00e9`, tabs between tokens inside the value
/// and `{"a":1}` like JSON.)
///
/// Every valid JSON text is read; invalid text (trailing commas, comments, single quotes, raw
/// control characters in strings, lone surrogate escapes, duplicate keys) fails with the line
/// and what to change. Nesting deeper than `maximumDepth` is refused, so no input can exhaust
/// the stack.
struct JSONReader {
    /// Deepest nesting of arrays and objects accepted; an outline needs four levels.
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private let fileName: String
    private var index = 0
    private var line = 1

    /// Reads `text` (LF line ends) as one JSON value.
    /// - Throws: `OutlineError` on the line of the first syntax error.
    static func read(_ text: String, fileName: String) throws(OutlineError) -> StructuredValue {
        var reader = JSONReader(bytes: Array(text.utf8), fileName: fileName)
        reader.skipWhitespace()
        if reader.index == reader.bytes.count {
            throw OutlineError(
                file: fileName,
                line: 1,
                message: "the file is empty: write a JSON object such as {\"title\": ..., \"chapters\": [...]}"
            )
        }
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        if reader.index < reader.bytes.count {
            throw reader.failure(
                "unexpected \(reader.describeNext()) after the end of the JSON value: "
                    + "remove it, or put everything inside the one top-level object"
            )
        }
        return value
    }

    private init(bytes: [UInt8], fileName: String) {
        self.bytes = bytes
        self.fileName = fileName
    }

    private func failure(_ message: String, line: Int? = nil) -> OutlineError {
        OutlineError(file: fileName, line: line ?? self.line, message: message)
    }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = next {
            switch byte {
            case 0x20, 0x09, 0x0D: index += 1
            case 0x0A:
                index += 1
                line += 1
            default: return
            }
        }
    }

    /// "`x`", "the end of the file": how messages name the next character.
    private func describeNext() -> String {
        guard index < bytes.count else { return "end of the file" }
        let rest = bytes[index...].prefix(4)
        let character = String(decoding: rest, as: UTF8.self).first.map(String.init) ?? "?"
        return "`\(character)`"
    }

    private mutating func value(depth: Int) throws(OutlineError) -> StructuredValue {
        guard depth <= Self.maximumDepth else {
            throw failure("the JSON is nested more than \(Self.maximumDepth) levels deep: an outline needs four")
        }
        let start = line
        guard let byte = next else {
            throw failure("the JSON ends where a value was expected: finish the value or remove the comma before it")
        }
        switch byte {
        case UInt8(ascii: "{"):
            return StructuredValue(content: .mapping(try object(depth: depth)), line: start)
        case UInt8(ascii: "["):
            return StructuredValue(content: .list(try array(depth: depth)), line: start)
        case UInt8(ascii: "\""):
            return StructuredValue(content: .scalar(try string(), .text), line: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (text, kind) = try number()
            return StructuredValue(content: .scalar(text, kind), line: start)
        case UInt8(ascii: "t"):
            try literal("true")
            return StructuredValue(content: .scalar("true", .boolean), line: start)
        case UInt8(ascii: "f"):
            try literal("false")
            return StructuredValue(content: .scalar("false", .boolean), line: start)
        case UInt8(ascii: "n"):
            try literal("null")
            return StructuredValue(content: .scalar("null", .null), line: start)
        case UInt8(ascii: "'"):
            throw failure("JSON strings need double quotes (\"like this\"), not single quotes")
        case UInt8(ascii: "/"):
            throw failure("JSON has no comments: remove it (a .yaml outline allows `#` comments)")
        default:
            throw failure(
                "unexpected \(describeNext()) where a value was expected: "
                    + "values are \"strings\", numbers, true, false, null, [lists] or {objects}"
            )
        }
    }

    private mutating func literal(_ word: String) throws(OutlineError) {
        let expected = Array(word.utf8)
        guard bytes[index...].starts(with: expected) else {
            throw failure(
                "unexpected \(describeNext()) where a value was expected: "
                    + "text must be in double quotes (\"like this\")"
            )
        }
        index += expected.count
    }

    private mutating func object(depth: Int) throws(OutlineError) -> [StructuredValue.Entry] {
        let openLine = line
        index += 1
        var entries: [StructuredValue.Entry] = []
        var seen: [String: Int] = [:]
        skipWhitespace()
        if next == UInt8(ascii: "}") {
            index += 1
            return entries
        }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\"") else {
                if next == UInt8(ascii: "}") {
                    throw failure("a comma before `}` with nothing after it: remove the trailing comma")
                }
                if next == nil { throw unclosed("{", "}", openLine) }
                throw failure("unexpected \(describeNext()) where a key was expected: keys are \"double-quoted\"")
            }
            let keyLine = line
            let key = try string()
            if let first = seen[key] {
                throw failure(
                    "the key \"\(key)\" appears twice in the same object (also on line \(first)): keep one",
                    line: keyLine
                )
            }
            seen[key] = keyLine
            skipWhitespace()
            guard next == UInt8(ascii: ":") else {
                if next == nil { throw unclosed("{", "}", openLine) }
                throw failure("expected `:` after the key \"\(key)\", found \(describeNext())")
            }
            index += 1
            skipWhitespace()
            let value = try value(depth: depth + 1)
            entries.append(.init(key: key, keyLine: keyLine, value: value))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return entries
            case nil: throw unclosed("{", "}", openLine)
            default:
                throw failure(
                    "expected `,` or `}` after the value of \"\(key)\", found \(describeNext()): a comma may be missing"
                )
            }
        }
    }

    private mutating func array(depth: Int) throws(OutlineError) -> [StructuredValue] {
        let openLine = line
        index += 1
        var elements: [StructuredValue] = []
        skipWhitespace()
        if next == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            if next == UInt8(ascii: "]") {
                throw failure("a comma before `]` with nothing after it: remove the trailing comma")
            }
            if next == nil { throw unclosed("[", "]", openLine) }
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return elements
            case nil: throw unclosed("[", "]", openLine)
            default:
                throw failure(
                    "expected `,` or `]` after a list element, found \(describeNext()): a comma may be missing"
                )
            }
        }
    }

    private func unclosed(_ open: String, _ close: String, _ openLine: Int) -> OutlineError {
        failure("the file ends inside the `\(open)` opened on line \(openLine): add the missing `\(close)`")
    }

    /// Reads a string starting at its opening quote; the line advances only past it.
    private mutating func string() throws(OutlineError) -> String {
        index += 1
        var decoded: [UInt8] = []
        while true {
            guard let byte = next else {
                throw failure("the file ends inside a string: add the closing `\"`")
            }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &decoded)
            case 0x0A:
                throw failure(
                    "a string runs past the end of the line: close it with `\"`, or write a line break as \\n"
                )
            case 0x00..<0x20:
                throw failure("a string holds a raw control character (a tab?): write it as an escape such as \\t")
            default:
                decoded.append(byte)
                index += 1
            }
        }
    }

    private mutating func escape(into decoded: inout [UInt8]) throws(OutlineError) {
        guard let byte = next else {
            throw failure("the file ends inside a string: add the closing `\"`")
        }
        index += 1
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case UInt8(ascii: "/"): UInt8(ascii: "/")
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            decoded.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            throw failure(
                "unknown escape \\\(Unicode.Scalar(byte)) in a string: the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
            )
        }
        var value = try hexQuad()
        if (0xD800..<0xDC00).contains(value) {
            guard bytes[index...].starts(with: Array("\\u".utf8)) else {
                throw failure("\\u escape of a lone high surrogate: follow it with its low surrogate \\uDC00...\\uDFFF")
            }
            index += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else {
                throw failure("\\u escape of a high surrogate not followed by a low surrogate (\\uDC00...\\uDFFF)")
            }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(value) {
            throw failure("\\u escape of a lone low surrogate: it is not a character; remove it")
        }
        // Surrogates were handled above, so this always succeeds.
        if let scalar = Unicode.Scalar(value) {
            UTF8.encode(scalar) { decoded.append($0) }
        }
    }

    private mutating func hexQuad() throws(OutlineError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = next, let digit = Self.hexValue(byte) else {
                throw failure("a \\u escape needs exactly four hexadecimal digits, like \\u00e9")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Reads `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` and returns it as written.
    private mutating func number() throws(OutlineError) -> (String, StructuredValue.ScalarKind) {
        let start = index
        var kind = StructuredValue.ScalarKind.integer
        if next == UInt8(ascii: "-") { index += 1 }
        guard let first = next, Self.isDigit(first) else {
            throw failure("a number needs a digit after `-`")
        }
        index += 1
        if first == UInt8(ascii: "0"), let following = next, Self.isDigit(following) {
            throw failure("a number must not start with 0 (write 7, not 07)")
        }
        skipDigits()
        if next == UInt8(ascii: ".") {
            index += 1
            guard let digit = next, Self.isDigit(digit) else {
                throw failure("a number needs digits after its decimal point")
            }
            skipDigits()
            kind = .number
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            index += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
            guard let digit = next, Self.isDigit(digit) else {
                throw failure("a number needs digits after its exponent `e`")
            }
            skipDigits()
            kind = .number
        }
        return (String(decoding: bytes[start..<index], as: UTF8.self), kind)
    }

    private mutating func skipDigits() {
        while let byte = next, Self.isDigit(byte) { index += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
