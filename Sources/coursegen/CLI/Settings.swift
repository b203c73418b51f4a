import Configuration
import Foundation
import Generation
import Logging
import SystemPackage
import Yams

/// Every setting coursegen reads, resolved once at the edge: command-line flag, then the
/// `COURSEGEN_<NAME>` environment variable, then the `--config` YAML file, then the default.
struct Settings: Sendable {
    var generation = GenerationSettings()
    var scheduler = Scheduler.Configuration()
    var baseURL = "https://generativelanguage.googleapis.com"
    var apiKeyFile: String?
    var state: String?
    var inbox: String?
    var output: String?
    var debounce: Duration = .milliseconds(300)
    var logLevel: Logger.Level = .info

    /// The keys a config file may hold, which are also the flags' names and, upper-cased with `-`
    /// as `_` and prefixed with `COURSEGEN_`, the environment variables' names.
    static let keys: [String] = [
        "provider", "base-url", "model", "concurrency", "rpm", "tpm", "max-attempts", "request-timeout",
        "temperature", "max-output-tokens", "thinking-budget", "api-key-file", "state", "inbox", "output",
        "debounce-ms", "log-level",
    ]

    /// Resolves settings from `flags` (the flags the user gave: key -> value), `environment` and
    /// the YAML file at `configFile` (if any).
    /// - Throws: `SettingsError` naming the setting, the value and what is allowed.
    static func resolve(flags: [String: String], environment: [String: String], configFile: String?) async throws
        -> Settings
    {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map {
                        (AbsoluteConfigKey([$0.key]), ConfigValue(.string($0.value), isSecret: false))
                    }
                )
            ),
            KeyMappingProvider(
                upstream: EnvironmentVariablesProvider(
                    environmentVariables: environment.filter { $0.key.hasPrefix("COURSEGEN_") }
                ),
                keyMapper: { $0.prepending(["coursegen"]) }
            ),
        ]
        if let configFile {
            try validateConfigFile(configFile)
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(configFile)))
            } catch {
                throw SettingsError("cannot read the config file \(configFile): \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        func value(_ key: String) -> String? {
            reader.string(forKey: ConfigKey([key]))?.trimmingCharacters(in: .whitespaces)
        }

        var settings = Settings()
        if let provider = value("provider") {
            guard provider == "gemini" else {
                throw SettingsError("provider '\(provider)' is not supported; the only provider is 'gemini'")
            }
            settings.generation.provider = provider
        }
        if let model = value("model") {
            guard GeminiProvider.isValidModelName(model) else {
                throw SettingsError("model '\(model)' is not a model name such as gemini-2.5-flash")
            }
            settings.generation.model = model
        }
        if let baseURL = value("base-url") { settings.baseURL = baseURL }
        settings.scheduler.concurrency =
            try integer("concurrency", value("concurrency"), in: 1...256) ?? settings.scheduler.concurrency
        settings.scheduler.requestsPerMinute =
            try integer("rpm", value("rpm"), in: 1...1_000_000) ?? settings.scheduler.requestsPerMinute
        settings.scheduler.inputTokensPerMinute =
            try integer("tpm", value("tpm"), in: 1_000...1_000_000_000) ?? settings.scheduler.inputTokensPerMinute
        settings.scheduler.maximumAttempts =
            try integer("max-attempts", value("max-attempts"), in: 1...100) ?? settings.scheduler.maximumAttempts
        if let seconds = try number("request-timeout", value("request-timeout"), in: 1...3600) {
            settings.scheduler.requestTimeout = .milliseconds(Int64(seconds * 1000))
        }
        settings.generation.temperature =
            try number("temperature", value("temperature"), in: 0...2) ?? settings.generation.temperature
        settings.generation.maxOutputTokens =
            try integer("max-output-tokens", value("max-output-tokens"), in: 256...GenerationSettings.outputTokenLimit)
            ?? settings.generation.maxOutputTokens
        settings.generation.thinkingBudget =
            try integer("thinking-budget", value("thinking-budget"), in: -1...24_576)
            ?? settings.generation.thinkingBudget
        if let milliseconds = try integer("debounce-ms", value("debounce-ms"), in: 0...60_000) {
            settings.debounce = .milliseconds(milliseconds)
        }
        if let level = value("log-level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw SettingsError(
                    "log-level '\(level)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            settings.logLevel = parsed
        }
        settings.apiKeyFile = value("api-key-file")
        settings.state = value("state")
        settings.inbox = value("inbox")
        settings.output = value("output")
        return settings
    }

    private static func integer(_ key: String, _ text: String?, in range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw SettingsError(
                "\(key) '\(text)' must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    private static func number(_ key: String, _ text: String?, in range: ClosedRange<Double>) throws -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw SettingsError(
                "\(key) '\(text)' must be a number from \(range.lowerBound.formatted()) to \(range.upperBound.formatted())"
            )
        }
        return value
    }

    /// A typo in a config file must not pass silently: every top-level key must be known.
    static func validateConfigFile(_ path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SettingsError("cannot read the config file \(path): \((error as NSError).localizedDescription)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError("\(path): not valid YAML: \(error)")
        }
        guard let node else { return }
        guard let mapping = node.mapping else {
            throw SettingsError(
                "\(path):\(node.mark.map { "\($0.line)" } ?? "1"): the config file must be a mapping of `key: value` lines"
            )
        }
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let line = keyNode.mark.map { "\($0.line)" } ?? "?"
            guard keys.contains(key) else {
                let hint = closest(to: key, in: keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw SettingsError(
                    "\(path):\(line): unknown key '\(key)'\(hint); known keys: \(keys.joined(separator: ", "))"
                )
            }
            guard valueNode.scalar != nil else {
                throw SettingsError("\(path):\(line): '\(key)' must be a single value, not a list or a mapping")
            }
        }
    }

    /// The known word nearest to `word` by edit distance, if it is near enough to be a typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, cb) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j] + 1, row[j + 1] + 1, previous + (ca == cb ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(word.lowercased()), Array($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }
}

/// A setting that cannot be used, with what to do instead.
struct SettingsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
