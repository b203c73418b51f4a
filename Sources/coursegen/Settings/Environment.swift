import Foundation
import Generation
import Platform
import Providers

#if canImport(Glibc)
    import Glibc
#endif

/// Where coursegen keeps its state: `--state`, else `$STATE_DIRECTORY` (set by systemd's
/// StateDirectory=), else `$XDG_STATE_HOME/coursegen`, else `~/.local/state/coursegen`.
/// - Throws: `SettingsError` when there is none, or when it names something that is no folder.
func stateDirectory(_ setting: String?, environment: [String: String]) throws -> String {
    let folder = try stateFolderPath(setting, environment: environment)
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
        throw SettingsError("the state folder \(folder) is a file, not a folder; give --state a folder")
    }
    return folder
}

private func stateFolderPath(_ setting: String?, environment: [String: String]) throws -> String {
    if let setting, !setting.isEmpty { return AbsolutePath(setting).string }
    if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !systemd.isEmpty {
        return AbsolutePath(String(systemd)).string
    }
    if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/coursegen" }
    guard let home = environment["HOME"], !home.isEmpty else {
        throw SettingsError("no state folder: pass --state DIR (or set STATE_DIRECTORY, XDG_STATE_HOME or HOME)")
    }
    return "\(home)/.local/state/coursegen"
}

/// Finds the API key for `settings`' provider: `--api-key-file` (or `api-key-file` in the
/// config), else the systemd credential in `$CREDENTIALS_DIRECTORY` (`gemini-api-key`, or
/// `openai-api-key`), else the environment: `GOOGLE_API_KEY` or `GEMINI_API_KEY` (GOOGLE_API_KEY
/// wins when both are set, as in Google's SDKs), or `OPENAI_API_KEY`. A flag wins over the
/// environment here as for every setting, and the credential is how systemd hands a key over.
/// - Returns: nil only for openai with a base URL on a loopback address (a local Ollama or
///   llama.cpp server needs no key; one found is still sent, for servers started with a key).
/// - Throws: `SettingsError` saying every way to provide one when there is none.
func loadAPIKey(for settings: Settings, environment: [String: String], warn: (String) -> Void) throws -> APIKey? {
    let source = KeySource(provider: settings.generation.provider, baseURL: settings.baseURL)
    if let file = settings.apiKeyFile {
        return try readKeyFile(file, warn: warn)
    }
    var credential: String? = nil
    if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty {
        let path = "\(credentials)/\(source.credential)"
        credential = path
        if FileManager.default.fileExists(atPath: path) { return try readKeyFile(path, warn: warn) }
    }
    let found = source.variables.compactMap { name in environment[name].flatMap(APIKey.init).map { (name, $0) } }
    if let (name, key) = found.first {
        if found.count > 1 { warn("both \(found.map(\.0).joined(separator: " and ")) are set; using \(name)") }
        return key
    }
    if source.isOptional { return nil }
    let unit = "LoadCredential=\(source.credential):/etc/coursegen/\(source.credential)"
    if let credential {
        // Under systemd: the unit hands the key over as a credential, and this one is missing.
        throw SettingsError(
            "no \(source.name) API key: $CREDENTIALS_DIRECTORY holds no readable credential \(source.credential) "
                + "(\(credential)); check that the unit has \(unit) and that this file exists and holds the key"
        )
    }
    throw SettingsError(
        "no \(source.name) API key: set \(source.variables.last!), or pass --api-key-file FILE, or (under systemd) "
            + "\(unit). \(source.advice)"
    )
}

/// Where a provider's key comes from, and what to say when there is none.
private struct KeySource {
    var name: String
    /// The systemd credential's name.
    var credential: String
    /// The environment variables, the one that wins first.
    var variables: [String]
    var advice: String
    /// Whether the server may be used without a key: only openai, on a loopback address.
    var isOptional: Bool

    init(provider: String, baseURL: String) {
        switch provider {
        case "openai":
            name = "OpenAI"
            credential = "openai-api-key"
            variables = ["OPENAI_API_KEY"]
            advice =
                "Get a key at https://platform.openai.com/api-keys; a server on this machine (--base-url "
                + "http://127.0.0.1:11434/v1 for Ollama) needs none"
            isOptional = !OpenAIProvider.needsKey(baseURL: baseURL)
        default:
            name = "Gemini"
            credential = "gemini-api-key"
            variables = ["GOOGLE_API_KEY", "GEMINI_API_KEY"]
            advice = "Get a key at https://aistudio.google.com/apikey"
            isOptional = false
        }
    }
}

private func readKeyFile(_ path: String, warn: (String) -> Void) throws -> APIKey {
    let bytes: [UInt8]
    do {
        bytes = try SmallFile.read(path, limit: 4095)
    } catch {
        switch error {
        case .cannotOpen(let code), .cannotRead(let code):
            throw SettingsError("cannot read the API key file \(path): \(code.words)")
        case .notRegular, .tooLarge:
            throw SettingsError("the API key file \(path) must be a small regular file holding only the key")
        }
    }
    var info = stat()
    if stat(path, &info) == 0, info.st_mode & 0o004 != 0 {
        warn("the API key file \(path) is readable by every user; restrict it with chmod 600")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw SettingsError("cannot read the API key file \(path): it is not UTF-8 text")
    }
    let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !key.contains(where: { $0.isWhitespace || $0.isNewline }), let apiKey = APIKey(key) else {
        throw SettingsError("the API key file \(path) must hold the key alone, on one line")
    }
    return apiKey
}
