import ArgumentParser
import Foundation
import Platform

/// One row of the settings table (`Setting.all`, in Settings.swift): a setting's name, which is
/// also its flag (`--rpm`), its environment variable (`COURSEGEN_RPM`) and its config file key
/// (`rpm:`); its type, which parses and validates its text; the field of `Settings` it sets,
/// whose initial value is its default; the commands that take it as a flag; whether a reload
/// applies it; and its help. Everything that reads, checks or documents settings goes through
/// these rows.
struct Setting: Sendable {
    /// The commands that take a setting as a flag (the environment and the config file may hold
    /// every setting whatever the command).
    struct Commands: OptionSet, Sendable, Hashable {
        let rawValue: Int
        static let generate = Commands(rawValue: 1 << 0)
        static let watch = Commands(rawValue: 1 << 1)
        static let status = Commands(rawValue: 1 << 2)
        static let gc = Commands(rawValue: 1 << 3)
        static let models = Commands(rawValue: 1 << 4)
        /// The commands that generate chapters.
        static let generating: Commands = [.generate, .watch]
        static let all: Commands = [.generate, .watch, .status, .gc, .models]
    }

    /// What SIGHUP does with a changed value.
    enum Reload: Sendable, Hashable {
        /// The new value is used from the reload on.
        case appliesAtOnce
        /// The old value stays until the daemon restarts; the reload says so.
        case needsRestart
    }

    /// The name: lowercase words joined by `-`.
    let name: String
    /// One or two sentences for `--help`, the README and the example config, without the default.
    let summary: String
    /// More comment lines for the example config file, as written.
    let details: [String]
    /// The commands that declare its flag.
    let commands: Commands
    let reload: Reload
    /// What its text must be, completing "must be ...".
    let allowed: String
    /// The placeholder for the value in `--help`.
    let valueName: String
    /// Whether its flag is a switch, `--name` / `--no-name`, rather than an option with a value.
    let isSwitch: Bool
    /// Whether `allowed` lists words, which `--help` then shows.
    let listsChoices: Bool
    /// Whether its config file value may be a YAML mapping (handed to its type as YAML text).
    let acceptsMapping: Bool
    /// The default in words, for settings whose default is found at run time (nil otherwise).
    private let defaultInWords: String?
    private let store: @Sendable (String, inout Settings) -> Bool
    private let read: @Sendable (Settings) -> String?
    private let copy: @Sendable (Settings, inout Settings) -> Void
    private let isEqual: @Sendable (Settings, Settings) -> Bool

    /// A setting with a default: the initial value of `field` in `Settings()`.
    init<Value: Equatable>(
        _ name: String,
        _ type: SettingType<Value>,
        at field: any WritableKeyPath<Settings, Value> & Sendable,
        for commands: Commands,
        onReload reload: Reload,
        help summary: String,
        details: [String] = []
    ) {
        self.init(
            name,
            type,
            for: commands,
            onReload: reload,
            help: summary,
            details: details,
            defaultInWords: nil,
            store: { text, settings in
                guard let value = type.parse(text) else { return false }
                settings[keyPath: field] = value
                return true
            },
            read: { type.format($0[keyPath: field]) },
            copy: { source, target in target[keyPath: field] = source[keyPath: field] },
            isEqual: { $0[keyPath: field] == $1[keyPath: field] }
        )
    }

    /// A setting that may stay unset (nil in `Settings()`); `defaultInWords` says what is used
    /// then, if anything.
    init<Value: Equatable>(
        _ name: String,
        _ type: SettingType<Value>,
        at field: any WritableKeyPath<Settings, Value?> & Sendable,
        for commands: Commands,
        onReload reload: Reload,
        help summary: String,
        details: [String] = [],
        default defaultInWords: String? = nil
    ) {
        self.init(
            name,
            type,
            for: commands,
            onReload: reload,
            help: summary,
            details: details,
            defaultInWords: defaultInWords,
            store: { text, settings in
                guard let value = type.parse(text) else { return false }
                settings[keyPath: field] = value
                return true
            },
            read: { $0[keyPath: field].map(type.format) },
            copy: { source, target in target[keyPath: field] = source[keyPath: field] },
            isEqual: { $0[keyPath: field] == $1[keyPath: field] }
        )
    }

