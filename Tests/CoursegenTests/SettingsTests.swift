import ArgumentParser
import FakeGemini
import Foundation
import Generation
import Logging
import TestSupport
import Testing

@testable import coursegen
import Outlines
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// Three different valid values of each setting, as canonical text (what `value(in:)` gives
/// back), for the flag, the environment and the config file. `provider` stays gemini here: openai
/// also needs a model, which the provider tests below cover.
private let samples: [String: (flag: String, environment: String, file: String)] = [
    "inbox": ("in-flag", "in-env", "in-file"),
    "output": ("out-flag", "out-env", "out-file"),
    "state": ("state-flag", "state-env", "state-file"),
    "debounce-ms": ("0", "1500", "60000"),
    "stop-timeout": ("0", "2.5", "3600"),
    "settle": ("0", "2.5", "3600"),
    "watch-mode": ("poll", "inotify", "auto"),
    "poll-interval": ("1", "2.5", "86400"),
    "provider": ("gemini", "gemini", "gemini"),
    "base-url": ("http://127.0.0.1:9", "https://a.example", "https://b.example/api"),
    "model": ("gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini_custom.1"),
    "concurrency": ("1", "17", "256"),
    "rpm": ("1", "60", "1000000"),
    "tpm": ("1000", "250000", "1000000000"),
    "max-attempts": ("1", "3", "100"),
    "request-timeout": ("1", "12.5", "3600"),
    "stream": ("false", "true", "false"),
    "desktop-notifications": ("true", "false", "true"),
    "batch": ("true", "false", "true"),
    "batch-over": ("0", "20", "1000000"),
    "allow-html": ("true", "false", "true"),
    "context": ("toc", "neighbours", "none"),
    "system-template": ("system-flag.mustache", "system-env.mustache", "system-file.mustache"),
    "chapter-template": ("chapter-flag.mustache", "chapter-env.mustache", "chapter-file.mustache"),
    "stall-timeout": ("1", "30", "3600"),
    "temperature": ("0", "1.25", "2"),
    "max-output-tokens": ("256", "20000", "65536"),
    "thinking-budget": ("-1", "0", "24576"),
    "thinking-level": ("minimal", "medium", "high"),
    "service-tier": ("flex", "priority", "standard"),
    "prices": (
        // Each overrides every built-in row, so the resolved table is the sample itself.
        "{gemini-2.5-flash: {input: 0.3, output: 2.5, thinking: 2.5}, gemini-3.5-flash: {input: 1.5, output: 9, "
            + "thinking: 9}, gemini-3.5-flash-lite: {input: 1, output: 1, thinking: 1}, gemini-3.8-flash: {input: 2, "
            + "output: 2, thinking: 2, cached-input: 0.5, priority-factor: 1.75}, m1: {input: 1, output: 2, thinking: 3}}",
        "{gemini-2.5-flash: {input: 0.15, output: 1.25, thinking: 1.25}, gemini-3.5-flash: {input: 1, output: 2, "
            + "thinking: 2}, gemini-3.5-flash-lite: {input: 0.1, output: 0.2, thinking: 0.2}, gemini-3.8-flash: "
            + "{input: 0.5, output: 3, thinking: 3}}",
        "{gemini-2.5-flash: {input: 0.3, output: 2.5, thinking: 2.5}, gemini-3.5-flash: {input: 0, output: 0, "
            + "thinking: 0}, gemini-3.5-flash-lite: {input: 0, output: 0, thinking: 0}, gemini-3.8-flash: {input: 0, "
            + #"output: 0, thinking: 0}, "llama3.1:8b": {input: 0, output: 0, thinking: 0}}"#
    ),
    "budget": ("0", "2.5", "1000000"),
    "api-key-file": ("key-flag", "key-env", "key-file"),
    "metrics-listen": ("127.0.0.1:9464", "[::1]:9090", "localhost:0"),
    "log-level": ("trace", "warning", "critical"),
]

