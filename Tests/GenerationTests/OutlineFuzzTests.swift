import TestSupport
import Testing

@testable import Generation
@testable import OutlineFuzzer
@testable import Outlines

/// Random and mutated inputs: the parser must never crash or hang, and must either return an
/// outline that keeps the model's promises or throw an OutlineError located inside the file.
@Suite("Outline parser: random input")
struct OutlineFuzzTests {
    /// SplitMix64: small, fast and seeded, so a failure can be replayed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Bytes that matter to one format or another, so random text reaches deep paths.
    static let interesting: [UInt8] =
        Array("#-*+1.)`~<!->{}[]:,\"'\\&|>?! \n\n\n\t\r\u{0}ué\u{85}aZ0u".utf8)
        + [0xFF, 0xC3, 0xE2, 0x80]

    static let validInputs: [(OutlineFormat, String)] = [
        (.markdown, OutlineExamples.practicalRust),
        (.markdown, OutlineNormalisationTests.markdown),
        (.yaml, OutlineExamples.kitchenSafety),
        (.json, OutlineStructuredTests.kitchenJSON),
    ]

    @Test("random byte strings never crash, in any format", arguments: OutlineFormat.allCases)
    func randomBytes(format: OutlineFormat) async {
        // Seconds of parsing: on a thread of its own, so the shared pool (as many threads as
        // the machine has cores) keeps serving the timing tests that run beside this one.
        let problems = await onOwnThread { () -> [String] in
            var problems: [String] = []
            for seed in UInt64(0)..<600 {
                var random = SeededGenerator(state: seed &* 7919 &+ UInt64(format.rawValue.count))
                let length = Int.random(in: 0...300, using: &random)
                let bytes = (0..<length).map { _ in
                    Bool.random(using: &random)
                        ? Self.interesting.randomElement(using: &random)!
                        : UInt8.random(in: 0...255, using: &random)
                }
                let found = OutlineInvariants.violations(bytes, format)
                if !found.isEmpty { problems.append("seed \(seed): \(found)") }
            }
            return problems
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test("random mutations of valid outlines never crash, and some still parse", arguments: 0..<validInputs.count)
    func mutations(input: Int) async {
        let (format, text) = Self.validInputs[input]
        let original = Array(text.utf8)
        let (problems, parsed) = await onOwnThread { () -> ([String], Int) in
            var problems: [String] = []
            var parsed = 0
            for seed in UInt64(0)..<600 {
                var random = SeededGenerator(state: seed &+ UInt64(input) << 32)
                var bytes = original
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    Self.mutate(&bytes, using: &random)
                }
                let found = OutlineInvariants.violations(bytes, format)
                if !found.isEmpty { problems.append("seed \(seed): \(found)") }
                if (try? OutlineParser.parse(bytes, format: format, fileName: "fuzz")) != nil { parsed += 1 }
            }
            return (problems, parsed)
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        // Many small mutations (a changed letter in a point) keep the outline valid, so the
        // success path is exercised too, not only the error paths.
        #expect(parsed > 40)
    }

    static func mutate(_ bytes: inout [UInt8], using random: inout SeededGenerator) {
        guard !bytes.isEmpty else {
            bytes = [interesting.randomElement(using: &random)!]
            return
        }
        let position = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            bytes[position] = interesting.randomElement(using: &random)!
        case 1:
            bytes.insert(
                contentsOf: (0..<Int.random(in: 1...6, using: &random)).map { _ in
                    interesting.randomElement(using: &random)!
                },
                at: position
            )
        case 2:
            bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...40, using: &random)))
        case 3:
            bytes.removeSubrange(position...)
        case 4:
            // Duplicate a line, which makes duplicate titles and keys.
            let start = bytes[..<position].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let end = bytes[position...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            bytes.insert(contentsOf: bytes[start..<end], at: end)
        case 5:
            bytes[position] = UInt8.random(in: 0...255, using: &random)
        default:
            // Swap two lines.
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            let a = Int.random(in: 0..<lines.count, using: &random)
            let b = Int.random(in: 0..<lines.count, using: &random)
            lines.swapAt(a, b)
            bytes = Array(lines.joined(separator: [0x0A]))
        }
    }

    @Test(
        "pathological 1 MiB inputs finish, each parsing or failing cleanly",
        .timeLimit(.minutes(2 * TestTime.factor)),
        // One at a time: each case holds a thread of the small shared pool for a second or two.
        .serialized,
        arguments: [
            (OutlineFormat.markdown, "# T\n## A\n", "- point\n"),
            (.markdown, "# T\n## A\n<!--", " ` `` ``` ```` `` <!-- x --> "),
            (.markdown, "# T\n", "## Chapter\n"),
            (.markdown, "# T\n## A\n", "  - nested\n    - deeper\n"),
            (.markdown, "# T\n## A\n", "`"),
            (.yaml, "title: T\nchapters:\n", "  - title: x\n"),
            (.yaml, "title: ", "[a, "),
            (.json, "{\"title\": \"T\", \"chapters\": [", "{\"title\": \"x\"},"),
            (.json, "{\"title\": \"", "\\u00e9"),
        ]
    )
    func largeInputs(format: OutlineFormat, head: String, unit: String) async {
        // Seconds of parsing: on a thread of its own, so the shared pool keeps serving the
        // timing tests that run beside this one.
        let problems = await onOwnThread {
            let budget = OutlineParser.maximumFileSize - head.utf8.count
            let body = String(repeating: unit, count: budget / unit.utf8.count)
            return OutlineInvariants.violations(Array((head + body).utf8), format)
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("an outline of tens of thousands of chapters parses in full", .timeLimit(.minutes(2 * TestTime.factor)))
    func manyChapters() async throws {
        var markdown = "# Big course\n"
        var yaml = "title: Big course\nchapters:\n"
        var count = 0
        while yaml.utf8.count < OutlineParser.maximumFileSize - 100 {
            count += 1
            markdown += "## Chapter \(count)\n- point \(count)\n"
            yaml += "  - {title: Chapter \(count), points: [point \(count)]}\n"
        }
        let (fromMarkdown, fromYAML) = try await onOwnThread { [markdown, yaml] in
            (try parse(markdown), try parse(yaml, .yaml))
        }
        #expect(fromMarkdown.chapters.count == count)
        #expect(fromMarkdown.chapters.last == .init(title: "Chapter \(count)", points: ["point \(count)"]))
        #expect(fromYAML == fromMarkdown)
    }
}