    private init<Value>(
        _ name: String,
        _ type: SettingType<Value>,
        for commands: Commands,
        onReload reload: Reload,
        help summary: String,
        details: [String],
        defaultInWords: String?,
        store: @escaping @Sendable (String, inout Settings) -> Bool,
        read: @escaping @Sendable (Settings) -> String?,
        copy: @escaping @Sendable (Settings, inout Settings) -> Void,
        isEqual: @escaping @Sendable (Settings, Settings) -> Bool
    ) {
        self.name = name
        self.summary = summary
        self.details = details
        self.commands = commands
        self.reload = reload
        self.allowed = type.allowed
        self.valueName = type.valueName
        self.isSwitch = type.isSwitch
        self.listsChoices = type.listsChoices
        self.acceptsMapping = type.acceptsMapping
        self.defaultInWords = defaultInWords
        self.store = store
        self.read = read
        self.copy = copy
        self.isEqual = isEqual
    }

    /// `--name`.
    var flag: String { "--" + name }
    /// `COURSEGEN_NAME`: upper case, `-` as `_`.
    var environmentVariable: String { "COURSEGEN_" + name.uppercased().replacing("-", with: "_") }
    /// The key in the config file: the name.
    var configKey: String { name }

    /// The default as the text a config file would hold, or in words; nil when there is none.
    var defaultText: String? { read(Settings()) ?? defaultInWords }

    /// For `@Option(name:)` and `@Flag(name:)`: the long flag `--name`.
    var flagName: NameSpecification { .customLong(name) }

    /// For `@Option(help:)` and `@Flag(help:)`: the summary, the choices if it has any, and the
    /// default.
    var help: ArgumentHelp {
        let described = listsChoices ? "\(summary) Must be \(allowed)." : summary
        let text = defaultText.map { "\(described) (default: \($0))" } ?? described
        return isSwitch ? ArgumentHelp(text) : ArgumentHelp(text, valueName: valueName)
    }

    /// Sets this setting in `settings` from `text` (surrounding blanks ignored).
    /// - Throws: `SettingsError.invalidValue` naming `origin`, the text and what is allowed.
    func assign(_ text: String, from origin: SettingOrigin, to settings: inout Settings) throws(SettingsError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard store(trimmed, &settings) else {
            throw SettingsError.invalidValue(self, text: trimmed, from: origin)
        }
    }

    /// Its value in `settings`, as the text a config file would hold; nil when unset.
    func value(in settings: Settings) -> String? { read(settings) }

    /// Whether `a` and `b` hold the same value for it.
    func isSame(in a: Settings, and b: Settings) -> Bool { isEqual(a, b) }

    /// Sets its value in `target` to the one in `source`.
    func copyValue(from source: Settings, to target: inout Settings) { copy(source, &target) }
}

/// Where a setting's text came from, for messages.
enum SettingOrigin: Sendable, Hashable {
    case flag
    case environment
    case configFile(path: String, line: Int)
}

/// What text a setting accepts and the value it becomes. A setting's type decides its
/// validation, its message when the text is wrong and how its value is written in
/// documentation; one per kind of value below.
struct SettingType<Value: Sendable>: Sendable {
    /// What the text must be, completing "must be ...": "a whole number from 1 to 256".
    let allowed: String
    /// The placeholder for the value in `--help` ("n", "seconds", "dir").
    let valueName: String
    /// Whether the flag is a switch (`--name` / `--no-name`) rather than an option with a value.
    let isSwitch: Bool
    /// Whether `allowed` lists words, which `--help` then shows.
    var listsChoices = false
    /// Whether a config file may give the value as a YAML mapping; `parse` then reads its YAML
    /// text (a flag or variable gives the same YAML, in flow style: `{a: {b: 1}}`).
    var acceptsMapping = false
    /// The value `text` (without surrounding blanks) stands for, or nil when it is not allowed.
    let parse: @Sendable (String) -> Value?
    /// `value` as text that `parse` reads back.
    let format: @Sendable (Value) -> String
}

extension SettingType where Value == Int {
    /// A whole number in `range`.
    static func integer(_ range: ClosedRange<Int>, valueName: String = "n") -> Self {
        Self(
            allowed: "a whole number from \(range.lowerBound) to \(range.upperBound)",
            valueName: valueName,
            isSwitch: false,
            parse: { text in Int(text).flatMap { range.contains($0) ? $0 : nil } },
            format: { String($0) }
        )
    }
}

extension SettingType where Value == Double {
    /// A decimal number in `range`.
    static func number(_ range: ClosedRange<Double>, valueName: String) -> Self {
        Self(
            allowed: "a number from \(decimal(range.lowerBound)) to \(decimal(range.upperBound))",
            valueName: valueName,
            isSwitch: false,
            parse: { text in Double(text).flatMap { $0.isFinite && range.contains($0) ? $0 : nil } },
            format: decimal
        )
    }
}

