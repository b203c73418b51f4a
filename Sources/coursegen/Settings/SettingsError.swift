import Generation
import Logging
import Outlines
import Platform

/// A setting, key or folder that cannot be used. Its `description` says where the problem is
/// (the flag, the variable, or `FILE:LINE` of the config file) and what is allowed.
struct SettingsError: CodedError {
    /// A stable classification of the problem.
    enum Code: String, ErrorCode {
        /// A setting's text is not one it allows.
        case invalidValue
        /// The config file has a key that is no setting's.
        case unknownKey
        /// The config file cannot be read.
        case unreadableConfigFile
        /// The config file is not flat `name: value` YAML.
        case malformedConfigFile
        /// Something else the user must set or fix (no API key, no state folder, ...).
        case unusable
    }

    let code: Code
    /// What is wrong and what to do, naming where.
    let message: String
    /// Where the error was made.
    let origin: SourceOrigin

    private init(_ code: Code, _ message: String, fileID: String, line: Int) {
        self.code = code
        self.message = message
        self.origin = SourceOrigin(fileID: fileID, line: line)
    }

    /// Something the user must set or fix, said by `message`.
    init(_ message: String, fileID: String = #fileID, line: Int = #line) {
        self.init(.unusable, message, fileID: fileID, line: line)
    }

    /// `--rpm 'lots' must be ...`, `COURSEGEN_RPM 'lots' must be ...`, or
    /// `FILE:LINE: rpm 'lots' must be ...`.
    static func invalidValue(
        _ setting: Setting,
        text: String,
        from origin: SettingOrigin,
        fileID: String = #fileID,
        line: Int = #line
    ) -> Self {
        Self(
            .invalidValue,
            "\(subject(setting, from: origin)) '\(text)' must be \(setting.allowed)",
            fileID: fileID,
            line: line
        )
    }

    /// How a message names a setting given through `origin`: `--rpm`, `COURSEGEN_RPM`, or
    /// `FILE:LINE: rpm`.
    static func subject(_ setting: Setting, from origin: SettingOrigin) -> String {
        switch origin {
        case .flag: setting.flag
        case .environment: setting.environmentVariable
        case .configFile(let path, let fileLine): "\(path):\(fileLine): \(setting.configKey)"
        }
    }

    static func unknownKey(
        _ key: String,
        path: String,
        line fileLine: Int,
        known: [String],
        fileID: String = #fileID,
        line: Int = #line
    ) -> Self {
        let hint = Spelling.suggestion(for: key, among: known).map { " (did you mean '\($0)'?)" } ?? ""
        return Self(
            .unknownKey,
            "\(path):\(fileLine): unknown key '\(key)'\(hint); known keys: \(known.joined(separator: ", "))",
            fileID: fileID,
            line: line
        )
    }

    static func unreadableConfigFile(path: String, reason: String, fileID: String = #fileID, line: Int = #line)
        -> Self
    {
        Self(.unreadableConfigFile, "cannot read the config file \(path): \(reason)", fileID: fileID, line: line)
    }

    /// `FILE:LINE: problem`.
    static func malformedConfigFile(
        path: String,
        line fileLine: Int,
        _ problem: String,
        fileID: String = #fileID,
        line: Int = #line
    ) -> Self {
        Self(.malformedConfigFile, "\(path):\(fileLine): \(problem)", fileID: fileID, line: line)
    }
}

/// Something about the settings the user should hear, logged once logging is set up.
enum SettingsWarning: Sendable, Hashable {
    /// A `COURSEGEN_*` variable no setting reads, close to one that does: probably a typo.
    case misspeltVariable(String, probablyMeant: String)

    /// Logs the warning: a constant message, the particulars as metadata.
    func log(to logger: Logger) {
        switch self {
        case .misspeltVariable(let variable, let meant):
            logger.warning(
                "unknown environment variable ignored",
                metadata: ["variable": "\(variable)", "did_you_mean": "\(meant)"]
            )
        }
    }
}
