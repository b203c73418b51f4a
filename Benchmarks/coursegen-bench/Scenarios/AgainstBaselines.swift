import Foundation
import Generation
import Providers

extension Scenario {
    /// Scenario 2, unscaled because the issue states its target in real seconds: 30 chapters of
    /// 1 s ± 0.2 s (uniform 0.8–1.2 s), coursegen at concurrency 8 and --rpm 1000 against
    /// sequential requests and the fixed-delay pool with `nproc` and with 8 workers. Every run gets
    /// a fresh server with the same flags, so every run's first attempts draw the same latencies.
    static let baselines = Scenario(id: "2", title: "coursegen against sequential and fixed-delay pools") { context in
        let chapters = 30
        let latencySpec = "uniform:min=0.8,max=1.2,seed=2"
        let serverArguments = ["--rpm", "1000"]
        let title = "Baselines \(chapters)"
        let coursegen = try await EngineRun(
            title: title,
            chapters: chapters,
            serverArguments: serverArguments,
            latencySpec: latencySpec,
            scheduler: .scaled(requestsPerMinute: 1000, timeScale: 1)
        ).run(in: context)
        try coursegen.check(chapters: chapters)

        let outline = try BenchOutline.parse(BenchOutline.markdown(title: title, chapters: chapters))
        let requests = BenchOutline.requests(for: outline)
        let delays = PoolDelays(seed: 2).delays(jobs: chapters)
        let processors = ProcessInfo.processInfo.activeProcessorCount

        /// Runs `body` against a fresh server and returns its makespan.
        func baseline(_ body: @escaping @Sendable (GeminiProvider) async -> Baselines.Outcome) async throws -> Duration
        {
            let folder = try context.makeFolder("baseline")
            let server = try await FakeGeminiProcess.start(
                executable: context.fakeGemini,
                arguments: serverArguments + ["--latency", latencySpec],
                key: context.apiKey,
                folder: folder,
                httpClient: context.httpClient
            )
            let provider = try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(context.apiKey)!,
                httpClient: context.httpClient
            )
            let outcome = await body(provider)
            let statistics = try await server.statistics()
            await server.stop()
            guard outcome.failures == 0 else { throw BenchError("\(outcome.failures) baseline requests failed") }
            guard Set(statistics.byPrompt.keys) == Set(requests.map(\.prompt)), statistics.chapterRequests == chapters
            else { throw BenchError("the baseline's server saw other requests than coursegen's") }
            return outcome.makespan
        }

        let sequential = try await baseline { await Baselines.sequential(requests, provider: $0) }
        let poolProcessors = try await baseline {
            await Baselines.pool(requests, provider: $0, workers: processors, delays: delays)
        }
        let poolEight = try await baseline { await Baselines.pool(requests, provider: $0, workers: 8, delays: delays) }

        let arrivals = Schedules.arrivals(delays: delays)
        let perfect = Schedules.greedyMakespan(latencies: coursegen.latencies, slots: 8)
        func predicted(_ workers: Int) -> String {
            Schedules.poolMakespan(latencies: coursegen.latencies, arrivals: arrivals, workers: workers).text
        }
        return [
            Figure(
                "2",
                "coursegen / pool of 8 workers, \(chapters) chapters of 1 s ± 0.2 s",
                coursegen.makespan / poolEight,
                .ratio,
                target: .atMost(0.55),
                detail: "coursegen \(coursegen.makespan.text), pool of 8 \(poolEight.text) (its schedule predicts "
                    + "\(predicted(8))); a perfect schedule on 8 slots, \(perfect.text), would be "
                    + String(format: "%.2f", perfect / poolEight)
            ),
            Figure(
                "2",
                "coursegen / pool of nproc = \(processors) workers",
                coursegen.makespan / poolProcessors,
                .ratio,
                detail: "pool of \(processors) \(poolProcessors.text) (predicted \(predicted(processors)))"
            ),
            Figure(
                "2",
                "coursegen / sequential",
                coursegen.makespan / sequential,
                .ratio,
                detail: "sequential \(sequential.text); delays between pool submissions 0.1–0.5 s, seed 2"
            ),
        ]
    }
}
