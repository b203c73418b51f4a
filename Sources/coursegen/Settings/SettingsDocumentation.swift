import ArgumentParser

/// The documentation of every setting, generated from the table (`Setting.all`):
/// `systemd/config.example.yaml` and the table in README.md's Configuration section. Tests fail
/// when the committed copies differ; `coursegen settings` prints them anew.
enum SettingsDocumentation {
    /// Values the example config gives for the system service, which `scripts/install.sh`
    /// installs as /etc/coursegen/config.yaml: set (`true`) or shown commented out (`false`).
    static let serviceValues: [String: (value: String, isSet: Bool)] = [
        Setting.inbox.name: ("/srv/coursegen/inbox", true),
        Setting.output.name: ("/srv/coursegen/output", true),
        Setting.state.name: ("/var/lib/coursegen", false),
        Setting.apiKeyFile.name: ("/etc/coursegen/gemini-api-key", false),
        // Off by default: the commented line shows a value to start from.
        Setting.budget.name: ("5", false),
        Setting.thinkingLevel.name: ("medium", false),
        Setting.metricsListen.name: ("127.0.0.1:9464", false),
        Setting.systemTemplate.name: ("/etc/coursegen/system.mustache", false),
        Setting.chapterTemplate.name: ("/etc/coursegen/chapter.mustache", false),
    ]

    /// `systemd/config.example.yaml`: a header, then each setting's comment and line.
    static func exampleConfig() -> String {
        var lines = [
            "# coursegen settings: flat `name: value` lines. Installed as /etc/coursegen/config.yaml for the",
            "# system service (never overwritten by a later install).",
            "#",
            "# Every setting is also a command-line flag (--name) and an environment variable",
            "# (COURSEGEN_NAME, upper case with `-` as `_`, e.g. COURSEGEN_BASE_URL). A flag wins over the",
            "# environment, which wins over this file, which wins over the default. Unknown names are",
            "# refused, so a typo cannot pass silently. Commented lines show the defaults.",
            "#",
            "# After editing: `systemctl reload coursegen` (work in flight is not dropped); settings that",
            "# need a restart say so, and take effect with `systemctl restart coursegen`.",
            "#",
            "# Generated from coursegen's settings table: coursegen settings --example-config",
        ]
        for setting in Setting.all {
            lines.append("")
            var facts = ["Must be \(setting.allowed)."]
            if setting.commands == .watch { facts.append("For `watch` only.") }
            let service = serviceValues[setting.name]
            let defaultIsShown = setting.value(in: Settings()) != nil
            if !defaultIsShown {
                facts.append(setting.defaultText.map { "Default: \($0)." } ?? "No default.")
            }
            facts.append(setting.reload == .appliesAtOnce ? "A reload applies it." : "A change needs a restart.")
            let paragraph = ([setting.summary] + facts).joined(separator: " ")
            lines += wrapped(paragraph, width: 96).map { "# " + $0 }
            lines += setting.details.map { "# " + $0 }
            if let service, service.isSet {
                lines.append("\(setting.configKey): \(service.value)")
            } else if defaultIsShown, let value = setting.defaultText {
                lines.append("# \(setting.configKey): \(value)")
            } else {
                lines.append("# \(setting.configKey): \(service?.value ?? "")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table of settings in README.md's Configuration section (Markdown).
    static func readmeTable() -> String {
        var lines = [
            "| setting | default | on reload | |",
            "| --- | --- | --- | --- |",
        ]
        for setting in Setting.all {
            let value = setting.value(in: Settings())
            let shownDefault = value.map { "`\($0)`" } ?? setting.defaultText ?? ""
            let reload = setting.reload == .appliesAtOnce ? "applies" : "restart"
            var text = setting.summary
            if setting.listsChoices { text += " Must be \(setting.allowed)." }
            if setting.commands == .watch { text += " `watch` only." }
            lines.append("| `\(setting.name)` | \(shownDefault) | \(reload) | \(text) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` in lines of at most `width` characters, broken between words (a longer word gets a
    /// line of its own).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

/// `coursegen settings`, hidden: prints the documentation generated from the settings table, to
/// commit after changing it.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "Print the settings' documentation, generated from coursegen's settings table.",
        shouldDisplay: false
    )

    @Flag(help: "Print systemd/config.example.yaml.")
    var exampleConfig = false

    @Flag(help: "Print the table of README.md's Configuration section.")
    var readmeTable = false

    func validate() throws {
        guard exampleConfig != readmeTable else {
            throw ValidationError("pass one of --example-config or --readme-table")
        }
    }

    func run() {
        print(
            exampleConfig ? SettingsDocumentation.exampleConfig() : SettingsDocumentation.readmeTable(),
            terminator: ""
        )
    }
}
