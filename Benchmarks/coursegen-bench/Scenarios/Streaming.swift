import FakeServerKit
import Foundation
import Generation

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
    /// whole makespan here).
    private static func firstPublication(_ context: BenchContext) async throws -> [Figure] {
        let chapters = 24
        var run = EngineRun(
            title: "First chapter \(chapters)",
            chapters: chapters,
            serverArguments: context.quotaArguments(requestsPerMinute: QuotaTier.tier1.requestsPerMinute),
            latencySpec: context.chapterLatencySpec(seed: 10),
            scheduler: .scaled(requestsPerMinute: QuotaTier.tier1.requestsPerMinute, timeScale: context.timeScale)
        )
        run.stallTimeout = context.stallTimeout
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
                "start → first published chapter / that chapter's latency, \(chapters) chapters, concurrency 8",
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
    /// second answered normally: the run's time minus the second attempt's drawn latency is what
    /// the hang cost. Also without streaming, where only the request timeout ends it.
    private static func hungRequest(_ context: BenchContext) async throws -> [Figure] {
        let scheduler = Scheduler.Configuration.scaled(
            requestsPerMinute: QuotaTier.tier1.requestsPerMinute,
            timeScale: context.timeScale
        )
        func cost(streaming: Bool) async throws -> (cost: Duration, total: Duration) {
            var run = EngineRun(
                title: "Hung \(streaming ? "streamed" : "whole")",
                chapters: 1,
                serverArguments: ["--fault-mix", streaming ? "stall:0=1" : "hang=1", "--max-failures", "1"],
                latencySpec: context.chapterLatencySpec(seed: 11),
                scheduler: scheduler
            )
            run.stallTimeout = streaming ? context.stallTimeout : nil
            let outcome = try await run.run(in: context)
            try outcome.check(chapters: 1)
            guard outcome.statistics.chapterRequests == 2 else {
                throw BenchError(
                    "expected one hung and one answered request, the server saw \(outcome.statistics.chapterRequests)"
                )
            }
            let model = try LatencyModel(spec: run.latencySpec)
            let prompt = BenchOutline.requests(
                for: try BenchOutline.parse(BenchOutline.markdown(title: run.title, chapters: 1))
            )[0].prompt
            return (outcome.makespan - model.latency(prompt: prompt, attempt: 2), outcome.makespan)
        }
        let bound = context.stallTimeout + scheduler.backoff.ceiling(afterAttempt: 1)
        let streamed = try await cost(streaming: true)
        let whole = try await cost(streaming: false)
        return [
            Figure(
                "10",
                "what one hung request costs, streaming (stall timeout \(context.stallTimeout.millisecondsText))",
                streamed.cost.milliseconds,
                .milliseconds,
                target: .atMost(bound.milliseconds),
                detail: "the chapter took \(streamed.total.text), of which its answered attempt's drawn latency is the "
                    + "rest; the target is the stall timeout (60 s scaled) + the first backoff's ceiling "
                    + "(\(scheduler.backoff.ceiling(afterAttempt: 1).millisecondsText))"
            ),
            Figure(
                "10",
                "the same hang without streaming (request timeout \(scheduler.requestTimeout.millisecondsText))",
                whole.cost.milliseconds,
                .milliseconds,
                detail: "a hung generateContent ends only at the request timeout (300 s scaled); the chapter took "
                    + whole.total.text
            ),
        ]
    }

    /// 60 chapters at concurrency 8 through a stretch in which the server answers 60 % of
    /// requests 503 "overloaded" at once (150 s scaled, from the server's start), with the
    /// scheduler's adaptive in-flight limit and without it.
    private static func overloadStretch(_ context: BenchContext) async throws -> [Figure] {
        let chapters = 60
        let stretch = 150 * context.timeScale
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
                serverArguments: context.quotaArguments(requestsPerMinute: QuotaTier.tier1.requestsPerMinute)
                    + ["--storm-fraction", "0.6", "--storm-window", "0-\(stretch)", "--storm-seed", "9"],
                latencySpec: context.chapterLatencySpec(seed: 9),
                scheduler: scheduler
            )
            run.stallTimeout = context.stallTimeout
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
                        + "503; the stretch lasts \(String(format: "%.2f", stretch)) s (150 s scaled)"
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
