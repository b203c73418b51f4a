import FakeServerKit
import Foundation
import Generation
import Platform

// Scenario 10, issue 9's figures: what streaming, publishing each chapter as it arrives and the
// adaptive in-flight limit buy, through the real engine in this process against a fake-gemini
// process at the context's time scale.

extension Scenario {
    static let streaming = Scenario(id: "10", title: "Streaming, early publication and overload (issue 9)") { context in
        var figures: [Figure] = []
        figures += await measured("10", "first published chapter") { try await firstPublication(context) }
        figures += await measured("10", "one hung request") { try await hungRequest(context) }
        figures += await measured("10", "60 % 503 stretch") { try await overloadStretch(context) }
        return figures
    }

    /// 24 chapters at concurrency 8: the start to the first chapter file in the folder, against
    /// the drawn latency of that chapter (a course that publishes only at the end would show the
    /// whole makespan here). At ten times the context's time scale (0.1 by default: chapters of
    /// 1.2–9 s), because the fixed cost of a run's start (the model check, the first gather and
    /// publish, fsyncs) does not shrink with the scale and would dominate 0.12 s chapters.
    private static func firstPublication(_ context: BenchContext) async throws -> [Figure] {
        let chapters = 24
        let scale = min(context.timeScale * 10, 1)
        var run = EngineRun(
            title: "First chapter \(chapters)",
            chapters: chapters,
            serverArguments: ["--rpm", "\(QuotaTier.tier1.requestsPerMinute)", "--quota-window", "\(60 * scale)"],
            latencySpec: "gemini-flash:scale=\(scale),seed=10",
            scheduler: .scaled(requestsPerMinute: QuotaTier.tier1.requestsPerMinute, timeScale: scale)
        )
        run.stallTimeout = .seconds(60 * scale)
        run.watchesFirstPublish = true
        let outcome = try await run.run(in: context)
        try outcome.check(chapters: chapters)
        guard let first = outcome.firstPublished, outcome.latencies.indices.contains(first.chapter - 1) else {
            throw BenchError("no chapter file was seen in the output folder before the run ended")
        }
        let latency = outcome.latencies[first.chapter - 1]
        let shortest = outcome.latencies.prefix(run.scheduler.concurrency).min() ?? latency
        return [
            Figure(
                "10",
                "start → first published chapter / that chapter's latency, \(chapters) chapters, concurrency 8 "
                    + "(time scale \(scale))",
                first.after / latency,
                .ratio,
                target: .atMost(1.2),
                detail: "chapter \(first.chapter) published after \(first.after.millisecondsText); its drawn latency "
                    + "\(latency.millisecondsText) (shortest of the first 8: \(shortest.millisecondsText)); the whole "
                    + "course took \(outcome.makespan.text)"
            )
        ]
    }

    /// One chapter whose first attempt's stream stays silent from the start (`stall:0`), the
    /// second answered normally, against the same chapter answered at once on a fresh server:
    /// (hung run − its answered attempt's drawn latency) − (clean run − its drawn latency) is
    /// what the hang cost, the run's fixed costs cancelling out. Also without streaming, where
    /// only the request timeout ends a hung request.
    private static func hungRequest(_ context: BenchContext) async throws -> [Figure] {
        let scheduler = Scheduler.Configuration.scaled(
            requestsPerMinute: QuotaTier.tier1.requestsPerMinute,
            timeScale: context.timeScale
        )
        let latencySpec = context.chapterLatencySpec(seed: 11)
        let model = try LatencyModel(spec: latencySpec)
        /// The run's time less the drawn latency of the attempt that was answered.
        func overhead(streaming: Bool, fault: String?) async throws -> (overhead: Duration, total: Duration) {
            var run = EngineRun(
                title: "Hung request",
                chapters: 1,
                serverArguments: fault.map { ["--fault-mix", "\($0)=1", "--max-failures", "1"] } ?? [],
                latencySpec: latencySpec,
                scheduler: scheduler
            )
            run.stallTimeout = streaming ? context.stallTimeout : nil
            let outcome = try await run.run(in: context)
            try outcome.check(chapters: 1)
            let attempts = fault == nil ? 1 : 2
            guard outcome.statistics.chapterRequests == attempts else {
                throw BenchError("expected \(attempts) requests, the server saw \(outcome.statistics.chapterRequests)")
            }
            guard let prompt = outcome.statistics.byPrompt.keys.first else { throw BenchError("no prompt was seen") }
            return (outcome.makespan - model.latency(prompt: prompt, attempt: attempts), outcome.makespan)
        }
        let bound = context.stallTimeout + scheduler.backoff.ceiling(afterAttempt: 1)
        let clean = try await overhead(streaming: true, fault: nil)
        let streamed = try await overhead(streaming: true, fault: "stall:0")
        let cleanWhole = try await overhead(streaming: false, fault: nil)
        let whole = try await overhead(streaming: false, fault: "hang")
        return [
            Figure(
                "10",
                "what one hung request costs, streaming (stall timeout \(context.stallTimeout.millisecondsText))",
                (streamed.overhead - clean.overhead).milliseconds,
                .milliseconds,
                target: .atMost(bound.milliseconds),
                detail: "the chapter took \(streamed.total.text) with the hang and \(clean.total.text) without (the "
                    + "difference less the two attempts' drawn latencies); the target is the stall timeout (60 s "
                    + "scaled) + the first backoff's ceiling (\(scheduler.backoff.ceiling(afterAttempt: 1).millisecondsText))"
            ),
            Figure(
                "10",
                "the same hang without streaming (request timeout \(scheduler.requestTimeout.millisecondsText))",
                (whole.overhead - cleanWhole.overhead).milliseconds,
                .milliseconds,
                detail: "a hung generateContent ends only at the request timeout (300 s scaled); the chapter took "
                    + "\(whole.total.text) with the hang and \(cleanWhole.total.text) without"
            ),
        ]
    }

