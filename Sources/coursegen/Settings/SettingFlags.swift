import ArgumentParser
import Foundation

/// The settings a parsed command was given as flags.
///
/// A setting's flag is a property of the command (or of one of its `@OptionGroup`s) named as the
/// setting without its hyphens, in any case (`maxAttempts` or `maxattempts` for `max-attempts`),
/// declared from the table so nothing is copied by hand:
///
///     @Option(name: Setting.maxAttempts.flagName, help: Setting.maxAttempts.help) var maxAttempts: String?
///     @Flag(name: Setting.stream.flagName, inversion: .prefixedNo, help: Setting.stream.help) var stream: Bool?
///
/// Values stay text until `Settings.resolve` checks them like any other source's.
enum SettingFlags {
    /// The flags given to `arguments` and its option groups, by setting name, as typed
    /// (`"true"`/`"false"` for a switch).
    static func given(in arguments: any ParsableArguments) -> [String: String] {
        var given: [String: String] = [:]
        collect(arguments, into: &given)
        return given
    }

    /// Checks the setting flags `arguments` itself declares (not its option groups, which check
    /// their own: ArgumentParser calls `validate()` on each).
    /// - Throws: `ValidationError` (exit 64, with usage) naming the flag, the value and what is allowed.
    static func validate(_ arguments: any ParsableArguments) throws {
        for (setting, text) in declared(in: arguments) {
            guard let text else { continue }
            var scratch = Settings()
            do {
                try setting.assign(text, from: .flag, to: &scratch)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    private static func collect(_ arguments: any ParsableArguments, into given: inout [String: String]) {
        for (setting, text) in declared(in: arguments) {
            given[setting.name] = text
        }
        for child in Mirror(reflecting: arguments).children {
            if let group = child.value as? any SettingsOptionGroup { collect(group.options, into: &given) }
        }
    }

    /// The setting flags `arguments` declares directly, with their values (nil when not given).
    private static func declared(in arguments: any ParsableArguments) -> [(Setting, String?)] {
        Mirror(reflecting: arguments).children.compactMap { child in
            guard let label = child.label, let setting = setting(forProperty: label) else { return nil }
            guard let flag = child.value as? any SettingFlagValue else {
                preconditionFailure(
                    "\(type(of: arguments)).\(label) is the flag of setting '\(setting.name)': declare it as "
                        + "`String?` (`Bool?` for a switch) so Settings.resolve checks it"
                )
            }
            return (setting, flag.text)
        }
    }

    /// The setting a property (its stored name, `_maxAttempts`) declares the flag of.
    static func setting(forProperty label: String) -> Setting? {
        let bare = (label.hasPrefix("_") ? String(label.dropFirst()) : label).lowercased()
        return Setting.all.first { $0.name.replacing("-", with: "") == bare }
    }
}

/// A parsed flag's value as the text `Settings.resolve` reads.
protocol SettingFlagValue {
    var text: String? { get }
}

extension Option: SettingFlagValue where Value == String? {
    var text: String? { wrappedValue }
}

extension Flag: SettingFlagValue where Value == Bool? {
    var text: String? { wrappedValue.map { $0 ? "true" : "false" } }
}

/// An `@OptionGroup`, whose options may hold setting flags.
protocol SettingsOptionGroup {
    var options: any ParsableArguments { get }
}

extension OptionGroup: SettingsOptionGroup {
    var options: any ParsableArguments { wrappedValue }
}

/// Where a command's settings come from: its flags (fixed for the life of the process), the
/// environment and the config file, which `resolve` reads again each time (SIGHUP).
struct SettingSources: Sendable {
    /// The setting flags given, by setting name.
    let flags: [String: String]
    /// `--config`, when given.
    let configOption: String?

    /// The sources of `command`, a parsed command; `config` is its `--config`.
    init(command: any ParsableArguments, config: String?) {
        self.flags = SettingFlags.given(in: command)
        self.configOption = config
    }

    /// Resolves the settings from these flags, `environment` and the config file it names.
    /// - Throws: `SettingsError` (see `Settings.resolve`).
    /// - Parameter readingTemplates: for commands that write prompts: also refuse a setting the
    ///   model does not take (`checkModelFit`) and read the installation's prompt templates; a
    ///   template that cannot be used is then a `SettingsError` too.
    func resolve(environment: [String: String], readingTemplates: Bool = false) throws(SettingsError)
        -> Settings.Resolution
    {
        var resolution = try Settings.resolve(
            flags: flags,
            environment: environment,
            configFile: configFile(environment: environment)
        )
        if readingTemplates {
            try resolution.settings.checkModelFit(origins: resolution.origins)
            try resolution.settings.loadTemplates(origins: resolution.origins)
        }
        return resolution
    }

    /// `--config`, else `$COURSEGEN_CONFIG`, else the user's `$XDG_CONFIG_HOME/coursegen/config.yaml`
    /// (`~/.config/coursegen/config.yaml`) when it exists.
    func configFile(environment: [String: String]) -> String? {
        if let configOption { return configOption }
        if let config = environment["COURSEGEN_CONFIG"], !config.isEmpty { return config }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? environment["HOME"].map { "\($0)/.config" }
        guard let base else { return nil }
        let path = "\(base)/coursegen/config.yaml"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
