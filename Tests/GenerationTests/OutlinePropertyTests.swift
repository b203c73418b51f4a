import PropertyBased
import Testing

@testable import Generation
@testable import OutlineFuzzer
@testable import Outlines

/// Properties every outline and every parse must have, checked on generated outlines
/// (`OutlineGenerator`) written out by `OutlineWriter`.
@Suite("Outline parser: properties")
struct OutlinePropertyTests {
    @Test("an outline written as Markdown, YAML or JSON parses back to itself, with one digest")
    func sameContentSameOutline() async {
        await propertyCheck(count: 150, input: OutlineGenerator.outlines) { outline in
            for format in OutlineFormat.allCases {
                let text = OutlineWriter.text(outline, as: format)
                let parsed = try parse(text, format)
                #expect(parsed == outline, "\(format):\n\(text)")
                #expect(parsed.digest == outline.digest, "\(format)")
                #expect(parsed.chapters.map(\.identity) == outline.chapters.map(\.identity))
            }
            #expect(try parse(OutlineWriter.yaml(outline, literalNotes: true), .yaml) == outline, "YAML `|-` blocks")
            #expect(try parse(OutlineWriter.json(outline, asciiOnly: true), .json) == outline, "JSON \\u escapes")
        }
    }

    /// Changes to an outline file that touch whitespace only.
    enum Rewrite: CaseIterable, Sendable {
        case crlf, cr, trailingBlanks, blankLinesDoubled, bom, trailingNewlines

        func apply(_ text: String) -> String {
            switch self {
            case .crlf: text.replacing("\n", with: "\r\n")
            case .cr: text.replacing("\n", with: "\r")
            case .trailingBlanks: text.replacing("\n", with: " \t \n")
            case .blankLinesDoubled: text.replacing("\n\n", with: "\n\n\n")
            case .bom: "\u{FEFF}" + text
            case .trailingNewlines: text + "\n\n\n"
            }
        }
    }

    @Test("whitespace-only rewrites of a file never change its outline or digest")
    func whitespaceRewrites() async {
        await propertyCheck(
            count: 150,
            input: OutlineGenerator.outlines,
            Gen<Rewrite>.case.array(of: 1...4),
            Gen<OutlineFormat>.case
        ) { outline, rewrites, format in
            // CR after CRLF would turn each line end into two.
            let rewrites = rewrites.contains(.crlf) ? rewrites.filter { $0 != .cr } : rewrites
            let text = rewrites.reduce(OutlineWriter.text(outline, as: format)) { $1.apply($0) }
            let parsed = try parse(text, format)
            #expect(parsed == outline, "\(format) \(rewrites)")
            #expect(parsed.digest == outline.digest)
        }
    }

    @Test("spacing inside one-line fields changes neither the outline, nor its digest, nor any identity")
    func respacedFields() async {
        let runs = [" ", "  ", "\t", " \t ", "\u{A0}", "   "]
        await propertyCheck(
            count: 150,
            input: OutlineGenerator.outlines,
            Gen<String?>.element(of: runs).map { $0! }.array(of: 1...8),
            Gen<OutlineFormat>.case
        ) { outline, spacing, format in
            var cycle = spacing.makeIterator()
            func respace(_ text: String) -> String {
                text.split(separator: " ").joined(separator: cycle.next() ?? "  ")
            }
            var respaced = outline
            respaced.title = spacing[0] + respace(outline.title) + spacing[spacing.count - 1]
            respaced.audience = outline.audience.map(respace)
            respaced.level = outline.level.map(respace)
            for index in respaced.chapters.indices {
                respaced.chapters[index].title = respace(outline.chapters[index].title) + spacing[0]
            }
            let parsed = try parse(OutlineWriter.text(respaced, as: format), format)
            #expect(parsed == outline, "\(format)")
            #expect(parsed.digest == outline.digest)
        }
    }

    @Test("mutated outlines parse or fail with a message on a line of the file")
    func mutations() async {
        await propertyCheck(
            count: 300,
            input: OutlineGenerator.outlines,
            Gen<OutlineFormat>.case,
            Gen.int(in: 0...Int(UInt32.max)).array(of: 1...6)
        ) { outline, format, edits in
            var bytes = Array(OutlineWriter.text(outline, as: format).utf8)
            for edit in edits {
                let position = edit % max(bytes.count, 1)
                let byte = UInt8(truncatingIfNeeded: edit >> 8)
                switch (edit >> 16) % 4 {
                case 0 where !bytes.isEmpty: bytes[position] = byte
                case 1: bytes.insert(byte, at: min(position, bytes.count))
                case 2 where !bytes.isEmpty:
                    bytes.removeSubrange(position..<min(bytes.count, position + Int(byte) % 16 + 1))
                default:
                    // Repeat a line: duplicate keys, titles and headings.
                    let start = bytes[..<min(position, bytes.count)].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
                    let end = bytes[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
                    bytes.insert(contentsOf: bytes[start..<end], at: end)
                }
            }
            let problems = OutlineInvariants.violations(bytes, format)
            #expect(problems.isEmpty, "\(problems)\n\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
