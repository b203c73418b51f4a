import Generation
import Logging
import Watcher
import Platform
import Providers
import Outlines

/// Every setting coursegen reads, resolved once at the edge by `Settings.resolve` from the table
/// `Setting.all` (SettingsTable.swift). A field's initial value is the setting's default, which `--help`, the
/// README and `systemd/config.example.yaml` show (they are generated from the table).
struct Settings: Sendable, Equatable {
    /// What shapes each chapter's request; part of every chapter's cache key.
    var generation = GenerationSettings()
    /// Pacing and retries, shared by every outline.
    var scheduler = Scheduler.Configuration()
    /// The API's base URL; when no source sets it, the provider's own (see `applyProviderDefaults`).
    var baseURL = "https://generativelanguage.googleapis.com"
    /// A file holding the API key; nil: the credential or the environment (see `loadAPIKey`).
    var apiKeyFile: String?
    /// The state folder as given; nil: found at run time (see `stateDirectory`).
    var state: String?
    /// The folder `watch` follows.
    var inbox: String?
    /// The folder chapters are published under.
    var output: String?
    /// How long an outline must stay unchanged after a save before it is read.
    var debounce: Duration = .milliseconds(300)
    /// How long runs in progress may take to finish on SIGTERM before they are cancelled.
    var stopTimeout: Duration = .seconds(20)
    /// How long an outline must stay unchanged after a save before requests are sent for it.
    var settle: Duration = .seconds(5)
    /// How the inbox is watched: inotify, with a periodic scan on a network share, or a scan only.
    var watchMode: WatchMode = .auto
    /// Time between two scans of the inbox, when it is scanned.
    var pollInterval: Duration = .seconds(5)
    /// Stream answers (`streamGenerateContent`), which shows progress and catches a stalled
    /// request after `stallTimeout`; off waits for each whole answer.
    var stream = true
    /// Silence after which a streamed answer is cancelled and retried.
    var stallTimeout: Duration = .seconds(60)
    /// A desktop notification when a course finishes or fails (the user unit on a workstation).
    var desktopNotifications = false
    /// `generate --batch`: the chapters go as Batch API jobs.
    var batch = false
    /// The daemon sends a regeneration of at least this many chapters as a Batch API job; 0 never.
    var batchOver = 0
    /// Prices by model, to estimate what chapters cost, and the budget of each run.
    var cost = CostPolicy()
    /// The installation's system instruction template; nil: the built-in one. Read into
    /// `generation.templates` by `resolve`.
    var systemTemplate: String?
    /// The installation's chapter prompt template; nil: the built-in one.
    var chapterTemplate: String?
    /// Where `watch` serves its metrics (`HOST:PORT`); nil: not served.
    var metricsListen: String?
    var logLevel: Logger.Level = .info
}

extension Settings {
    /// Resolved settings, and what the user should be told about them once logging is set up.
    struct Resolution: Sendable {
        var settings: Settings
        var warnings: [SettingsWarning]
        /// Where each setting that was given came from, by name.
        var origins: [String: SettingOrigin] = [:]
    }

    /// Resolves every setting: its flag (from `flags`, by setting name), else its
    /// `COURSEGEN_<NAME>` variable (an empty one counts as unset), else its key in the config file
    /// at `configFile`, else its default. The config file is read once, here.
    /// - Returns: the settings, and a warning for each unknown `COURSEGEN_*` variable that looks
    ///   like a misspelt setting (other unknown ones are ignored: other tools and other versions of
    ///   coursegen may set them).
    /// - Throws: `SettingsError` for a value that is not allowed (naming where it came from, the
    ///   value and what is allowed), an unknown config key, or a config file that cannot be read.
    static func resolve(
        flags: [String: String],
        environment: [String: String],
        configFile: String?
    ) throws(SettingsError) -> Resolution {
        let file = try configFile.map { path throws(SettingsError) in try ConfigFile.read(path: path) }
        var settings = Settings()
        var origins: [String: SettingOrigin] = [:]
        for setting in Setting.all {
            let origin: SettingOrigin
            let text: String
            if let flag = flags[setting.name] {
                (origin, text) = (.flag, flag)
            } else if let variable = environment[setting.environmentVariable], !variable.isEmpty {
                (origin, text) = (.environment, variable)
            } else if let file, let entry = file.entries[setting.configKey] {
                (origin, text) = (.configFile(path: file.path, line: entry.line), entry.text)
            } else {
                continue
            }
            try setting.assign(text, from: origin, to: &settings)
            origins[setting.name] = origin
        }
        try settings.applyProviderDefaults(origins: origins)
        return Resolution(settings: settings, warnings: misspeltVariables(in: environment), origins: origins)
    }

    /// What depends on the provider, once every setting is read (`origins`: where each setting
    /// that was given came from):
    /// - the base URL, when none was given, is the provider's own;
    /// - openai has no default model (none fits OpenAI and every local server alike), so one must
    ///   be given;
    /// - a Gemini model name holds only letters, digits, '.', '-' and '_' (an Ollama name such as
    ///   llama3.1:8b is a sign the provider was meant to be openai).
    /// - Throws: `SettingsError` naming where the model came from, and what to do.
    mutating func applyProviderDefaults(origins: [String: SettingOrigin]) throws(SettingsError) {
        let model = generation.model
        switch generation.provider {
        case "openai":
            if origins[Setting.baseURL.name] == nil { baseURL = OpenAIProvider.defaultBaseURL }
            // A model server of one's own: how many it serves at once is found, not assumed.
            scheduler.localServer = OpenAIProvider.isLocalServer(baseURL: baseURL)
            guard origins[Setting.model.name] != nil else {
                throw SettingsError(
                    "provider openai has no default model: name one with --model (or COURSEGEN_MODEL, or model: in the "
                        + "config file), such as gpt-4o-mini for OpenAI or llama3.1:8b for Ollama"
                )
            }
        default:
            if let origin = origins[Setting.model.name], !GeminiProvider.isValidModelName(model) {
                throw SettingsError(
                    "\(SettingsError.subject(Setting.model, from: origin)) '\(model)' is not a Gemini model name (letters, "
                        + "digits, '.', '-' and '_' only); for an OpenAI-compatible server such as Ollama, set provider "
                        + "to openai"
                )
            }
        }
    }