extension SettingType where Value == Duration {
    /// A duration written as a number of seconds, fractions allowed, in `range`.
    static func seconds(_ range: ClosedRange<Double>) -> Self {
        Self(
            allowed: "a number of seconds from \(decimal(range.lowerBound)) to \(decimal(range.upperBound))",
            valueName: "seconds",
            isSwitch: false,
            parse: { text in
                Double(text).flatMap { $0.isFinite && range.contains($0) ? Duration.seconds($0) : nil }
            },
            format: { duration in
                return decimal(duration.inSeconds)
            }
        )
    }

    /// A duration written as a whole number of milliseconds in `range`.
    static func milliseconds(_ range: ClosedRange<Int>) -> Self {
        Self(
            allowed: "a whole number of milliseconds from \(range.lowerBound) to \(range.upperBound)",
            valueName: "ms",
            isSwitch: false,
            parse: { text in Int(text).flatMap { range.contains($0) ? Duration.milliseconds($0) : nil } },
            format: { duration in
                return String(duration.milliseconds)
            }
        )
    }
}

extension SettingType where Value == Bool {
    /// On or off: a switch on the command line (`--name`, `--no-name`); `true`/`false`, `yes`/`no`,
    /// `on`/`off` or `1`/`0` in the environment and the config file.
    static var boolean: Self {
        Self(
            allowed: "true or false",
            valueName: "",
            isSwitch: true,
            parse: { text in
                switch text.lowercased() {
                case "true", "yes", "on", "1": true
                case "false", "no", "off", "0": false
                default: nil
                }
            },
            format: { $0 ? "true" : "false" }
        )
    }
}

extension SettingType where Value == String {
    /// One of `words`, in any case (stored as listed).
    static func choice(_ words: [String], valueName: String = "name") -> Self {
        Self(
            allowed: listing(words),
            valueName: valueName,
            isSwitch: false,
            listsChoices: words.count > 1,
            parse: { text in words.first { $0 == text.lowercased() } },
            format: { $0 }
        )
    }

    /// A file or folder path, relative to the working directory unless it starts with `/`.
    static func path(valueName: String) -> Self {
        Self(
            allowed: "a path",
            valueName: valueName,
            isSwitch: false,
            parse: { $0.isEmpty || $0.contains("\0") ? nil : $0 },
            format: { $0 }
        )
    }

    /// An `http` or `https` URL with a host, such as `https://example.com`.
    static var url: Self {
        Self(
            allowed: "an http or https URL such as https://example.com",
            valueName: "url",
            isSwitch: false,
            parse: { text in
                guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                    scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
                else { return nil }
                return text
            },
            format: { $0 }
        )
    }

    /// `HOST:PORT`, the port from 0 to 65535; an IPv6 host in brackets (`[::1]:9090`).
    static var hostAndPort: Self {
        Self(
            allowed: "HOST:PORT, such as 127.0.0.1:9090",
            valueName: "host:port",
            isSwitch: false,
            parse: { text in
                guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                    (0...65_535).contains(port)
                else { return nil }
                let host = text[..<colon]
                let isBracketedIPv6 =
                    host.hasPrefix("[") && host.hasSuffix("]") && host.dropFirst().dropLast().contains(":")
                let isName = !host.isEmpty && !host.contains { ":[]".contains($0) || $0.isWhitespace }
                guard isBracketedIPv6 || isName else { return nil }
                return text
            },
            format: { $0 }
        )
    }

    /// Text that `isValid` accepts, described by `allowed`.
    static func text(_ allowed: String, valueName: String, where isValid: @escaping @Sendable (String) -> Bool)
        -> Self
    {
        Self(
            allowed: allowed,
            valueName: valueName,
            isSwitch: false,
            parse: { isValid($0) ? $0 : nil },
            format: { $0 }
        )
    }
}

extension SettingType where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// One of the enumeration's cases, by raw value, in any case.
    static func choice(valueName: String) -> Self {
        Self(
            allowed: listing(Value.allCases.map(\.rawValue)),
            valueName: valueName,
            isSwitch: false,
            listsChoices: Value.allCases.count > 1,
            parse: { Value(rawValue: $0.lowercased()) },
            format: { $0.rawValue }
        )
    }
}

/// "a, b or c" as what a value must be: "one of a, b or c", or just "a" when it is the only one.
private func listing(_ words: [String]) -> String {
    guard words.count > 1 else { return words.first ?? "nothing" }
    return "one of " + words.dropLast().joined(separator: ", ") + " or " + words.last!
}

/// A number as people write it: `300`, not `300.0`; `0.7`, not `0.7000000000000001` where the
/// value is the double nearest 0.7.
func decimal(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
