import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import OutlineFuzzer
@testable import Outlines

/// The committed fuzz corpus (`Fixtures/outline-corpus`: hand-written seeds and what libFuzzer
/// found to reach new code, see scripts/fuzz-outlines.sh) and every crasher it ever found
/// (`Fixtures/outline-crashers`), replayed through all three parsers on every test run.
@Suite("Outline parser: fuzz corpus and crashers")
struct OutlineCorpusTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func inputs(in folder: String) throws -> [(name: String, bytes: [UInt8])] {
        let url = fixtures.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { !$0.hasPrefix(".") }
            .sorted()
            .map { ($0, Array(try Data(contentsOf: url.appendingPathComponent($0)))) }
    }

    @Test(
        "every corpus input parses or fails with an OutlineError on one of its lines, in every format",
        .timeLimit(.minutes(2 * TestTime.factor))
    )
    func corpus() async throws {
        let inputs = try Self.inputs(in: "outline-corpus")
        #expect(inputs.count >= 25, "the corpus went missing")
        // On a thread of its own: seconds of parsing would hold the shared pool.
        let problems = await onOwnThread {
            inputs.compactMap { name, bytes -> String? in
                let found = OutlineInvariants.violations(bytes)
                return found.isEmpty ? nil : "\(name): \(found)"
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test("every crasher libFuzzer found now parses or fails cleanly, in every format", .timeLimit(.minutes(1 * TestTime.factor)))
    func crashers() throws {
        for (name, bytes) in try Self.inputs(in: "outline-crashers") {
            let problems = OutlineInvariants.violations(bytes)
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    @Test("the oracle flags broken outlines and counts lines as the parsers do")
    func oracle() {
        #expect(OutlineInvariants.violations(of: Outline(title: "T", chapters: [.init(title: "A")])).isEmpty)
        #expect(!OutlineInvariants.violations(of: Outline(title: "", chapters: [.init(title: "A")])).isEmpty)
        #expect(!OutlineInvariants.violations(of: Outline(title: "T", chapters: [])).isEmpty)
        #expect(!OutlineInvariants.violations(of: Outline(title: " T", chapters: [.init(title: "A")])).isEmpty)
        #expect(!OutlineInvariants.violations(of: Outline(title: "T\u{7}", chapters: [.init(title: "A")])).isEmpty)
        let twins = Outline(title: "T", chapters: [.init(title: "Straße"), .init(title: "STRASSE")])
        #expect(!OutlineInvariants.violations(of: twins).isEmpty)
        #expect(OutlineInvariants.lineCount(Array("a\r\nb\rc\n".utf8)) == 4)
        #expect(OutlineInvariants.lineCount([]) == 1)
        let error = parseError("# T\r\n\r\n\r\n")
        #expect(error?.line.map { $0 <= OutlineInvariants.lineCount(Array("# T\r\n\r\n\r\n".utf8)) } == true)
    }
}