    /// 60 chapters at concurrency 8 through a stretch in which the server answers 60 % of
    /// requests 503 "overloaded" at once (the first 300 s scaled of the run: the storm is switched
    /// on as the engine starts and off after it), with the scheduler's adaptive in-flight limit
    /// and without it.
    private static func overloadStretch(_ context: BenchContext) async throws -> [Figure] {
        let chapters = 60
        let stretch = 300 * context.timeScale
        var figures: [Figure] = []
        var outcomes: [Bool: EngineRun.Outcome] = [:]
        for adapts in [true, false] {
            var scheduler = Scheduler.Configuration.scaled(
                requestsPerMinute: QuotaTier.tier1.requestsPerMinute,
                timeScale: context.timeScale
            )
            scheduler.adaptsToOverload = adapts
            var run = EngineRun(
                title: "Overload \(chapters)",
                chapters: chapters,
                serverArguments: context.quotaArguments(requestsPerMinute: QuotaTier.tier1.requestsPerMinute),
                latencySpec: context.chapterLatencySpec(seed: 9),
                scheduler: scheduler
            )
            run.stallTimeout = context.stallTimeout
            run.duringRun = { server in
                try await server.storm(active: true, fraction: 0.6, seed: 9)
                // A run that ends first cancels this task; the server goes with the run then.
                try? await Task.sleep(for: .seconds(stretch))
                try? await server.storm(active: false)
            }
            let outcome = try await run.run(in: context)
            outcomes[adapts] = outcome
            let label = adapts ? "with the adaptive limit" : "without it (fixed 8 in flight)"
            let statistics = outcome.statistics
            figures += [
                Figure(
                    "10",
                    "60 % 503 stretch, \(label): requests / chapters",
                    Double(statistics.chapterRequests) / Double(chapters),
                    .ratio,
                    detail:
                        "\(statistics.chapterRequests) chapter requests, \(statistics.byStatus["503"] ?? 0) answered "
                        + "503; the stretch lasts \(String(format: "%.2f", stretch)) s (300 s scaled) from the engine's start"
                ),
                Figure(
                    "10",
                    "60 % 503 stretch, \(label): time to complete \(chapters) chapters",
                    outcome.makespan.seconds,
                    .seconds
                ),
                Figure(
                    "10",
                    "60 % 503 stretch, \(label): chapters published",
                    Double(outcome.published),
                    .count,
                    target: adapts ? .exactly(Double(chapters)) : nil,
                    detail: outcome.published == chapters
                        ? nil
                        : "the others used their 6 attempts inside the stretch and failed (a later run retries them)"
                ),
            ]
        }
        return figures
    }

    /// The figures `body` measures, or one figure saying why `part` could not be measured.
    private static func measured(
        _ scenario: String,
        _ part: String,
        _ body: () async throws -> [Figure]
    ) async -> [Figure] {
        do {
            return try await body()
        } catch {
            return [.failed(scenario, part, "\(error)", unit: .count)]
        }
    }
}
