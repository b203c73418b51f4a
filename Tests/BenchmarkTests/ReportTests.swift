import Testing

@testable import coursegen_bench
import Platform

@Suite("The report table")
struct ReportTests {
    @Test(
        "a target holds exactly when the value meets it",
        arguments: [
            (Figure.Target.atMost(1.10), 1.10, true), (.atMost(1.10), 1.11, false),
            (.below(30), 29.9, true), (.below(30), 30, false),
            (.exactly(1), 1, true), (.exactly(1), 2, false),
        ]
    )
    func targets(target: Figure.Target, value: Double, holds: Bool) {
        #expect(Figure("1", "x", value, .ratio, target: target).holds == holds)
    }

    @Test("a figure without a target neither holds nor fails; one not measured never holds")
    func holds() {
        #expect(Figure("1", "x", 3, .count).holds == nil)
        #expect(Figure.failed("1", "x", "timed out", unit: .ratio, target: .atMost(1.1)).holds == false)
        #expect(Figure.failed("1", "x", "timed out", unit: .ratio).valueText == "not measured: timed out")
    }

    @Test(
        "values are written in their unit",
        arguments: [
            (Figure.Unit.ratio, 1.046, "1.05"), (.seconds, 2.841, "2.84 s"), (.milliseconds, 312.4, "312 ms"),
            (.milliseconds, 3.14, "3.1 ms"), (.megabytes, 44.12, "44.1 MB"), (.kilobytes, 7.26, "7.3 KB"),
            (.count, 240, "240"), (.count, 1.456, "1.46"), (.percent, 9.09, "9.1 %"),
        ]
    )
    func units(unit: Figure.Unit, value: Double, text: String) {
        #expect(unit.format(value) == text)
    }

    @Test("the table has one row per figure: number, name, value, target and whether it holds")
    func table() {
        let table = ReportTable.markdown([
            Figure("1", "makespan / ideal, 12 chapters", 1.04, .ratio, target: .atMost(1.10)),
            Figure("7", "resident memory", 44.1, .megabytes, target: .below(30)),
            Figure("9", "stripped | size", 81.2, .megabytes),
        ])
        #expect(
            table == """
                | # | figure | value | target | holds |
                | --- | --- | --- | --- | --- |
                | 1 | makespan / ideal, 12 chapters | 1.04 | ≤ 1.10 | yes |
                | 7 | resident memory | 44.1 MB | < 30.0 MB | **no** |
                | 9 | stripped \\| size | 81.2 MB | — | — |

                """
        )
    }

    @Test("details list the figures that have one, under their scenario's number")
    func details() {
        let details = ReportTable.details([
            Figure("1", "a", 1, .ratio, detail: "1.31 s against 1.25 s"),
            Figure("2", "b", 1, .ratio),
        ])
        #expect(details == "- 1, a: 1.31 s against 1.25 s\n")
    }
}
