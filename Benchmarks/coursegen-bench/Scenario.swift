import AsyncHTTPClient
import Foundation
import Logging

/// One scenario of the benchmark: its number, its title, and a function that measures it and
/// returns its figures.
///
/// To add one: write `extension Scenario { static let name = Scenario(id: "10", title: "...") {
/// context in ... }` in a file of its own (the helpers in Support/ start fake servers, daemons and
/// engine runs), and add it to `Scenario.all`. A scenario that throws is reported as "not
/// measured" with the error, and the others still run.
struct Scenario: Sendable {
    var id: String
    var title: String
    var measure: @Sendable (BenchContext) async throws -> [Figure]

    init(id: String, title: String, measure: @escaping @Sendable (BenchContext) async throws -> [Figure]) {
        self.id = id
        self.title = title
        self.measure = measure
    }

    /// Every scenario, in the order they run and appear in the table.
    static let all: [Scenario] = [
        .makespan, .baselines, .overQuota, .faultMix, .incremental, .scale, .idle, .saveToRequest, .footprint,
        .streaming,
    ]
}

/// What every scenario gets: the binaries under test, a work folder, the time scale, one HTTP
/// client for in-process runs (as a daemon has one), and options.
struct BenchContext: Sendable {
    /// The release `coursegen` the watch scenarios run.
    var coursegen: String
    /// The release `fake-gemini` the makespan scenarios run as a separate process.
    var fakeGemini: String
    /// The binary as `scripts/install.sh` puts it in place (scenario 9); nil: not measured.
    var installedBinary: String?
    /// Where scenarios keep their files; removed at the end.
    var folder: String
    /// Multiplies every latency, backoff and quota window of the realistic scenarios: 0.01 turns
    /// a 25 s chapter into 0.25 s and a minute's quota window into 0.6 s.
    var timeScale: Double
    /// How long the idle daemon of scenario 7 is watched.
    var idleSeconds: Int
    /// Outlines scenario 6 drops into the inbox.
    var scaleOutlines: Int
    /// `--max-chapters`: courses larger than this are not run.
    var maxChapters: Int?
    var httpClient: HTTPClient
    /// The key the fakes accept and the clients send.
    var apiKey = "bench-key"
    /// Where scenarios add sections too long for the table.
    var report: Report

    /// Why a course of `chapters` chapters is not run, or nil when it is.
    func skipReason(chapters: Int) -> String? {
        guard let maxChapters, chapters > maxChapters else { return nil }
        return "not run: \(chapters) chapters is over --max-chapters \(maxChapters)"
    }

    /// A fresh folder for one part of a scenario.
    func makeFolder(_ name: String) throws -> String {
        let path = "\(folder)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A quota of `requestsPerMinute` at real time, as the fake enforces it at this scale: the
    /// same number of requests in a window of 60 s · scale.
    func quotaArguments(requestsPerMinute: Int) -> [String] {
        ["--rpm", "\(requestsPerMinute)", "--quota-window", "\(60 * timeScale)"]
    }

    /// The client's `--rpm` for a real-time quota at this scale: R per minute becomes R / scale.
    func scaledRequestsPerMinute(_ requestsPerMinute: Int) -> Int {
        Int((Double(requestsPerMinute) / timeScale).rounded())
    }

    /// The provider's stall timeout (60 s in production) at this scale.
    var stallTimeout: Duration { .seconds(60 * timeScale) }

    /// Gemini 2.5 Flash's chapter latencies (log-normal, median 25 s, 12–90 s) at this scale.
    func chapterLatencySpec(seed: UInt64) -> String {
        "gemini-flash:scale=\(timeScale),seed=\(seed)"
    }

    /// Logs of in-process engines are dropped: the daemon's logging is measured in the watch
    /// scenarios, where it runs as in production.
    static let quietLogger = Logger(label: "coursegen-bench") { _ in SwiftLogNoOpLogHandler() }
}