    /// Refuses a setting that was given but that the model would not be sent (a thinking budget
    /// or a temperature with a Gemini 3 model, a thinking level with any other), so a command that
    /// writes chapters stops before any request instead of silently ignoring it.
    /// - Throws: `SettingsError` naming the setting, where it came from, and what applies instead.
    func checkModelFit(origins: [String: SettingOrigin]) throws(SettingsError) {
        if let refusal = Self.inapplicableSetting(
            provider: generation.provider,
            model: generation.model,
            given: Set(origins.keys)
        ), let origin = origins[refusal.setting.name] {
            throw SettingsError("\(SettingsError.subject(refusal.setting, from: origin)) \(refusal.reason)")
        }
    }

    /// The first setting in `given` that the model would not be sent, and why, naming what
    /// applies instead; nil when every given setting applies. A setting left at its default is
    /// never refused: the default adapts (see `SentSettings`).
    static func inapplicableSetting(provider: String, model: String, given: Set<String>)
        -> (setting: Setting, reason: String)?
    {
        let gemini3 = provider == "gemini" && GeminiFamily(model: model) == .gemini3
        if gemini3, given.contains(Setting.thinkingBudget.name) {
            return (
                Setting.thinkingBudget,
                "does not apply to \(model), a Gemini 3 model, which refuses a thinking budget: set thinking-level "
                    + "(minimal, low, medium or high) instead, or choose a 2.5 model"
            )
        }
        if gemini3, given.contains(Setting.temperature.name) {
            return (
                Setting.temperature,
                "does not apply to \(model), a Gemini 3 model (Google deprecated temperature for them and coursegen "
                    + "does not send it): remove it, and steer thinking with thinking-level instead"
            )
        }
        if provider != "gemini", given.contains(Setting.serviceTier.name) {
            return (Setting.serviceTier, "applies to the gemini provider only, not to provider \(provider)")
        }
        if !gemini3, given.contains(Setting.thinkingLevel.name) {
            let instead = provider == "gemini" ? ", which takes thinking-budget instead" : " (provider \(provider))"
            return (
                Setting.thinkingLevel,
                "applies to Gemini 3 models only, not to \(model)\(instead)"
            )
        }
        return nil
    }

    /// Reads the installation's templates into `generation.templates` (the built-in ones when not
    /// set), so a template that cannot be used stops the command, or the reload, before any request.
    /// - Throws: `SettingsError` naming the setting, where it came from, and the template's problem.
    mutating func loadTemplates(origins: [String: SettingOrigin]) throws(SettingsError) {
        for (setting, path, role) in [
            (Setting.systemTemplate, systemTemplate, PromptTemplate.Role.system),
            (Setting.chapterTemplate, chapterTemplate, .chapter),
        ] {
            guard let path else { continue }
            let template: PromptTemplate
            do {
                template = try CoursePrompts.load(path, role: role)
            } catch {
                let subject = origins[setting.name].map { SettingsError.subject(setting, from: $0) } ?? setting.name
                throw SettingsError("\(subject): \(error)")
            }
            switch role {
            case .system: generation.templates.system = template
            case .chapter: generation.templates.chapter = template
            }
        }
    }

    /// The environment variables coursegen reads besides the settings' own.
    static let otherVariables = ["COURSEGEN_CONFIG"]

    /// A warning for each `COURSEGEN_*` variable that is no setting's but is close to one's.
    static func misspeltVariables(in environment: [String: String]) -> [SettingsWarning] {
        let known = Setting.all.map(\.environmentVariable) + otherVariables
        let names = known.map(Self.name(of:))
        return environment.keys.sorted().compactMap { variable in
            guard variable.hasPrefix("COURSEGEN_"), !known.contains(variable),
                let meant = Spelling.suggestion(for: name(of: variable), among: names)
            else { return nil }
            return .misspeltVariable(variable, probablyMeant: known[names.firstIndex(of: meant)!])
        }
    }

    /// `COURSEGEN_MAX_ATTEMPTS` as the setting name it spells, `max-attempts`.
    private static func name(of variable: String) -> String {
        variable.dropFirst("COURSEGEN_".count).lowercased().replacing("_", with: "-")
    }

    /// The names of the settings that differ between `old` and `new` but apply only after a
    /// restart, in table order.
    static func changesNeedingRestart(from old: Settings, to new: Settings) -> [String] {
        Setting.all.filter { $0.reload == .needsRestart && !$0.isSame(in: old, and: new) }.map(\.name)
    }

    /// These settings with every setting that applies at once on reload taken from `new`, and
    /// what was read for them (the templates their paths name, as the files are now: a template
    /// edited in place changes no setting's value); the others keep their value until a restart.
    func reloaded(from new: Settings) -> Settings {
        var result = self
        for setting in Setting.all where setting.reload == .appliesAtOnce {
            setting.copyValue(from: new, to: &result)
        }
        result.generation.templates = new.generation.templates
        return result
    }
}
