import Outlines

/// What must hold for any bytes given to the outline parsers, in every format: the one oracle
/// for libFuzzer (`OutlineFuzzer`) and for the corpus replay test.
///
/// - Parsing returns an outline or throws `OutlineError` (typed throws make anything else a
///   compile error); it never traps or hangs.
/// - An outline has a title and chapters, titles of at most 200 characters without control
///   characters or surrounding whitespace, and chapters with distinct identities.
/// - An error names the file, says something, and its line (when it has one) is a line of the
///   input: 1 through the number of lines, counting LF, CR and CRLF as one line break each.
/// - Whitespace that changes no field changes nothing: the same bytes with CRLF line ends, a
///   UTF-8 BOM in front or a line break added at the end parse to the same outline, or fail too.
enum OutlineInvariants {
    static let fileName = "fuzz.outline"

    /// What is wrong with parsing `bytes` as `format`; empty when every invariant holds.
    static func violations(_ bytes: [UInt8], _ format: OutlineFormat) -> [String] {
        var problems: [String] = []
        let outcome = parse(bytes, format)
        switch outcome {
        case .success(let outline):
            problems += violations(of: outline)
        case .failure(let error):
            if error.file != fileName { problems.append("\(format): error names \(error.file): \(error)") }
            if error.message.isEmpty { problems.append("\(format): empty message") }
            if let line = error.line, !(1...lineCount(bytes)).contains(line) {
                problems.append("\(format): line \(line) of \(lineCount(bytes)): \(error)")
            }
        }
        for (name, variant) in whitespaceVariants(of: bytes) {
            let other = parse(variant, format)
            switch (outcome, other) {
            case (.success(let a), .success(let b)) where a == b && a.digest == b.digest:
                break
            case (.failure, .failure):
                break
            default:
                problems.append(
                    "\(format): \(name) changed the outcome: \(describe(outcome)) became \(describe(other))"
                )
            }
        }
        return problems
    }

    /// Every format, as a fuzz input is tried.
    static func violations(_ bytes: [UInt8]) -> [String] {
        OutlineFormat.allCases.flatMap { violations(bytes, $0) }
    }

    static func parse(_ bytes: [UInt8], _ format: OutlineFormat) -> Result<Outline, OutlineError> {
        Result { () throws(OutlineError) in try OutlineParser.parse(bytes, format: format, fileName: fileName) }
    }

    static func violations(of outline: Outline) -> [String] {
        var problems: [String] = []
        if outline.chapters.isEmpty { problems.append("no chapters") }
        for title in [outline.title] + outline.chapters.map(\.title) {
            let scalars = title.unicodeScalars
            if title.isEmpty || scalars.count > 200 { problems.append("title of length \(scalars.count)") }
            if scalars.contains(where: { $0.properties.generalCategory == .control }) {
                problems.append("control character in title \(title.debugDescription)")
            }
            if title.first?.isWhitespace == true || title.last?.isWhitespace == true {
                problems.append("untrimmed title \(title.debugDescription)")
            }
        }
        if Set(outline.chapters.map(\.identity)).count != outline.chapters.count {
            problems.append("two chapters with one identity")
        }
        return problems
    }

    /// Lines in `bytes`: one more than its line breaks (LF, CR, or CRLF together).
    static func lineCount(_ bytes: [UInt8]) -> Int {
        var count = 1
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A || (byte == 0x0D && (index + 1 == bytes.count || bytes[index + 1] != 0x0A)) {
                count += 1
            }
        }
        return count
    }

    /// The same text with only whitespace changed, where the change cannot change its meaning:
    /// CRLF only when it has no CR yet, a BOM only when it has none, within the size limit.
    static func whitespaceVariants(of bytes: [UInt8]) -> [(String, [UInt8])] {
        var variants: [(String, [UInt8])] = [("a line break at the end", bytes + [0x0A])]
        if !bytes.contains(0x0D) {
            variants.append(("CRLF line ends", bytes.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }))
        }
        if !bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            variants.append(("a BOM", [0xEF, 0xBB, 0xBF] + bytes))
        }
        return variants.filter { $0.1.count <= OutlineParser.maximumFileSize }
    }

    private static func describe(_ outcome: Result<Outline, OutlineError>) -> String {
        switch outcome {
        case .success(let outline): "an outline titled \(outline.title.debugDescription)"
        case .failure(let error): "\(error)"
        }
    }
}
