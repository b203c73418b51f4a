import Foundation
import Generation

// Scenarios 1, 3 and 4: whole courses through the real engine, scheduler and provider in this
// process, against a fake-gemini process whose chapter latencies follow Gemini 2.5 Flash's
// (log-normal, median 25 s, 12–90 s) at the context's time scale.

/// A real quota and what it is called.
struct QuotaTier: Sendable {
    var name: String
    var requestsPerMinute: Int

    /// gemini-2.5-flash's free tier: the quota binds at concurrency 8 (8 chapters of ~25 s in
    /// flight would send ~19 a minute).
    static let free = QuotaTier(name: "free tier, 10 RPM", requestsPerMinute: 10)
    /// gemini-2.5-flash's paid Tier 1 (coursegen's default --rpm): the in-flight cap binds.
    static let tier1 = QuotaTier(name: "Tier 1, 1000 RPM", requestsPerMinute: 1000)
}

extension Scenario {
    static let makespan = Scenario(id: "1", title: "Makespan against the ideal, concurrency 8, --rpm = the quota") {
        context in
        var figures: [Figure] = []
        var rateLimited = 0
        var runs = 0
        for tier in [QuotaTier.free, .tier1] {
            for chapters in [12, 60, 240] {
                let name = "makespan / ideal, \(chapters) chapters, \(tier.name)"
                if let reason = context.skipReason(chapters: chapters) {
                    figures.append(.notRun("1", name, reason, unit: .ratio, target: .atMost(1.10)))
                    continue
                }
                let run = EngineRun(
                    title: "Makespan \(chapters) \(tier.requestsPerMinute)",
                    chapters: chapters,
                    serverArguments: context.quotaArguments(requestsPerMinute: tier.requestsPerMinute),
                    latencySpec: context.chapterLatencySpec(seed: 1),
                    scheduler: .scaled(requestsPerMinute: tier.requestsPerMinute, timeScale: context.timeScale),
                    stallTimeout: context.stallTimeout
                )
                do {
                    let outcome = try await run.run(in: context)
                    try outcome.check(chapters: chapters)
                    rateLimited += outcome.statistics.rateLimited
                    runs += 1
                    let ideal = Schedules.ideal(
                        latencies: outcome.latencies,
                        slots: run.scheduler.concurrency,
                        requestsPerMinute: run.scheduler.requestsPerMinute
                    )
                    figures.append(
                        Figure(
                            "1",
                            name,
                            outcome.makespan / ideal.value,
                            .ratio,
                            target: .atMost(1.10),
                            detail: "\(outcome.makespan.text) against an ideal of \(ideal.value.text) (quota bound "
                                + "\(ideal.quotaBound.text), 8 slots \(ideal.slotBound.text): the \(ideal.binding) bind); "
                                + "\(outcome.statistics.maxInFlight) most in flight"
                        )
                    )
                } catch {
                    figures.append(.failed("1", name, "\(error)", unit: .ratio, target: .atMost(1.10)))
                }
            }
        }
        figures.append(
            Figure(
                "1",
                "429s in the \(runs) runs above",
                Double(rateLimited),
                .count,
                target: .exactly(0)
            )
        )
        return figures
    }

    static let overQuota = Scenario(id: "3", title: "--rpm twice the server's quota") { context in
        let chapters = 60
        let tier = QuotaTier.free
        let run = EngineRun(
            title: "Over quota \(chapters)",
            chapters: chapters,
            serverArguments: context.quotaArguments(requestsPerMinute: tier.requestsPerMinute),
            latencySpec: context.chapterLatencySpec(seed: 3),
            scheduler: .scaled(requestsPerMinute: 2 * tier.requestsPerMinute, timeScale: context.timeScale),
            stallTimeout: context.stallTimeout
        )
        let outcome = try await run.run(in: context)
        let requests = outcome.statistics.chapterRequests
        let share = 100 * Double(outcome.statistics.rateLimited) / Double(max(requests, 1))
        let ideal = Schedules.ideal(
            latencies: outcome.latencies,
            slots: run.scheduler.concurrency,
            requestsPerMinute: context.scaledRequestsPerMinute(tier.requestsPerMinute)
        )
        return [
            Figure(
                "3",
                "chapters published of \(chapters), --rpm 20 against \(tier.name)",
                Double(outcome.published),
                .count,
                target: .exactly(Double(chapters))
            ),
            Figure(
                "3",
                "429s / requests, --rpm 20 against \(tier.name)",
                share,
                .percent,
                target: .atMost(10),
                detail: "\(outcome.statistics.rateLimited) 429s in \(requests) chapter requests; "
                    + "\(outcome.makespan.text), \(String(format: "%.2f", outcome.makespan / ideal.value)) × the ideal "
                    + "at the server's quota (\(ideal.value.text))"
            ),
        ]
    }

    static let faultMix = Scenario(id: "4", title: "A fault mix against a fault-free run") { context in
        let chapters = 60
        let tier = QuotaTier.tier1
        func run(_ faults: [String]) -> EngineRun {
            EngineRun(
                title: "Fault mix \(chapters)",
                chapters: chapters,
                serverArguments: context.quotaArguments(requestsPerMinute: tier.requestsPerMinute) + faults,
                latencySpec: context.chapterLatencySpec(seed: 4),
                scheduler: .scaled(requestsPerMinute: tier.requestsPerMinute, timeScale: context.timeScale),
                stallTimeout: context.stallTimeout
            )
        }
        let clean = try await run([]).run(in: context)
        try clean.check(chapters: chapters)
        let faulty = try await run(["--fault-mix", FaultMixes.issue12, "--max-failures", "3", "--seed", "4"])
            .run(in: context)
        let requests = faulty.statistics.chapterRequests
        return [
            Figure(
                "4",
                "makespan with faults / fault-free makespan, \(chapters) chapters",
                faulty.makespan / clean.makespan,
                .ratio,
                detail: "\(faulty.makespan.text) against \(clean.makespan.text); faults: \(FaultMixes.issue12), "
                    + "at most 3 per chapter; backoff 1 s doubling to 60 s, scaled"
            ),
            Figure(
                "4",
                "requests / chapters with faults",
                Double(requests) / Double(chapters),
                .ratio,
                detail: "\(requests) chapter requests for \(chapters) chapters; replies by status: "
                    + faulty.statistics.byStatus.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                    .joined(separator: ", ")
            ),
            Figure(
                "4",
                "chapters published of \(chapters) with faults",
                Double(faulty.published),
                .count,
                target: .exactly(Double(chapters))
            ),
        ]
    }
}

/// Fault mixes as `fake-gemini --fault-mix` takes them.
enum FaultMixes {
    /// Issue 12's: 15 % 503, 5 % 500, 5 % empty answers, 3 % malformed JSON, 3 % connection resets.
    static let issue12 = "503=0.15,500=0.05,empty=0.05,malformed=0.03,reset=0.03"
}

extension EngineRun.Outcome {
    /// Throws unless every chapter was published, and the server's prompts are the ones whose
    /// latencies the ideal was computed from.
    func check(chapters: Int) throws {
        guard published == chapters else {
            throw BenchError(
                "\(chapters - published) of \(chapters) chapters failed: \(report.failedChapters.first.map { "\($0.outcome)" } ?? "")"
            )
        }
        guard promptsMatch else { throw BenchError("the server saw other prompts than the ideal was computed for") }
    }
}

extension Duration {
    /// "1.23 s".
    var text: String { String(format: "%.2f s", seconds) }

    /// "312 ms".
    var millisecondsText: String { String(format: "%.0f ms", milliseconds) }
}
