import Foundation
import NIOConcurrencyHelpers

/// What the run writes besides the table: sections scenarios add (a breakdown too long for the
/// table), and the machine's load while it ran.
final class Report: Sendable {
    private let sections = NIOLockedValueBox<[(title: String, markdown: String)]>([])

    /// Adds a Markdown section, printed after the table under `### title`.
    func add(section title: String, _ markdown: String) {
        sections.withLockedValue { $0.append((title, markdown)) }
    }

    var addedSections: [(title: String, markdown: String)] { sections.withLockedValue { $0 } }
}

/// Samples the 1-minute load average while the benchmark runs: other builds on the same cores
/// distort figures, and the report says how busy the machine was.
final class LoadMonitor: Sendable {
    private let samples = NIOLockedValueBox<[Double]>([])

    /// Samples now and every `interval` until the calling task is cancelled.
    func run(every interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
                let load = ProcFS.loadAverage(text)
            {
                samples.withLockedValue { $0.append(load) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// "1-minute load average 2.31 on average, 3.90 at most (41 samples)".
    var summary: String {
        let values = samples.withLockedValue { $0 }
        guard let highest = values.max() else { return "load average not sampled" }
        let mean = values.reduce(0, +) / Double(values.count)
        return String(
            format: "1-minute load average %.2f on average, %.2f at most (%d samples, every 5 s)",
            mean,
            highest,
            values.count
        )
    }
}

/// The machine the figures come from.
enum Machine {
    static var description: String {
        let processors = ProcessInfo.processInfo.activeProcessorCount
        let model =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)).flatMap(ProcFS.cpuModel) ?? "unknown CPU"
        return "\(processors) cores (nproc), \(model)"
    }
}
