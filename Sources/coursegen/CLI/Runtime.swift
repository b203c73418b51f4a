import ArgumentParser
import AsyncHTTPClient
import Foundation
import Generation
import Logging

/// The long-lived pieces a generating command needs: one HTTP client, one provider, one
/// scheduler, one engine.
struct Runtime {
    let engine: Engine
    let scheduler: Scheduler
    let httpClient: HTTPClient

    static func start(settings: Settings, state: String, environment: [String: String], logger: Logger) throws
        -> Runtime
    {
        let apiKey = try loadAPIKey(file: settings.apiKeyFile, environment: environment) { logger.warning("\($0)") }
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(15)
        configuration.httpVersion = .automatic
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let provider = try GeminiProvider(baseURL: settings.baseURL, apiKey: apiKey, httpClient: httpClient)
            let scheduler = Scheduler(provider: provider, configuration: settings.scheduler)
            let engine = Engine(
                configuration: Engine.Configuration(stateDirectory: state, settings: settings.generation),
                scheduler: scheduler,
                logger: logger
            )
            return Runtime(engine: engine, scheduler: scheduler, httpClient: httpClient)
        } catch {
            try? httpClient.syncShutdown()
            throw SettingsError("\(error)")
        }
    }

    func shutdown() async {
        await engine.cancelAll()
        try? await httpClient.shutdown()
    }
}

/// Runs `body`; if it throws, prints the error (`coursegen: ERROR`, or an outline's own
/// `FILE:LINE: what is wrong` as it is) and exits with `status`.
func orExit<T>(_ status: ExitCode, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        printError(error is OutlineError ? "\(error)" : "coursegen: \(error)")
        throw status
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
