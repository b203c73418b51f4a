import ArgumentParser
import AsyncHTTPClient
import Foundation

/// coursegen's benchmark: every scenario of BENCHMARKS.md, one table. `scripts/benchmark.sh`
/// builds the release binaries and runs it; it is never run by `swift test`.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coursegen-bench",
        abstract: "Runs coursegen's benchmark scenarios against the fake Gemini server and prints one table.",
        discussion: """
            Scenarios: \(Scenario.all.map { "\($0.id) \($0.title)" }.joined(separator: "; ")).
            """
    )

    @Option(help: "Comma-separated scenario numbers to run (default: all).")
    var only: String?

    @Option(help: "The release coursegen binary the watch scenarios run (default: beside this program).")
    var coursegen: String?

    @Option(help: "The fake-gemini binary the makespan scenarios run (default: beside this program).")
    var fakeGemini: String?

    @Option(help: "The binary as scripts/install.sh puts it in place, for scenario 9 (default: --coursegen).")
    var installedBinary: String?

    @Option(help: "Multiplies latencies, backoff and quota windows: 0.01 turns a 25 s chapter into 0.25 s.")
    var timeScale: Double = 0.01

    @Option(help: "Seconds the idle daemon of scenario 7 is watched.")
    var idleSeconds: Int = 60

    @Option(help: "Outlines of 10 chapters scenario 6 drops into the inbox at once.")
    var scaleOutlines: Int = 1000

    @Option(help: "Courses of more chapters than this are not run, and the table says so (default: every size).")
    var maxChapters: Int?

    @Option(help: "Also write the report (Markdown) to this file.")
    var markdown: String?

    @Option(help: "The command to name in the report (scripts/benchmark.sh passes itself).")
    var command: String?

    @Option(help: "The toolchain to name in the report.")
    var toolchain: String?

    func validate() throws {
        guard timeScale > 0, timeScale <= 1 else { throw ValidationError("--time-scale must be in (0, 1].") }
        guard idleSeconds >= 1 else { throw ValidationError("--idle-seconds must be 1 or more.") }
        guard scaleOutlines >= 1 else { throw ValidationError("--scale-outlines must be 1 or more.") }
        if let maxChapters, maxChapters < 1 { throw ValidationError("--max-chapters must be 1 or more.") }
        let known = Set(Scenario.all.map(\.id))
        for id in selectedIDs where !known.contains(id) {
            throw ValidationError(
                "--only: no scenario \(id); there are \(Scenario.all.map(\.id).joined(separator: ", "))."
            )
        }
    }

    private var selectedIDs: [String] {
        only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
    }

    func run() async throws {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let coursegen = absolute(self.coursegen ?? "\(here)/coursegen")
        let fakeGemini = absolute(self.fakeGemini ?? "\(here)/fake-gemini")
        for binary in [coursegen, fakeGemini] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw ValidationError("no executable at \(binary): build it (swift build -c release) or name it.")
        }
        var template = Array("\(NSTemporaryDirectory())/coursegen-bench-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ValidationError("cannot make a temporary folder") }
        let folder = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // As the daemon's: the same pool and timeouts.
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration.forProviders
        )
        let report = Report()
        let context = BenchContext(
            coursegen: coursegen,
            fakeGemini: fakeGemini,
            installedBinary: installedBinary.map(absolute),
            folder: folder,
            timeScale: timeScale,
            idleSeconds: idleSeconds,
            scaleOutlines: scaleOutlines,
            maxChapters: maxChapters,
            httpClient: httpClient,
            report: report
        )
        let selected = selectedIDs.isEmpty ? Scenario.all : Scenario.all.filter { selectedIDs.contains($0.id) }
        let monitor = LoadMonitor()
        let started = Date()
        let clockStart = ContinuousClock.now

        let figures = await withTaskGroup(of: [Figure]?.self) { group in
            group.addTask {
                await monitor.run()
                return nil
            }
            var figures: [Figure] = []
            for scenario in selected {
                progress("== \(scenario.id). \(scenario.title)")
                let scenarioStart = ContinuousClock.now
                let measured: [Figure]
                do {
                    measured = try await scenario.measure(context)
                } catch {
                    measured = [.failed(scenario.id, scenario.title, "\(error)", unit: .count)]
                }
                for figure in measured {
                    progress(
                        "   \(figure.name): \(figure.valueText)\(figure.holds.map { $0 ? "" : "  (target missed)" } ?? "")"
                    )
                }
                progress("   (\((ContinuousClock.now - scenarioStart).text))")
                figures += measured
            }
            group.cancelAll()
            return figures
        }
        try await httpClient.shutdown()

        let elapsed = ContinuousClock.now - clockStart
        let held = figures.compactMap(\.holds)
        var text = """
            Run \(ISO8601DateFormatter().string(from: started)), \(String(format: "%.0f", elapsed.seconds)) s, \
            time scale \(timeScale) (a 25 s chapter takes \(String(format: "%g", 25 * timeScale)) s).
            Machine: \(Machine.description); \(monitor.summary).
            Command: `\(command ?? (["coursegen-bench"] + CommandLine.arguments.dropFirst()).joined(separator: " "))`
            """
        if let toolchain { text += "\nToolchain: \(toolchain)" }
        text += "\n\n" + ReportTable.markdown(figures)
        text += "\n\(held.filter { $0 }.count) of \(held.count) targets hold.\n"
        text += "\n### Details\n\n" + ReportTable.details(figures)
        for section in report.addedSections {
            text += "\n### \(section.title)\n\n\(section.markdown)"
        }
        print(text)
        if let markdown {
            try Data(text.utf8).write(to: URL(fileURLWithPath: markdown))
        }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// Progress on standard error; the report goes to standard output.
func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