/// A text for each setting, and how to tell that its own field of `Settings` holds it.
private let fieldChecks: [(name: String, text: String, isSet: @Sendable (Settings) -> Bool)] = [
    ("inbox", "in", { $0.inbox == "in" }),
    ("output", "out", { $0.output == "out" }),
    ("state", "st", { $0.state == "st" }),
    ("debounce-ms", "1500", { $0.debounce == .milliseconds(1500) }),
    ("stop-timeout", "2.5", { $0.stopTimeout == .milliseconds(2500) }),
    ("settle", "0.5", { $0.settle == .milliseconds(500) }),
    ("watch-mode", "Poll", { $0.watchMode == .poll }),
    ("poll-interval", "0.25", { $0.pollInterval == .milliseconds(250) }),
    ("stream", "no", { $0.stream == false }),
    ("desktop-notifications", "yes", { $0.desktopNotifications }),
    ("batch", "yes", { $0.batch }),
    ("batch-over", "20", { $0.batchOver == 20 }),
    ("allow-html", "yes", { $0.generation.allowHTML }),
    ("context", "TOC", { $0.generation.context == .toc }),
    ("system-template", "s.mustache", { $0.systemTemplate == "s.mustache" }),
    ("chapter-template", "c.mustache", { $0.chapterTemplate == "c.mustache" }),
    ("stall-timeout", "90", { $0.stallTimeout == .seconds(90) }),
    ("provider", "GEMINI", { $0.generation.provider == "gemini" }),
    ("base-url", "https://a.example", { $0.baseURL == "https://a.example" }),
    ("model", "gemini-2.5-pro", { $0.generation.model == "gemini-2.5-pro" }),
    ("concurrency", "17", { $0.scheduler.concurrency == 17 }),
    ("rpm", "60", { $0.scheduler.requestsPerMinute == 60 }),
    ("tpm", "250000", { $0.scheduler.inputTokensPerMinute == 250_000 }),
    ("max-attempts", "3", { $0.scheduler.maximumAttempts == 3 }),
    ("request-timeout", "12.5", { $0.scheduler.requestTimeout == .milliseconds(12_500) }),
    ("temperature", "1.25", { $0.generation.temperature == 1.25 }),
    ("max-output-tokens", "20000", { $0.generation.maxOutputTokens == 20_000 }),
    ("thinking-budget", "-1", { $0.generation.thinkingBudget == -1 }),
    ("thinking-level", "low", { $0.generation.thinkingLevel == .low }),
    ("service-tier", "flex", { $0.generation.serviceTier == .flex }),
    (
        "prices", "{m: {input: 1, output: 2}}",
        { $0.cost.prices.price(for: "m") == Price(inputPerMillion: 1, outputPerMillion: 2, thinkingPerMillion: 2) }
    ),
    ("budget", "2.5", { $0.cost.budget == 2.5 }),
    ("api-key-file", "key", { $0.apiKeyFile == "key" }),
    ("metrics-listen", "127.0.0.1:9464", { $0.metricsListen == "127.0.0.1:9464" }),
    ("log-level", "Warning", { $0.logLevel == .warning }),
]

/// A text each setting refuses, and the message for it as a flag.
private let invalid: [(name: String, text: String, message: String)] = [
    ("inbox", "", "--inbox '' must be a path"),
    ("output", "", "--output '' must be a path"),
    ("state", "", "--state '' must be a path"),
    ("api-key-file", "", "--api-key-file '' must be a path"),
    ("debounce-ms", "1.5", "--debounce-ms '1.5' must be a whole number of milliseconds from 0 to 60000"),
    ("stop-timeout", "-1", "--stop-timeout '-1' must be a number of seconds from 0 to 3600"),
    ("settle", "-1", "--settle '-1' must be a number of seconds from 0 to 3600"),
    ("watch-mode", "fast", "--watch-mode 'fast' must be one of auto, inotify or poll"),
    ("poll-interval", "0", "--poll-interval '0' must be a number of seconds from 0.05 to 86400"),
    ("stream", "maybe", "--stream 'maybe' must be true or false"),
    ("desktop-notifications", "loud", "--desktop-notifications 'loud' must be true or false"),
    ("batch", "often", "--batch 'often' must be true or false"),
    ("batch-over", "-1", "--batch-over '-1' must be a whole number from 0 to 1000000"),
    ("allow-html", "maybe", "--allow-html 'maybe' must be true or false"),
    ("context", "all", "--context 'all' must be one of none, toc or neighbours"),
    ("system-template", "", "--system-template '' must be a path"),
    ("chapter-template", "", "--chapter-template '' must be a path"),
    ("stall-timeout", "0.5", "--stall-timeout '0.5' must be a number of seconds from 1 to 3600"),
    ("provider", "mistral", "--provider 'mistral' must be one of gemini or openai"),
    (
        "base-url", "ftp://x.example",
        "--base-url 'ftp://x.example' must be an http or https URL such as https://example.com"
    ),
    ("base-url", "example.com", "--base-url 'example.com' must be an http or https URL such as https://example.com"),
    (
        "model", "../../evil",
        "--model '../../evil' must be a model name such as gemini-3.8-flash, gpt-4o-mini or llama3.1:8b"
    ),
    ("concurrency", "0", "--concurrency '0' must be a whole number from 1 to 256"),
    ("rpm", "lots", "--rpm 'lots' must be a whole number from 1 to 1000000"),
    ("tpm", "999", "--tpm '999' must be a whole number from 1000 to 1000000000"),
    ("max-attempts", "101", "--max-attempts '101' must be a whole number from 1 to 100"),
    ("request-timeout", "0.5", "--request-timeout '0.5' must be a number of seconds from 1 to 3600"),
    ("request-timeout", "nan", "--request-timeout 'nan' must be a number of seconds from 1 to 3600"),
    ("temperature", "9", "--temperature '9' must be a number from 0 to 2"),
    ("max-output-tokens", "100", "--max-output-tokens '100' must be a whole number from 256 to 65536"),
    ("thinking-budget", "-2", "--thinking-budget '-2' must be a whole number from -1 to 24576"),
    ("thinking-level", "max", "--thinking-level 'max' must be one of minimal, low, medium or high"),
    ("service-tier", "batch", "--service-tier 'batch' must be one of standard, flex or priority"),
    (
        "prices", "{m: {input: -1, output: 2}}",
        "--prices '{m: {input: -1, output: 2}}' must be a mapping of model names to prices in US dollars per "
            + "million tokens, such as {my-model: {input: 0.3, output: 2.5, thinking: 2.5}}"
    ),
    (
        "prices", "{m: {output: 2}}",
        "--prices '{m: {output: 2}}' must be a mapping of model names to prices in US dollars per "
            + "million tokens, such as {my-model: {input: 0.3, output: 2.5, thinking: 2.5}}"
    ),
    ("budget", "-1", "--budget '-1' must be a number from 0 to 1000000"),
    ("metrics-listen", "9464", "--metrics-listen '9464' must be HOST:PORT, such as 127.0.0.1:9090"),
    (
        "log-level", "loud",
        "--log-level 'loud' must be one of trace, debug, info, notice, warning, error or critical"
    ),
]

