import ArgumentParser
import Foundation

/// The setting flags every generating command takes (see `Setting.all`). Each is also
/// `COURSEGEN_<NAME>` in the environment and `<name>:` in the `--config` YAML file; a flag wins
/// over the environment, which wins over the file, which wins over the default.
///
/// Numbers are read with `parsing: .unconditional`: the word after the flag is its value even when
/// it starts with a dash, so `--thinking-budget -1` is taken, and `--rpm -1` is refused for its
/// value rather than reported as a missing one.
struct GenerationOptions: ParsableArguments {
    @OptionGroup
    var common: CommonOptions

    @Option(name: Setting.provider.flagName, help: Setting.provider.help) var provider: String?
    @Option(name: Setting.baseURL.flagName, help: Setting.baseURL.help) var baseURL: String?
    @Option(name: Setting.model.flagName, help: Setting.model.help) var model: String?
    @Option(name: Setting.concurrency.flagName, parsing: .unconditional, help: Setting.concurrency.help) var concurrency: String?
    @Option(name: Setting.rpm.flagName, parsing: .unconditional, help: Setting.rpm.help) var rpm: String?
    @Option(name: Setting.tpm.flagName, parsing: .unconditional, help: Setting.tpm.help) var tpm: String?
    @Option(name: Setting.maxAttempts.flagName, parsing: .unconditional, help: Setting.maxAttempts.help) var maxAttempts: String?
    @Option(name: Setting.requestTimeout.flagName, parsing: .unconditional, help: Setting.requestTimeout.help) var requestTimeout: String?
    @Option(name: Setting.serviceTier.flagName, help: Setting.serviceTier.help) var serviceTier: String?
    @Flag(name: Setting.stream.flagName, inversion: .prefixedNo, help: Setting.stream.help) var stream: Bool?
    @Option(name: Setting.stallTimeout.flagName, parsing: .unconditional, help: Setting.stallTimeout.help) var stallTimeout: String?
    @Option(name: Setting.temperature.flagName, parsing: .unconditional, help: Setting.temperature.help) var temperature: String?
    @Option(name: Setting.maxOutputTokens.flagName, parsing: .unconditional, help: Setting.maxOutputTokens.help) var maxOutputTokens: String?
    @Option(name: Setting.thinkingBudget.flagName, parsing: .unconditional, help: Setting.thinkingBudget.help) var thinkingBudget: String?
    @Option(name: Setting.thinkingLevel.flagName, help: Setting.thinkingLevel.help) var thinkingLevel: String?
    @Option(name: Setting.prices.flagName, help: Setting.prices.help) var prices: String?
    @Option(name: Setting.budget.flagName, parsing: .unconditional, help: Setting.budget.help) var budget: String?
    @Option(name: Setting.context.flagName, help: Setting.context.help) var context: String?
    @Option(name: Setting.systemTemplate.flagName, help: Setting.systemTemplate.help) var systemTemplate: String?
    @Option(name: Setting.chapterTemplate.flagName, help: Setting.chapterTemplate.help) var chapterTemplate: String?
    @Flag(name: Setting.allowHTML.flagName, inversion: .prefixedNo, help: Setting.allowHTML.help) var allowHTML: Bool?
    @Option(name: Setting.apiKeyFile.flagName, help: Setting.apiKeyFile.help) var apiKeyFile: String?
    @Option(name: Setting.logLevel.flagName, help: Setting.logLevel.help) var logLevel: String?

    func validate() throws { try SettingFlags.validate(self) }
}

/// The options every command that reads settings takes: where settings and state live.
struct CommonOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A YAML file of settings: flat `name: value` lines, named as the options (default: $COURSEGEN_CONFIG, else ~/.config/coursegen/config.yaml if it exists).",
            valueName: "file"
        )
    )
    var config: String?

    @Option(name: Setting.state.flagName, help: Setting.state.help) var state: String?

    func validate() throws { try SettingFlags.validate(self) }

    /// The state folder these options, the environment and the config file name.
    /// - Throws: `SettingsError`.
    func stateFolder(environment: [String: String]) throws -> String {
        let settings = try SettingSources(command: self, config: config).resolve(environment: environment).settings
        return try stateDirectory(settings.state, environment: environment)
    }
}
