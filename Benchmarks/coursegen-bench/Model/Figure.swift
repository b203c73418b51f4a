import Foundation
import Platform

/// One figure a scenario measured, with the target it is held to.
struct Figure: Sendable {
    /// How a value is written. Sizes are decimal: 1 MB = 1,000,000 bytes, 1 KB = 1,000 bytes.
    enum Unit: Sendable, Hashable {
        case ratio, seconds, milliseconds, megabytes, kilobytes, count, percent

        func format(_ value: Double) -> String {
            switch self {
            case .ratio: String(format: "%.2f", value)
            case .seconds: String(format: "%.2f s", value)
            case .milliseconds: String(format: value < 10 ? "%.1f ms" : "%.0f ms", value)
            case .megabytes: String(format: "%.1f MB", value)
            case .kilobytes: String(format: "%.1f KB", value)
            case .count: value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.2f", value)
            case .percent: String(format: "%.1f %%", value)
            }
        }
    }

    /// What a value must be for the figure to hold.
    enum Target: Sendable, Hashable {
        case atMost(Double)
        case below(Double)
        case exactly(Double)

        func isMet(by value: Double) -> Bool {
            switch self {
            case .atMost(let limit): value <= limit
            case .below(let limit): value < limit
            case .exactly(let expected): value == expected
            }
        }

        func text(in unit: Unit) -> String {
            switch self {
            case .atMost(let limit): "≤ \(unit.format(limit))"
            case .below(let limit): "< \(unit.format(limit))"
            case .exactly(let expected): "= \(unit.format(expected))"
            }
        }
    }

    /// The scenario's number ("1", "7").
    var scenario: String
    /// What is measured, in a few words ("makespan / ideal, 60 chapters").
    var name: String
    /// The value in `unit`, or why there is none.
    var value: Result<Double, Failure>
    var unit: Unit
    var target: Target?
    /// Context for the details under the table ("1.31 s against an ideal of 1.25 s").
    var detail: String?

    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    init(
        _ scenario: String,
        _ name: String,
        _ value: Double,
        _ unit: Unit,
        target: Target? = nil,
        detail: String? = nil
    ) {
        self.scenario = scenario
        self.name = name
        self.value = .success(value)
        self.unit = unit
        self.target = target
        self.detail = detail
    }

    /// A figure that could not be measured; it never holds.
    static func failed(_ scenario: String, _ name: String, _ reason: String, unit: Unit, target: Target? = nil)
        -> Figure
    {
        var figure = Figure(scenario, name, 0, unit, target: target)
        figure.value = .failure(Failure(reason))
        return figure
    }

    /// A figure left out on purpose (`--max-chapters`); its text starts with "not run".
    static func notRun(_ scenario: String, _ name: String, _ reason: String, unit: Unit, target: Target? = nil)
        -> Figure
    {
        failed(scenario, name, reason, unit: unit, target: target)
    }

    /// Whether the figure was left out on purpose rather than failed.
    var isNotRun: Bool {
        if case .failure(let failure) = value { return failure.description.hasPrefix("not run") }
        return false
    }

    /// nil when the figure has no target or was not run; false when it could not be measured.
    var holds: Bool? {
        guard let target, !isNotRun else { return nil }
        switch value {
        case .success(let value): return target.isMet(by: value)
        case .failure: return false
        }
    }

    var valueText: String {
        switch value {
        case .success(let value): unit.format(value)
        case .failure(let failure): isNotRun ? failure.description : "not measured: \(failure)"
        }
    }
}

/// The report: the table (figure, value, target, holds) and the details under it, in Markdown.
enum ReportTable {
    static func markdown(_ figures: [Figure]) -> String {
        var lines = ["| # | figure | value | target | holds |", "| --- | --- | --- | --- | --- |"]
        for figure in figures {
            let target = figure.target.map { $0.text(in: figure.unit) } ?? "—"
            let holds = figure.isNotRun ? "not run" : figure.holds.map { $0 ? "yes" : "**no**" } ?? "—"
            lines.append(
                "| \(figure.scenario) | \(escaped(figure.name)) | \(escaped(figure.valueText)) | \(target) | \(holds) |"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per figure that has a detail, under its scenario's number.
    static func details(_ figures: [Figure]) -> String {
        figures.compactMap { figure in
            figure.detail.map { "- \(figure.scenario), \(figure.name): \($0)" }
        }.joined(separator: "\n") + "\n"
    }

    /// A cell cannot hold a raw `|` or a line break.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