@Suite("Settings: one table for flags, environment, config file, validation, reload and documentation")
struct SettingsTests {
    static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `name: value` lines in a temporary config file.
    static func configFile(_ text: String, in folder: TemporaryFolder) throws -> String {
        try folder.write("config.yaml", text)
    }

    @Test("the samples and the refused texts cover every row, so each test below runs for every setting")
    func samplesCoverTheTable() {
        #expect(Set(samples.keys) == Set(Setting.all.map(\.name)))
        #expect(Set(invalid.map(\.name)) == Set(Setting.all.map(\.name)))
        #expect(Set(Setting.all.map(\.name)).count == Setting.all.count, "names are unique")
        let bare = Setting.all.map { $0.name.replacing("-", with: "") }
        #expect(Set(bare).count == bare.count, "property names (names without hyphens) are unique")
    }

    @Test(
        "a flag wins over COURSEGEN_*, which wins over the config file, which wins over the default",
        arguments: Setting.all.map(\.name)
    )
    func layering(name: String) throws {
        let setting = try #require(Setting.named(name))
        let sample = try #require(samples[name])
        let temp = try TemporaryFolder()
        let file = try Self.configFile("\(setting.configKey): \(sample.file)\n", in: temp)
        let environment = [setting.environmentVariable: sample.environment]
        let flags = [setting.name: sample.flag]

        func resolved(_ flags: [String: String], _ environment: [String: String], _ file: String?) throws -> String? {
            setting.value(in: try Settings.resolve(flags: flags, environment: environment, configFile: file).settings)
        }
        #expect(try resolved(flags, environment, file) == sample.flag)
        #expect(try resolved([:], environment, file) == sample.environment)
        #expect(try resolved([:], [:], file) == sample.file)
        #expect(try resolved([:], [setting.environmentVariable: ""], file) == sample.file, "empty means unset")
        #expect(try resolved([:], [:], nil) == setting.value(in: Settings()))
    }

    @Test("a value that is not used is not read: a valid flag hides a bad variable and a bad config value")
    func shadowedValuesAreNotRead() throws {
        let temp = try TemporaryFolder()
        let file = try Self.configFile("provider: openai\nrpm: lots\n", in: temp)
        let settings = try Settings.resolve(
            flags: ["provider": "gemini", "rpm": "5"],
            environment: ["COURSEGEN_PROVIDER": "mistral", "COURSEGEN_RPM": "many"],
            configFile: file
        ).settings
        #expect(settings.generation.provider == "gemini")
        #expect(settings.scheduler.requestsPerMinute == 5)
    }

    @Test("each row sets its own field of Settings", arguments: fieldChecks)
    func rowsSetTheirField(name: String, text: String, isSet: @Sendable (Settings) -> Bool) throws {
        let setting = try #require(Setting.named(name))
        var settings = Settings()
        try setting.assign(" \(text) ", from: .flag, to: &settings)
        #expect(isSet(settings))
        var others = settings
        setting.copyValue(from: Settings(), to: &others)
        #expect(others == Settings(), "nothing else changed")
    }

