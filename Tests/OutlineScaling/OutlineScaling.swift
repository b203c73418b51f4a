// outline-scaling: how parsing time grows with the size of an outline, per format and shape.
//
// Generates outlines of 64 KiB, 256 KiB and 1 MiB (the largest accepted) in each format, in
// typical and worst-case shapes, parses each a few times and prints the best time and the time
// per KiB. Linear parsing shows as a flat time per KiB down each shape's rows. Also times the
// refusal of a 5 MB outline, which must not be parsed at all. Run by scripts/outline-scaling.sh.
import Outlines

@main
struct OutlineScaling {
    static let sizes = [64 << 10, 256 << 10, 1 << 20]

    /// A shape: the text before the repeated unit, the unit, and the text after it.
    struct Shape: Sendable {
        var format: OutlineFormat
        var name: String
        var head: String
        var unit: @Sendable (Int) -> String
        var tail: String = ""

        /// The shape filled to about `size` bytes, never over it.
        func text(size: Int) -> String {
            var body = head
            var index = 0
            while true {
                let next = unit(index)
                guard body.utf8.count + next.utf8.count + tail.utf8.count <= size else { break }
                body += next
                index += 1
            }
            return body + tail
        }
    }

    static let point = "Iterator adaptors compared with list comprehensions, with an exercise"

    static let shapes: [Shape] = [
        Shape(
            format: .markdown,
            name: "typical chapters",
            head: "# Course\nA course.\n\n",
            unit: { "## Chapter \($0)\n- \(point)\n- Second point \($0)\n\nNotes for chapter \($0).\n\n" }
        ),
        Shape(format: .markdown, name: "one huge chapter", head: "# Course\n## Only\n", unit: { "- \(point) \($0)\n" }),
        Shape(format: .markdown, name: "many tiny chapters", head: "# Course\n", unit: { "## C\($0)\n" }),
        Shape(
            format: .markdown,
            name: "one long line",
            head: "# Course\n## Only\n- ",
            unit: { "word\($0 % 10) " },
            tail: "\n"
        ),
        Shape(
            format: .markdown,
            name: "nested lists",
            head: "# Course\n## Only\n",
            unit: { index in
                (0..<8).map { String(repeating: "  ", count: $0) + "- level \($0) of \(index)\n" }.joined()
            }
        ),
        Shape(
            format: .markdown,
            name: "comments and code spans",
            head: "# Course\n## Only\n",
            unit: { "Text `code` <!-- comment --> ``more`` and <!-- another --> \($0)\n" }
        ),
        Shape(
            format: .yaml,
            name: "typical chapters",
            head: "title: Course\nchapters:\n",
            unit: { "  - title: Chapter \($0)\n    points:\n      - \(point)\n    notes: Notes \($0).\n" }
        ),
        Shape(
            format: .yaml,
            name: "one huge chapter",
            head: "title: Course\nchapters:\n  - title: Only\n    points:\n",
            unit: { "      - \(point) \($0)\n" }
        ),
        Shape(
            format: .yaml,
            name: "many tiny chapters",
            head: "title: Course\nchapters:\n",
            unit: { "  - title: C\($0)\n" }
        ),
        Shape(
            format: .yaml,
            name: "one long line",
            head: "title: Course\nchapters:\n  - title: Only\n    notes: \"",
            unit: { "word\($0 % 10) " },
            tail: "\"\n"
        ),
        Shape(
            format: .yaml,
            name: "flow style",
            head: "{title: Course, chapters: [",
            unit: { "{title: C\($0), points: [a, b]}, " },
            tail: "{title: Last}]}\n"
        ),
        Shape(
            format: .yaml,
            name: "nested 60 deep (refused)",
            head: "title: Course\nchapters:\n  - title: Only\n    points:\n",
            unit: { _ in "      - " + String(repeating: "[", count: 60) + "x" + String(repeating: "]", count: 60) + "\n"
            }
        ),
        Shape(
            format: .json,
            name: "typical chapters",
            head: "{\"title\": \"Course\", \"chapters\": [\n",
            unit: { "{\"title\": \"Chapter \($0)\", \"points\": [\"\(point)\"], \"notes\": \"Notes \($0).\"},\n" },
            tail: "{\"title\": \"Last\"}]}\n"
        ),
        Shape(
            format: .json,
            name: "one huge chapter",
            head: "{\"title\": \"Course\", \"chapters\": [{\"title\": \"Only\", \"points\": [\n",
            unit: { "\"\(point) \($0)\",\n" },
            tail: "\"last\"]}]}\n"
        ),
        Shape(
            format: .json,
            name: "one long line",
            head: "{\"title\": \"Course\", \"chapters\": [{\"title\": \"Only\", \"notes\": \"",
            unit: { "w\\u00e9rd\($0 % 10) " },
            tail: "\"}]}\n"
        ),
    ]

    static func main() {
        print("format    shape                         KiB      best ms   µs/KiB  outcome")
        for shape in shapes {
            for size in sizes {
                let bytes = Array(shape.text(size: size).utf8)
                let (best, outcome) = measure(bytes, shape.format)
                let kib = Double(bytes.count) / 1024
                let ms = Double(best.components.attoseconds) / 1e15 + Double(best.components.seconds) * 1000
                print(
                    pad(shape.format.rawValue, 9) + " " + pad(shape.name, 29) + " "
                        + pad(format(kib, 0), 6, right: true)
                        + "  " + pad(format(ms, 1), 10, right: true) + "  "
                        + pad(format(ms * 1000 / kib, 1), 7, right: true)
                        + "  " + outcome
                )
            }
        }
        let titles = (1...5000).map { "Chapter \($0): part \($0 % 7)" }
        let fiveThousand: [(OutlineFormat, String)] = [
            (.markdown, "# Course\n" + titles.map { "## \($0)\n- point\n" }.joined()),
            (
                .yaml,
                "title: Course\nchapters:\n" + titles.map { "  - title: \"\($0)\"\n    points: [point]\n" }.joined()
            ),
            (
                .json,
                "{\"title\": \"Course\", \"chapters\": ["
                    + titles.map { "{\"title\": \"\($0)\", \"points\": [\"point\"]}" }.joined(separator: ",\n") + "]}"
            ),
        ]
        for (format, text) in fiveThousand {
            let (best, outcome) = measure(Array(text.utf8), format)
            print("5,000 chapters in \(format.rawValue) (\(text.utf8.count / 1024) KiB): \(best): \(outcome)")
        }
        let huge = [UInt8](repeating: UInt8(ascii: "#"), count: 5_000_000)
        let (best, outcome) = measure(huge, .markdown)
        print("a 5 MB outline: refused in \(best): \(outcome)")
    }

    /// The best of three parses, and what the parse gave.
    static func measure(_ bytes: [UInt8], _ format: OutlineFormat) -> (Duration, String) {
        let clock = ContinuousClock()
        var best = Duration.seconds(3600)
        var outcome = ""
        for _ in 0..<3 {
            let start = clock.now
            do {
                let outline = try OutlineParser.parse(bytes, format: format, fileName: "generated")
                outcome = "\(outline.chapters.count) chapters"
            } catch {
                outcome = "refused: " + String(error.message.prefix(70))
            }
            best = min(best, clock.now - start)
        }
        return (best, outcome)
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return decimals == 0 ? String(Int(rounded)) : String(rounded)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
