import AsyncHTTPClient
import FakeGemini
import FakeOpenAI
import FakeServerKit
import Foundation
import Logging
import Synchronization
import TestSupport

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

/// A real engine, with a real provider and HTTP stack, against a fake server on 127.0.0.1 (the
/// fake Gemini, or with `openAI:` the fake OpenAI-compatible server), with state and output in a
/// temporary folder.
final class EngineHarness: Sendable {
    let server: any FakeServer
    let temp: TemporaryFolder
    let httpClient: HTTPClient
    let logs: LogRecorder
    let engine: Engine
    let settings: GenerationSettings
    let scheduler: Scheduler

    var state: String { "\(temp.path)/state" }
    var output: String { "\(temp.path)/out" }
    var inbox: String { "\(temp.path)/inbox" }

    /// A harness on `other`'s folders, with a new Gemini server.
    convenience init(reusing other: EngineHarness) async throws {
        try await self.init(settings: other.settings, temp: other.temp)
    }

    /// Against the fake Gemini.
    /// - Parameters:
    ///   - server: how the fake answers; `reply` replaces its `reply`.
    ///   - streaming: how the provider streams (nil: `generateContent`).
    convenience init(
        settings: GenerationSettings = GenerationSettings(),
        temp: TemporaryFolder? = nil,
        scheduler configuration: Scheduler.Configuration = EngineHarness.fastRetries,
        server serverConfiguration: FakeGeminiServer.Configuration = FakeGeminiServer.Configuration(),
        streaming: GeminiProvider.Streaming? = GeminiProvider.Streaming(),
        reply: @escaping @Sendable (FakeGeminiServer.Request) -> FakeGeminiServer.Reply = { _ in .success() }
    ) async throws {
        var serverConfiguration = serverConfiguration
        serverConfiguration.reply = reply
        let server = try await FakeGeminiServer.start(serverConfiguration)
        try self.init(server: server, settings: settings, temp: temp, scheduler: configuration) { httpClient in
            try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(FakeGeminiServer.defaultAPIKey)!,
                httpClient: httpClient,
                streaming: streaming
            )
        }
    }

    /// A second engine (a restarted process) on `other`'s folders and the same fake Gemini.
    convenience init(
        reusingServer server: FakeGeminiServer,
        folders other: EngineHarness,
        scheduler configuration: Scheduler.Configuration
    ) throws {
        try self.init(server: server, settings: other.settings, temp: other.temp, scheduler: configuration) {
            try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(FakeGeminiServer.defaultAPIKey)!,
                httpClient: $0
            )
        }
    }

    /// Against the fake OpenAI-compatible server, with `--provider openai` settings.
    /// - Parameters:
    ///   - openAI: how the fake answers; `reply` replaces its `reply`.
    ///   - apiKey: the key sent; nil sends none (a server on this machine that needs none).
    ///   - streaming: how the provider streams (nil: one whole answer).
    convenience init(
        openAI serverConfiguration: FakeOpenAIServer.Configuration,
        settings: GenerationSettings = GenerationSettings(provider: "openai", model: "gpt-4o-mini"),
        temp: TemporaryFolder? = nil,
        scheduler configuration: Scheduler.Configuration = EngineHarness.fastRetries,
        apiKey: String? = FakeOpenAIServer.defaultAPIKey,
        streaming: OpenAIProvider.Streaming? = OpenAIProvider.Streaming(),
        reply: @escaping @Sendable (FakeOpenAIServer.Request) -> FakeOpenAIServer.Reply = { _ in .success() }
    ) async throws {
        var serverConfiguration = serverConfiguration
        serverConfiguration.reply = reply
        let server = try await FakeOpenAIServer.start(serverConfiguration)
        try self.init(server: server, settings: settings, temp: temp, scheduler: configuration) { httpClient in
            try OpenAIProvider(
                baseURL: server.baseURL,
                apiKey: apiKey.flatMap(APIKey.init),
                httpClient: httpClient,
                streaming: streaming
            )
        }
    }

    /// Retries a few milliseconds apart, so tests of faults do not wait for real backoff.
    static let fastRetries = Scheduler.Configuration(
        backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))
    )

    private init(
        server: any FakeServer,
        settings: GenerationSettings,
        temp: TemporaryFolder?,
        scheduler configuration: Scheduler.Configuration,
        provider: (HTTPClient) throws -> any ChapterProvider
    ) throws {
        self.server = server
        self.temp = try temp ?? TemporaryFolder()
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        logs = LogRecorder()
        self.settings = settings
        scheduler = Scheduler(provider: try provider(httpClient), configuration: configuration)
        engine = Engine(stateDirectory: "\(self.temp.path)/state", scheduler: scheduler, logger: logs.logger)
    }

    /// Writes `text` as `inbox/<file>` and brings it up to date in `out/<stem>`.
    @discardableResult
    func generate(
        _ text: String,
        file: String = "course.md",
        force: Bool = false,
        settings: GenerationSettings? = nil,
        cost: CostPolicy = CostPolicy(),
        retriesBudgetSkips: Bool = true,
        batchOver: Int? = nil
    ) async throws -> RunReport {
        let path = try temp.write("inbox/\(file)", text)
        let name = Outline.folderName(forFile: file)!
        return try await engine.run(
            Engine.Job(
                outlinePath: path,
                name: name,
                outputFolder: "\(output)/\(name)",
                settings: settings ?? self.settings,
                force: force,
                cost: cost,
                retriesBudgetSkips: retriesBudgetSkips,
                batchOver: batchOver
            )
        )
    }

    /// Requests the server has answered or seen so far.
    var requests: Int { server.statistics.chapterRequestCount }

    /// The published folder's file names, sorted.
    func files(_ name: String = "course") -> [String] { temp.list("out/\(name)") }

    func chapter(_ file: String, in name: String = "course") -> String? { temp.read("out/\(name)/\(file)") }

    func shutdown() async throws {
        isShutDown.store(true, ordering: .relaxed)
        try await httpClient.shutdown()
        try await server.shutdown()
    }

    private let isShutDown = Atomic(false)

    /// A test that throws before `shutdown()` must fail alone: an HTTP client left running trips
    /// AsyncHTTPClient's debug check at deinit and takes the whole test process down with it.
    deinit {
        if !isShutDown.load(ordering: .relaxed) { try? httpClient.syncShutdown() }
    }
}