    @Test(
        "a value that is not allowed names where it came from, the value and what is allowed",
        arguments: invalid
    )
    func invalidValues(name: String, text: String, message: String) {
        let error = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [name: text], environment: [:], configFile: nil)
        }
        #expect(error?.code == .invalidValue)
        #expect(error?.message == message)
    }

    @Test("the message names the variable, or the config file and line, the value came from")
    func messagesNameTheOrigin() throws {
        let fromEnvironment = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: ["COURSEGEN_RPM": " lots "], configFile: nil)
        }
        #expect(fromEnvironment?.message == "COURSEGEN_RPM 'lots' must be a whole number from 1 to 1000000")

        let temp = try TemporaryFolder()
        let file = try Self.configFile("# pacing\nrpm: 100\ntemperature: 9\n", in: temp)
        let fromFile = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: [:], configFile: file)
        }
        #expect(fromFile?.message == "\(file):3: temperature '9' must be a number from 0 to 2")
    }

    @Test(
        "the types upcoming settings need: a boolean switch and HOST:PORT",
        arguments: [
            ("true", true), ("YES", true), ("on", true), ("1", true),
            ("false", false), ("no", false), ("Off", false), ("0", false),
        ]
    )
    func booleans(text: String, value: Bool) {
        let type = SettingType<Bool>.boolean
        #expect(type.parse(text) == value)
        #expect(type.parse(type.format(value)) == value)
        #expect(type.isSwitch)
    }

    @Test("a boolean refuses anything else, and says what it takes")
    func booleanRefuses() {
        let type = SettingType<Bool>.boolean
        for text in ["", "maybe", "2", "truthy"] { #expect(type.parse(text) == nil, "\(text)") }
        #expect(type.allowed == "true or false")
    }

    @Test(
        "HOST:PORT takes a host or a bracketed IPv6 address and a port from 0 to 65535",
        arguments: [
            ("127.0.0.1:9090", true), ("localhost:0", true), ("[::1]:65535", true), ("metrics.example:80", true),
            ("127.0.0.1", false), (":9090", false), ("host:65536", false), ("host:-1", false), ("::1:80", false),
            ("[]:80", false), ("a b:80", false), ("host:port", false),
        ]
    )
    func hostAndPort(text: String, isValid: Bool) {
        #expect((SettingType<String>.hostAndPort.parse(text) != nil) == isValid)
    }

    @Test("an enumeration's cases are a setting's choices, in any case")
    func choices() {
        let level = SettingType<Logger.Level>.choice(valueName: "level")
        #expect(level.parse("DEBUG") == .debug)
        #expect(level.parse("verbose") == nil)
        let mode = SettingType<String>.choice(["auto", "inotify", "poll"], valueName: "mode")
        #expect(mode.parse("Poll") == "poll")
        #expect(mode.allowed == "one of auto, inotify or poll")
    }

    // MARK: - What depends on the provider

    @Test("openai's base URL defaults to OpenAI's API unless one is given; gemini's stays Google's")
    func providerBaseURL() throws {
        let openAI = try Settings.resolve(
            flags: ["provider": "openai", "model": "gpt-4o-mini"],
            environment: [:],
            configFile: nil
        ).settings
        #expect(openAI.baseURL == "https://api.openai.com/v1")
        #expect(openAI.generation.provider == "openai" && openAI.generation.model == "gpt-4o-mini")
        let ollama = try Settings.resolve(
            flags: ["provider": "openai", "model": "llama3.1:8b"],
            environment: ["COURSEGEN_BASE_URL": "http://127.0.0.1:11434/v1"],
            configFile: nil
        ).settings
        #expect(ollama.baseURL == "http://127.0.0.1:11434/v1")
        #expect(
            try Settings.resolve(flags: [:], environment: [:], configFile: nil).settings.baseURL == Settings().baseURL
        )
    }

    @Test("openai has no default model: one must be named, from any source")
    func openAINeedsAModel() throws {
        let error = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: ["provider": "openai"], environment: [:], configFile: nil)
        }
        #expect(error?.message.hasPrefix("provider openai has no default model: name one with --model") == true)
        let temp = try TemporaryFolder()
        let file = try Self.configFile("provider: openai\nmodel: qwen2.5:14b-instruct-q4_K_M\n", in: temp)
        let settings = try Settings.resolve(flags: [:], environment: [:], configFile: file).settings
        #expect(settings.generation.model == "qwen2.5:14b-instruct-q4_K_M")
    }

    @Test(
        "a model name gemini cannot take names where it came from and the setting to change",
        arguments: [
            ([Setting.model.name: "llama3.1:8b"], [String: String](), "--model 'llama3.1:8b'"),
            ([:], ["COURSEGEN_MODEL": "org/model"], "COURSEGEN_MODEL 'org/model'"),
        ]
    )
    func geminiModelNames(flags: [String: String], environment: [String: String], subject: String) {
        let error = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: flags, environment: environment, configFile: nil)
        }
        #expect(error?.message.hasPrefix("\(subject) is not a Gemini model name") == true, "\(error?.message ?? "")")
        #expect(error?.message.hasSuffix("set provider to openai") == true)
    }

    // MARK: - The config file

    @Test("an unknown config key is refused with its line and the key it was probably meant to be")
    func unknownKey() throws {
        let error = #expect(throws: SettingsError.self) {
            try ConfigFile.parse("output: out\nrmp: 100\n", path: "config.yaml", known: Setting.all.map(\.configKey))
        }
        #expect(error?.code == .unknownKey)
        #expect(
            error?.message.hasPrefix("config.yaml:2: unknown key 'rmp' (did you mean 'rpm'?); known keys: ") == true
        )
        let far = #expect(throws: SettingsError.self) {
            try ConfigFile.parse("\n\ncolour: blue\n", path: "c.yaml", known: Setting.all.map(\.configKey))
        }
        #expect(far?.message.hasPrefix("c.yaml:3: unknown key 'colour'; known keys: inbox, output, state,") == true)
    }

    @Test(
        "a config file that is not flat name: value lines is refused with its line",
        arguments: [
            ("model: x\nrpm: 1\nrpm: 2\n", "c.yaml:2: 'rpm' is set more than once (first here): keep one"),
            ("rpm:\n  - 1\n", "c.yaml:1: 'rpm' must be a single value, not a list or a mapping"),
            ("model: x\nrpm:\n", "c.yaml:2: 'rpm' has no value: give one, or remove the line"),
            ("rpm: ~\n", "c.yaml:1: 'rpm' has no value: give one, or remove the line"),
            ("- rpm\n", "c.yaml:1: the config file must be a mapping of `name: value` lines"),
            ("rpm: 1\nmodel: [x\n", "c.yaml:3: not valid YAML: did not find expected ',' or ']'"),
            ("rpm: 1\n\tmodel: x\n", "c.yaml:2: not valid YAML: found a tab character that violates indentation"),
        ]
    )
    func malformedConfigFile(text: String, message: String) {
        let error = #expect(throws: SettingsError.self) {
            try ConfigFile.parse(text, path: "c.yaml", known: Setting.all.map(\.configKey))
        }
        #expect(error?.message == message)
    }

    @Test("a config file of comments sets nothing; quoted values lose their quotes, blanks around values go")
    func configFileValues() throws {
        #expect(try ConfigFile.parse("# nothing\n", path: "c.yaml", known: ["rpm"]).entries.isEmpty)
        let file = try ConfigFile.parse(
            "rpm: '60'   # a comment\nmodel: \"gemini-2.5-pro\"\n",
            path: "c.yaml",
            known: ["rpm", "model"]
        )
        #expect(file.entries["rpm"] == ConfigFile.Entry(text: "60", line: 1))
        #expect(file.entries["model"] == ConfigFile.Entry(text: "gemini-2.5-pro", line: 2))
    }

    @Test("a config file that cannot be read says so, naming it")
    func unreadableConfigFile() throws {
        let temp = try TemporaryFolder()
        let error = #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: [:], configFile: "\(temp.path)/missing.yaml")
        }
        #expect(error?.code == .unreadableConfigFile)
        #expect(error?.message.hasPrefix("cannot read the config file \(temp.path)/missing.yaml: ") == true)
    }

    // MARK: - The environment

    @Test(
        "an unknown COURSEGEN_* variable close to a setting's gets a warning naming it",
        arguments: [
            ("COURSEGEN_RMP", "COURSEGEN_RPM"),
            ("COURSEGEN_MAX_ATEMPTS", "COURSEGEN_MAX_ATTEMPTS"),
            ("COURSEGEN_BASEURL", "COURSEGEN_BASE_URL"),
            ("COURSEGEN_rpm", "COURSEGEN_RPM"),
            ("COURSEGEN_CONFG", "COURSEGEN_CONFIG"),
            ("COURSEGEN_TEMPERATUR", "COURSEGEN_TEMPERATURE"),
        ]
    )
    func misspeltVariable(variable: String, meant: String) throws {
        let warnings = try Settings.resolve(flags: [:], environment: [variable: "5"], configFile: nil).warnings
        #expect(warnings == [.misspeltVariable(variable, probablyMeant: meant)])
    }

    @Test("known variables, far-off COURSEGEN_* names and other tools' variables get no warning")
    func noWarningForOtherVariables() throws {
        let environment = [
            "COURSEGEN_RPM": "5", "COURSEGEN_CONFIG": "", "COURSEGEN_HOME": "/x", "COURSEGEN_VERSION": "2",
            "COURSEGEN_PROMPT": "p", "COURSEGEN_METRICS_LISTEN": "127.0.0.1:9", "RPM": "1", "GEMINI_API_KEY": "k",
            "XCOURSEGEN_RMP": "1",
        ]
        #expect(try Settings.resolve(flags: [:], environment: environment, configFile: nil).warnings.isEmpty)
    }

    @Test("the warning reaches the log once logging is set up, and the command goes on", .timeLimit(.minutes(1 * TestTime.factor)))
    func misspeltVariableIsLogged() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        // No API key: the command stops at the key, after the warning.
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state"],
            environment: ["COURSEGEN_RMP": "5", "HOME": temp.path],
            directory: temp.path
        )
        #expect(result.status == 78)
        let warning = result.standardError.split(separator: "\n").filter {
            $0.contains("unknown environment variable ignored")
        }
        #expect(warning.count == 1, "\(result.standardError)")
        #expect(warning.first?.contains("did_you_mean=COURSEGEN_RPM variable=COURSEGEN_RMP") == true)
        #expect(result.standardError.contains("no Gemini API key"))
    }

    // MARK: - Reload

    @Test(
        "the restart list names exactly the changed settings a reload cannot apply",
        arguments: Setting.all.map(\.name)
    )
    func restartList(name: String) throws {
        let setting = try #require(Setting.named(name))
        let sample = try #require(samples[name])
        var old = Settings()
        try setting.assign(sample.file, from: .flag, to: &old)
        var new = old
        try setting.assign(sample.environment, from: .flag, to: &new)
        let changed = setting.value(in: old) != setting.value(in: new)
        let needsRestart = setting.reload == .needsRestart
        #expect(Settings.changesNeedingRestart(from: old, to: new) == (changed && needsRestart ? [name] : []))
        let reloaded = old.reloaded(from: new)
        #expect(setting.value(in: reloaded) == setting.value(in: needsRestart ? old : new))
        #expect(Settings.changesNeedingRestart(from: old, to: old).isEmpty)
    }

    @Test(
        "a reload applies everything it reads: each setting's effect, and a template file edited under the same path",
        arguments: Setting.all.map(\.name)
    )
    func reloadAppliesEffects(name: String) throws {
        let temp = try TemporaryFolder()
        for role in ["system", "chapter"] {
            for source in ["flag", "env", "file"] {
                try temp.write("\(role)-\(source).mustache", "Template \(role) \(source): {{course.title}}\n")
            }
        }
        let setting = try #require(Setting.named(name))
        let sample = try #require(samples[name])
        func resolved(_ text: String) throws -> Settings {
            let value = name.hasSuffix("-template") ? "\(temp.path)/\(text)" : text
            let quoted = "'" + value.replacing("'", with: "''") + "'"
            let config = try temp.write("config-\(UUID().uuidString).yaml", "\(name): \(quoted)\n")
            var resolution = try Settings.resolve(flags: [:], environment: [:], configFile: config)
            try resolution.settings.loadTemplates(origins: resolution.origins)
            return resolution.settings
        }
        let old = try resolved(sample.file)
        var new = try resolved(sample.environment)
        let reloaded = old.reloaded(from: new)
        // What a reload cannot apply keeps its old value; everything else is the new settings'.
        if setting.reload == .needsRestart { setting.copyValue(from: old, to: &new) }
        #expect(reloaded == new)

        guard name.hasSuffix("-template") else { return }
        // The same path, the file edited: the template read again is the one that applies.
        let path = "\(temp.path)/\(sample.file)"
        try temp.write(sample.file, "Edited: {{course.title}}\n")
        let edited = try resolved(sample.file)
        #expect(old.reloaded(from: edited).generation.templates == edited.generation.templates)
        #expect(old.generation.templates != edited.generation.templates, "\(path) was read again")
    }

    @Test("a reload applies pacing and model changes and keeps folders and the log level")
    func reloadExample() throws {
        let old = Settings()
        var new = old
        new.inbox = "elsewhere"
        new.logLevel = .debug
        new.scheduler.requestsPerMinute = 5
        new.generation.model = "gemini-2.5-pro"
        #expect(Settings.changesNeedingRestart(from: old, to: new) == ["inbox", "log-level"])
        let reloaded = old.reloaded(from: new)
        #expect(reloaded.inbox == nil && reloaded.logLevel == .info)
        #expect(reloaded.scheduler.requestsPerMinute == 5 && reloaded.generation.model == "gemini-2.5-pro")
    }

    @Test(
        "SIGHUP rereads the config file: a changed inbox waits for a restart, a bad value keeps the old settings",
        .timeLimit(.minutes(2 * TestTime.factor))
    )
    func reloadRereadsTheConfigFile() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", outlineText(chapters: 1))
        let config = "inbox: inbox\noutput: out\nstate: state\nbase-url: \(server.baseURL)\n"
        try temp.write("config.yaml", config + "rpm: 100\n")
        let daemon = try Binary.start(
            ["watch", "--config", "config.yaml"],
            environment: ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey],
            directory: temp.path
        )
        // Published: the services, the reloader among them, are running.
        try await daemon.waitForLines(containing: "outline published")
        try temp.write("config.yaml", config.replacing("inbox: inbox", with: "inbox: elsewhere") + "log-level: debug\n")
        daemon.signal(SIGHUP)
        try await daemon.waitForLines(containing: "configuration reloaded")
        try temp.write("config.yaml", config + "rpm: lots\n")
        daemon.signal(SIGHUP)
        try await daemon.waitForLines(containing: "configuration not reloaded")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError)")
        let restart = daemon.lines(containing: "these settings take effect at the next restart")
        #expect(restart.count == 1 && restart.first?.contains("settings=\"inbox, log-level\"") == true, "\(restart)")
        let refused = daemon.lines(containing: "configuration not reloaded")
        #expect(refused.first?.contains("config.yaml:5: rpm 'lots' must be a whole number from 1 to 1000000") == true)
    }

    // MARK: - Flags

    /// The long names of every option and flag `command` declares, with their help and value name.
    static func declaredFlags(of command: any ParsableCommand.Type) throws -> [String: (
        help: String, valueName: String?
    )] {
        let json = try #require(command._dumpHelp().data(using: .utf8))
        let root = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let info = try #require(root["command"] as? [String: Any])
        var flags: [String: (String, String?)] = [:]
        for argument in info["arguments"] as? [[String: Any]] ?? [] {
            guard let kind = argument["kind"] as? String, kind == "option" || kind == "flag" else { continue }
            for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                let long = try #require(name["name"] as? String)
                flags[long] = (argument["abstract"] as? String ?? "", argument["valueName"] as? String)
            }
        }
        return flags
    }

    /// The flags that are not settings, by command (`--config` names where settings come from).
    static let commands: [(any ParsableCommand.Type, Setting.Commands, Set<String>)] = [
        (Generate.self, .generate, ["config", "force", "help"]),
        (Watch.self, .watch, ["config", "help"]),
        (Status.self, .status, ["config", "json", "help"]),
        (GarbageCollect.self, .gc, ["config", "grace-days", "help"]),
        (ModelsCommand.self, .models, ["config", "json", "help"]),
    ]

    @Test("every row is a declared flag of the commands that take it, with the table's help, and vice versa")
    func flagsMatchTheTable() throws {
        for (command, taker, others) in Self.commands {
            let declared = try Self.declaredFlags(of: command)
            let rows = Setting.all.filter { $0.commands.contains(taker) }
            let expected = Set(rows.flatMap { $0.isSwitch ? [$0.name, "no-" + $0.name] : [$0.name] })
            #expect(Set(declared.keys).subtracting(others) == expected, "\(command)")
            for setting in rows {
                let flag = try #require(declared[setting.name], "\(command) \(setting.flag)")
                #expect(flag.help == setting.help.abstract)
                // A switch has no value; ArgumentParser still names one after the flag.
                if !setting.isSwitch { #expect(flag.valueName == setting.valueName) }
            }
        }
    }

    /// Arguments a command needs besides flags.
    static func required(for taker: Setting.Commands) -> [String] { taker == .generate ? ["course.md"] : [] }

    /// Parses `arguments` as `command` and returns the setting flags it found.
    static func parsed(_ command: any ParsableCommand.Type, _ arguments: [String]) throws -> [String: String] {
        SettingFlags.given(in: try command.parseAsRoot(arguments))
    }

    @Test("each command hands every setting flag it takes to the settings, by the setting's name")
    func parsedFlagsReachTheSettings() throws {
        for (command, taker, _) in Self.commands {
            #expect(try Self.parsed(command, Self.required(for: taker)) == [:], "\(command): no flag given")
            for setting in Setting.all where setting.commands.contains(taker) {
                let sample = try #require(samples[setting.name]).environment
                let arguments = setting.isSwitch ? [setting.flag] : [setting.flag, sample]
                let given = try Self.parsed(command, Self.required(for: taker) + arguments)
                #expect(given == [setting.name: setting.isSwitch ? "true" : sample], "\(command) \(setting.flag)")
            }
        }
    }

    /// A switch declared as the table says boolean settings are, under the property name of an
    /// existing row (no boolean setting exists yet).
    struct SwitchProbe: ParsableArguments {
        @Flag(name: .customLong("inbox"), inversion: .prefixedNo) var inbox: Bool?
    }

    @Test("a switch's --name and --no-name reach the settings as true and false; neither, as nothing")
    func switchFlags() throws {
        #expect(SettingFlags.given(in: try SwitchProbe.parse(["--inbox"])) == ["inbox": "true"])
        #expect(SettingFlags.given(in: try SwitchProbe.parse(["--no-inbox"])) == ["inbox": "false"])
        #expect(SettingFlags.given(in: try SwitchProbe.parse([])) == [:])
    }

    @Test("a bad flag is a command-line mistake: exit 64, naming the flag, the value and what is allowed")
    func badFlagIsAUsageError() throws {
        for (command, taker, _) in Self.commands {
            for setting in Setting.all where setting.commands.contains(taker) && !setting.isSwitch {
                let text =
                    ["inbox", "output", "state", "api-key-file", "system-template", "chapter-template"]
                    .contains(setting.name) ? "" : "x y"
                do {
                    _ = try command.parseAsRoot(Self.required(for: taker) + [setting.flag, text])
                    Issue.record("\(command) accepted \(setting.flag) '\(text)'")
                } catch {
                    #expect(command.exitCode(for: error) == ExitCode(64))
                    #expect(
                        command.message(for: error).contains("\(setting.flag) '\(text)' must be \(setting.allowed)")
                    )
                }
            }
        }
    }

    // MARK: - Documentation

    @Test("systemd/config.example.yaml is the one generated from the table (coursegen settings --example-config)")
    func exampleConfigInSync() throws {
        let committed = try String(
            contentsOf: Self.repository.appendingPathComponent("systemd/config.example.yaml"),
            encoding: .utf8
        )
        #expect(
            committed == SettingsDocumentation.exampleConfig(),
            "regenerate it: swift run coursegen settings --example-config > systemd/config.example.yaml"
        )
    }

    @Test("every default in the example config is the real default: uncommenting every line changes nothing else")
    func exampleConfigDefaults() throws {
        let uncommented = SettingsDocumentation.exampleConfig().split(separator: "\n").compactMap { line -> String? in
            let text = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
            guard let key = text.split(separator: ":").first, Setting.named(String(key)) != nil else { return nil }
            return String(text)
        }
        #expect(uncommented.count == Setting.all.count, "\(uncommented)")
        let temp = try TemporaryFolder()
        let file = try Self.configFile(uncommented.joined(separator: "\n"), in: temp)
        let settings = try Settings.resolve(flags: [:], environment: [:], configFile: file).settings
        var expected = Settings()
        expected.inbox = "/srv/coursegen/inbox"
        expected.output = "/srv/coursegen/output"
        expected.state = "/var/lib/coursegen"
        expected.apiKeyFile = "/etc/coursegen/gemini-api-key"
        expected.cost.budget = 5
        expected.metricsListen = "127.0.0.1:9464"
        expected.systemTemplate = "/etc/coursegen/system.mustache"
        expected.chapterTemplate = "/etc/coursegen/chapter.mustache"
        expected.generation.thinkingLevel = .medium
        #expect(settings == expected)
    }

    @Test(
        "README.md's Configuration section holds the table generated from the settings (coursegen settings --readme-table)"
    )
    func readmeTableInSync() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let table = SettingsDocumentation.readmeTable()
        #expect(readme.contains("\n\n" + table + "\n"), "regenerate it: swift run coursegen settings --readme-table")
        for setting in Setting.all {
            #expect(table.contains("| `\(setting.name)` |"))
        }
    }

    // MARK: - Spelling

    @Test(
        "edit distance counts insertions, deletions, substitutions and neighbour swaps as one",
        arguments: [
            ("rpm", "rpm", 0), ("rmp", "rpm", 1), ("rpm", "tpm", 1), ("rp", "rpm", 1), ("rpmm", "rpm", 1),
            ("", "abc", 3), ("abc", "", 3), ("colour", "color", 1), ("kitten", "sitting", 3), ("ca", "abc", 3),
        ]
    )
    func editDistance(a: String, b: String, distance: Int) {
        #expect(Spelling.editDistance(a, b) == distance)
        #expect(Spelling.editDistance(b, a) == distance)
    }

    @Test(
        "a suggestion is a near word or a prefix of three letters or more, never a far one",
        arguments: [
            ("rmp", "rpm"), ("RPM", "rpm"), ("modle", "model"), ("max-atempts", "max-attempts"),
            ("temp", "temperature"),
            ("rp", "rpm"), ("xyz", nil), ("colour", nil), ("r", nil), ("state-dir", nil),
        ] as [(String, String?)]
    )
    func suggestion(typed: String, expected: String?) {
        #expect(Spelling.suggestion(for: typed, among: Setting.all.map(\.name)) == expected)
    }
}
