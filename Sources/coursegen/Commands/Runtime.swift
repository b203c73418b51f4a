import ArgumentParser
import AsyncHTTPClient
import Foundation
import Generation
import Logging
import Providers
import Outlines

/// The long-lived pieces a generating command needs, one of each per process: the HTTP client,
/// the scheduler (and the provider it sends through), the engine (with its table of requests in
/// flight and its folder locks). A reload swaps the provider's key and the scheduler's limits;
/// it never builds a second engine or scheduler.
struct Runtime: Sendable {
    let engine: Engine
    let scheduler: Scheduler
    let httpClient: HTTPClient
    let state: StateDirectory

    static func start(settings: Settings, state: String, environment: [String: String], logger: Logger) throws
        -> Runtime
    {
        let apiKey = try loadAPIKey(for: settings, environment: environment) { logger.warning("\($0)") }
        let configuration = HTTPClient.Configuration.forProviders
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let provider = try makeProvider(settings: settings, apiKey: apiKey, httpClient: httpClient)
            let stateDirectory = StateDirectory(path: state)
            let scheduler = Scheduler(
                provider: provider,
                configuration: settings.scheduler,
                stop: stateDirectory.savedStop()
            )
            let engine = Engine(stateDirectory: state, scheduler: scheduler, logger: logger)
            return Runtime(engine: engine, scheduler: scheduler, httpClient: httpClient, state: stateDirectory)
        } catch {
            try? httpClient.syncShutdown()
            throw SettingsError("\(error)")
        }
    }

    /// Applies reloaded settings: new limits, the key read again (its file, credential or
    /// environment variable), and any stop lifted, so the next submission checks the key anew.
    /// - Throws: `SettingsError` when the key cannot be read; nothing is changed then.
    func reload(settings: Settings, environment: [String: String], logger: Logger) async throws {
        // The key file is read on the blocking pool, as every file is once the daemon runs.
        let apiKey = try await BlockingIO.shared.run {
            try loadAPIKey(for: settings, environment: environment) { logger.warning("\($0)") }
        }
        let provider: any ChapterProvider
        do {
            provider = try Self.makeProvider(settings: settings, apiKey: apiKey, httpClient: httpClient)
        } catch {
            throw SettingsError("\(error)")
        }
        await scheduler.update(settings.scheduler)
        await scheduler.replaceProvider(provider)
        await scheduler.resume()
        await engine.records.forgetStop()
    }

    /// The provider `settings` name, sending through `httpClient`.
    /// - Parameter apiKey: nil only where `loadAPIKey` allows it (openai on a loopback address).
    /// - Throws: `ProviderError` (.fatal) for an unusable base URL or a missing key.
    static func makeProvider(settings: Settings, apiKey: APIKey?, httpClient: HTTPClient) throws
        -> any ChapterProvider
    {
        let streaming = settings.stream ? StreamingSettings(stallTimeout: settings.stallTimeout) : nil
        switch settings.generation.provider {
        case "openai":
            return try OpenAIProvider(
                baseURL: settings.baseURL,
                apiKey: apiKey,
                httpClient: httpClient,
                streaming: streaming
            )
        default:
            guard let apiKey else { throw ProviderError(.fatal, "no Gemini API key") }
            return try GeminiProvider(
                baseURL: settings.baseURL,
                apiKey: apiKey,
                httpClient: httpClient,
                streaming: streaming
            )
        }
    }

    func shutdown() async {
        await engine.cancelAll()
        await engine.removeEmptyStagingFolders()
        try? await httpClient.shutdown()
    }
}

/// Runs `body`; if it throws, prints the error (`coursegen: ERROR`, or an outline's own
/// `FILE:LINE: what is wrong` as it is) and exits with `status`.
func orExit<T>(_ status: ExitCode, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        printError(error is OutlineError || error is PromptTemplateError ? "\(error)" : "coursegen: \(error)")
        throw status
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
