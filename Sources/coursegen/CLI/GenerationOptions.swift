import ArgumentParser
import Foundation

/// The options every generating command takes. Each is also settable as `COURSEGEN_<NAME>` in the
/// environment and as `<name>:` in the `--config` YAML file; a flag wins over the environment,
/// which wins over the file, which wins over the default.
struct GenerationOptions: ParsableArguments {
    @OptionGroup
    var common: CommonOptions

    @Option(help: ArgumentHelp("The provider that writes chapters (default: gemini, the only one).", valueName: "name"))
    var provider: String?

    @Option(
        name: .customLong("base-url"),
        help: ArgumentHelp("The API's base URL (default: https://generativelanguage.googleapis.com).", valueName: "url")
    )
    var baseURL: String?

    @Option(help: ArgumentHelp("The model (default: gemini-2.5-flash).", valueName: "name"))
    var model: String?

    @Option(help: ArgumentHelp("Most requests in flight at once (default: 8).", valueName: "n"))
    var concurrency: Int?

    @Option(help: ArgumentHelp("Requests per minute allowed by your quota (default: 1000, Tier 1).", valueName: "n"))
    var rpm: Int?

    @Option(help: ArgumentHelp("Input tokens per minute allowed by your quota (default: 1000000).", valueName: "n"))
    var tpm: Int?

    @Option(
        name: .customLong("max-attempts"),
        help: ArgumentHelp("Attempts per chapter, the first included (default: 6).", valueName: "n")
    )
    var maxAttempts: Int?

    @Option(
        name: .customLong("request-timeout"),
        help: ArgumentHelp("Seconds one request may take (default: 300).", valueName: "seconds")
    )
    var requestTimeout: Double?

    @Option(
        help: ArgumentHelp(
            "Sampling temperature, 0-2 (default: 0.7). Part of every chapter's cache key.",
            valueName: "t"
        )
    )
    var temperature: Double?

    @Option(
        name: .customLong("max-output-tokens"),
        help: ArgumentHelp(
            "Output budget per chapter, thinking included (default: 8192, raised for long chapters). Part of the cache key.",
            valueName: "n"
        )
    )
    var maxOutputTokens: Int?

    @Option(
        name: .customLong("thinking-budget"),
        help: ArgumentHelp("Thinking tokens: 0 off, -1 dynamic (default: 1024). Part of the cache key.", valueName: "n")
    )
    var thinkingBudget: Int?

    @Option(
        name: .customLong("api-key-file"),
        help: ArgumentHelp(
            "A file holding the Gemini API key (else GEMINI_API_KEY, or the systemd credential gemini-api-key).",
            valueName: "file"
        )
    )
    var apiKeyFile: String?

    @Option(
        name: .customLong("log-level"),
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default: info).",
            valueName: "level"
        )
    )
    var logLevel: String?

    /// The flags given, by setting name.
    func flags() -> [String: String] {
        var flags: [String: String] = [:]
        flags["provider"] = provider
        flags["base-url"] = baseURL
        flags["model"] = model
        flags["concurrency"] = concurrency.map(String.init)
        flags["rpm"] = rpm.map(String.init)
        flags["tpm"] = tpm.map(String.init)
        flags["max-attempts"] = maxAttempts.map(String.init)
        flags["request-timeout"] = requestTimeout.map { "\($0)" }
        flags["temperature"] = temperature.map { "\($0)" }
        flags["max-output-tokens"] = maxOutputTokens.map(String.init)
        flags["thinking-budget"] = thinkingBudget.map(String.init)
        flags["api-key-file"] = apiKeyFile
        flags["log-level"] = logLevel
        return flags
    }

    /// Resolves the settings, adding `extra` flags (a command's own options such as --output).
    func resolve(extra: [String: String?] = [:], environment: [String: String]) async throws -> Settings {
        var flags = self.flags()
        for (key, value) in extra { flags[key] = value }
        return try await common.resolve(flags: flags, environment: environment)
    }
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

    @Option(
        help: ArgumentHelp(
            "The state folder (default: $STATE_DIRECTORY, else $XDG_STATE_HOME/coursegen, else ~/.local/state/coursegen).",
            valueName: "dir"
        )
    )
    var state: String?

    /// Resolves settings from `flags` (plus --state), the environment and the config file.
    func resolve(flags: [String: String], environment: [String: String]) async throws -> Settings {
        var flags = flags
        flags["state"] = state
        return try await Settings.resolve(
            flags: flags,
            environment: environment,
            configFile: configFile(environment: environment)
        )
    }

    /// The state folder these options, the environment and the config file name.
    func stateFolder(environment: [String: String]) async throws -> String {
        try stateDirectory(try await resolve(flags: [:], environment: environment).state, environment: environment)
    }

    /// `--config`, else `$COURSEGEN_CONFIG`, else the user's `$XDG_CONFIG_HOME/coursegen/config.yaml`
    /// (`~/.config/coursegen/config.yaml`) when it exists.
    func configFile(environment: [String: String]) -> String? {
        if let config { return config }
        if let config = environment["COURSEGEN_CONFIG"], !config.isEmpty { return config }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? environment["HOME"].map { "\($0)/.config" }
        guard let base else { return nil }
        let path = "\(base)/coursegen/config.yaml"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
