import FakeServerKit
import Foundation
import Generation
import Providers
import Platform

/// One run of coursegen's real engine, scheduler and Gemini provider, in this process over the
/// shared HTTP client, against a fresh `fake-gemini` process, on a fresh state folder: what
/// `coursegen generate` does, timed from the call to the published folder.
struct EngineRun: Sendable {
    /// What the run did and what it is compared with.
    struct Outcome: Sendable {
        var makespan: Duration
        var report: RunReport
        /// The latency the server draws for each chapter's first attempt, in chapter order.
        var latencies: [Duration]
        var statistics: FakeStatistics
        /// Whether the server saw exactly the prompts whose latencies were replicated.
        var promptsMatch: Bool
        /// With `watchesFirstPublish`: the start to the first chapter file in the output folder,
        /// and that chapter's position (1-based).
        var firstPublished: (after: Duration, chapter: Int)?

        var published: Int { report.chapters.count - report.failedChapters.count }
    }

    var title: String
    var chapters: Int
    /// `fake-gemini` flags besides the latency (quota, faults).
    var serverArguments: [String]
    /// The latency distribution the server draws from (`--latency`).
    var latencySpec: String
    var scheduler: Scheduler.Configuration
    /// The seed of the scheduler's jitter and backoff draws.
    var seed: UInt64 = 1
    /// How long a stream may stay silent before the attempt is cancelled (production: 60 s;
    /// the scaled scenarios pass `BenchContext.stallTimeout`); nil: no streaming, one
    /// `generateContent` per attempt.
    var stallTimeout: Duration? = GeminiProvider.Streaming().stallTimeout
    /// Whether to poll the output folder (every millisecond) for the first published chapter.
    var watchesFirstPublish = false
    /// Called with the server just before the engine starts, in a task of its own that is
    /// cancelled when the run ends (e.g. to switch a storm on for a while).
    var duringRun: (@Sendable (FakeGeminiProcess) async throws -> Void)?

    func run(in context: BenchContext) async throws -> Outcome {
        let folder = try context.makeFolder("engine")
        let text = BenchOutline.markdown(title: title, chapters: chapters)
        let outlinePath = "\(folder)/bench.md"
        try Data(text.utf8).write(to: URL(fileURLWithPath: outlinePath))
        let outline = try BenchOutline.parse(text)
        let requests = BenchOutline.requests(for: outline)
        let latencies = try Self.latencies(of: requests, spec: latencySpec)

        let server = try await FakeGeminiProcess.start(
            executable: context.fakeGemini,
            arguments: serverArguments + ["--latency", latencySpec],
            key: context.apiKey,
            folder: folder,
            httpClient: context.httpClient
        )
        do {
            let provider = try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(context.apiKey)!,
                httpClient: context.httpClient,
                streaming: stallTimeout.map { GeminiProvider.Streaming(stallTimeout: $0) }
            )
            let scheduler = Scheduler(
                provider: provider,
                configuration: scheduler,
                clock: ContinuousClock(),
                random: SeededGenerator(seed: seed)
            )
            let engine = Engine(
                stateDirectory: "\(folder)/state",
                scheduler: scheduler,
                logger: BenchContext.quietLogger
            )
            let job = Engine.Job(
                outlinePath: outlinePath,
                outline: outline,
                name: "bench",
                outputFolder: "\(folder)/output/bench",
                settings: GenerationSettings()
            )
            let start = ContinuousClock.now
            let watcher = watchesFirstPublish ? Task { await Self.firstChapterFile(in: job.outputFolder) } : nil
            let companion = duringRun.map { body in Task { try await body(server) } }
            let report: RunReport
            do {
                report = try await engine.run(job)
            } catch {
                watcher?.cancel()
                companion?.cancel()
                throw error
            }
            let makespan = ContinuousClock.now - start
            watcher?.cancel()
            companion?.cancel()
            if let companion { try await companion.value }
            let firstPublished = await watcher?.value.map { (after: $0.at - start, chapter: $0.chapter) }
            let statistics = try await server.statistics()
            await server.stop()
            return Outcome(
                makespan: makespan,
                report: report,
                latencies: latencies,
                statistics: statistics,
                promptsMatch: Set(statistics.byPrompt.keys) == Set(requests.map(\.prompt)),
                firstPublished: firstPublished
            )
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Polls `folder` every millisecond until a chapter file (`NN-slug.md`) appears in it; returns
    /// when it was seen and the chapter's number, or nil when cancelled first.
    static func firstChapterFile(in folder: String) async -> (at: ContinuousClock.Instant, chapter: Int)? {
        while !Task.isCancelled {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            if let chapter = names.lazy.filter({ $0.hasSuffix(".md") }).compactMap({ Int($0.prefix { $0.isNumber }) })
                .first
            {
                return (ContinuousClock.now, chapter)
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    /// The latencies `spec` draws for the first attempt of each request, as the server draws them.
    static func latencies(of requests: [ChapterRequest], spec: String) throws -> [Duration] {
        let model = try LatencyModel(spec: spec)
        return requests.map { model.latency(prompt: $0.prompt, attempt: 1) }
    }
}

extension Scheduler.Configuration {
    /// The scheduler of a user whose quota is `requestsPerMinute` (and Tier 1's 1M input tokens
    /// per minute), at `timeScale`: the rpm and tpm divided by the scale, the backoff (1 s doubling
    /// to 60 s) and the request timeout (300 s) multiplied by it.
    static func scaled(concurrency: Int = 8, requestsPerMinute: Int, timeScale: Double) -> Self {
        Self(
            concurrency: concurrency,
            requestsPerMinute: Int((Double(requestsPerMinute) / timeScale).rounded()),
            inputTokensPerMinute: Int((1_000_000 / timeScale).rounded()),
            maximumAttempts: 6,
            requestTimeout: .seconds(300 * timeScale),
            backoff: Backoff(initial: .seconds(timeScale), maximum: .seconds(60 * timeScale))
        )
    }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }

    /// Milliseconds as a Double.
    var milliseconds: Double { seconds * 1000 }
}
