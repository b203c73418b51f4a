import ArgumentParser
import AsyncHTTPClient
import Foundation
import Generation
import Providers

/// `coursegen models`: the Gemini models the key can use for `generateContent`, every page of
/// `GET /v1beta/models`, with the configured model and the default marked.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract:
            "List the Gemini models the API key can write chapters with, marking the configured model and the default.",
        discussion: """
            Exits 78 when the key is refused, 69 when the list cannot be read (the API unreachable \
            or failing). The key travels in the x-goog-api-key header, as for chapters.
            """
    )

    @OptionGroup
    var common: CommonOptions

    @Option(name: Setting.baseURL.flagName, help: Setting.baseURL.help) var baseURL: String?
    @Option(name: Setting.model.flagName, help: Setting.model.help) var model: String?
    @Option(name: Setting.apiKeyFile.flagName, help: Setting.apiKeyFile.help) var apiKeyFile: String?

    @Flag(help: "Print JSON for tools: an array of {name, displayName, configured, default}.")
    var json = false

    func validate() throws { try SettingFlags.validate(self) }

    /// One line of the listing.
    struct Entry: Codable, Equatable {
        var name: String
        var displayName: String
        var configured: Bool
        var `default`: Bool
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try await orExit(Exit.badConfiguration) {
            try SettingSources(command: self, config: common.config).resolve(environment: environment).settings
        }
        guard settings.generation.provider == "gemini" else {
            printError("coursegen: models lists Gemini models; provider is \(settings.generation.provider)")
            throw Exit.badConfiguration
        }
        let apiKey = try await orExit(Exit.badConfiguration) {
            try loadAPIKey(for: settings, environment: environment) { printError("coursegen: \($0)") }
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .forProviders)
        let result: Result<[GeminiModel], any Error>
        do {
            guard let apiKey else { throw ProviderError(.fatal, "no Gemini API key") }
            let provider = try GeminiProvider(baseURL: settings.baseURL, apiKey: apiKey, httpClient: httpClient)
            result = .success(try await provider.usableModels())
        } catch {
            result = .failure(error)
        }
        try? await httpClient.shutdown()
        let models: [GeminiModel]
        switch result {
        case .success(let listed):
            models = listed
        case .failure(let error):
            printError("coursegen: the models could not be listed: \(error)")
            let refused = (error as? ProviderError).map {
                $0.disposition == .stopEverything || $0.disposition == .fatal
            }
            throw refused ?? true ? Exit.badConfiguration : Exit.unavailable
        }
        let entries = Self.entries(models, configured: settings.generation.model)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
            return
        }
        print(Self.describe(entries, configured: settings.generation.model))
    }

    /// The listed models with the configured one and the default marked, in the API's order.
    static func entries(_ models: [GeminiModel], configured: String) -> [Entry] {
        models.map {
            Entry(
                name: $0.name,
                displayName: $0.displayName,
                configured: $0.name == configured,
                default: $0.name == GenerationSettings.defaultModel
            )
        }
    }

    /// The listing for the terminal: one model a line, and a warning when the configured model is
    /// not among them.
    static func describe(_ entries: [Entry], configured: String) -> String {
        let width = entries.map(\.name.count).max() ?? 0
        var lines = entries.map { entry in
            let marks = [entry.configured ? "configured" : nil, entry.default ? "default" : nil].compactMap { $0 }
            let padded = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let suffix = marks.isEmpty ? "" : "  (\(marks.joined(separator: ", ")))"
            return "\(padded)  \(entry.displayName)\(suffix)"
        }
        if entries.isEmpty { lines.append("The key can use no model for generateContent.") }
        if !entries.contains(where: \.configured) {
            lines.append("The configured model \(configured) is not among them: no chapter can be written with it.")
        }
        return lines.joined(separator: "\n")
    }
}
