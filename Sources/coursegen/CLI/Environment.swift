import Foundation
import Generation

#if canImport(Glibc)
    import Glibc
#endif

/// Where coursegen keeps its state: `--state`, else `$STATE_DIRECTORY` (set by systemd's
/// StateDirectory=), else `$XDG_STATE_HOME/coursegen`, else `~/.local/state/coursegen`.
func stateDirectory(_ setting: String?, environment: [String: String]) throws -> String {
    if let setting, !setting.isEmpty { return absolutePath(setting) }
    if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !systemd.isEmpty {
        return absolutePath(String(systemd))
    }
    if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/coursegen" }
    guard let home = environment["HOME"], !home.isEmpty else {
        throw SettingsError("no state folder: pass --state DIR (or set STATE_DIRECTORY, XDG_STATE_HOME or HOME)")
    }
    return "\(home)/.local/state/coursegen"
}

/// `path` made absolute against the working directory, with `.`/`..` and duplicate slashes
/// resolved (symlinks are kept: the user's names are the ones shown).
func absolutePath(_ path: String) -> String {
    let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    var parts: [Substring] = []
    for part in absolute.split(separator: "/") {
        switch part {
        case ".": continue
        case "..": if !parts.isEmpty { parts.removeLast() }
        default: parts.append(part)
        }
    }
    return "/" + parts.joined(separator: "/")
}

/// Finds the Gemini API key: `--api-key-file` (or `api-key-file` in the config), else the
/// systemd credential `gemini-api-key` in `$CREDENTIALS_DIRECTORY`, else `GOOGLE_API_KEY` or
/// `GEMINI_API_KEY` (GOOGLE_API_KEY wins when both are set, as in Google's SDKs).
/// - Throws: `SettingsError` saying every way to provide one when there is none.
func loadAPIKey(file: String?, environment: [String: String], warn: (String) -> Void) throws -> APIKey {
    if let file {
        return try readKeyFile(file, warn: warn)
    }
    var credential: String? = nil
    if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty {
        let path = "\(credentials)/gemini-api-key"
        credential = path
        if FileManager.default.fileExists(atPath: path) { return try readKeyFile(path, warn: warn) }
    }
    let google = environment["GOOGLE_API_KEY"].flatMap(APIKey.init)
    let gemini = environment["GEMINI_API_KEY"].flatMap(APIKey.init)
    if let google {
        if gemini != nil { warn("both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY") }
        return google
    }
    if let gemini { return gemini }
    if let credential {
        // Under systemd: the unit hands the key over as a credential, and this one is missing.
        throw SettingsError(
            "no Gemini API key: $CREDENTIALS_DIRECTORY holds no readable credential gemini-api-key (\(credential)); "
                + "check that the unit has LoadCredential=gemini-api-key:/etc/coursegen/gemini-api-key and that "
                + "this file exists and holds the key"
        )
    }
    throw SettingsError(
        "no Gemini API key: set GEMINI_API_KEY, or pass --api-key-file FILE, or (under systemd) "
            + "LoadCredential=gemini-api-key:/etc/coursegen/gemini-api-key. Get a key at https://aistudio.google.com/apikey"
    )
}

private func readKeyFile(_ path: String, warn: (String) -> Void) throws -> APIKey {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw SettingsError("cannot read the API key file \(path): \(String(cString: strerror(errno)))")
    }
    guard info.st_mode & S_IFMT == S_IFREG, info.st_size < 4096 else {
        throw SettingsError("the API key file \(path) must be a small regular file holding only the key")
    }
    if info.st_mode & 0o004 != 0 {
        warn("the API key file \(path) is readable by every user; restrict it with chmod 600")
    }
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        throw SettingsError("cannot read the API key file \(path): permission denied or not UTF-8")
    }
    let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !key.contains(where: { $0.isWhitespace || $0.isNewline }), let apiKey = APIKey(key) else {
        throw SettingsError("the API key file \(path) must hold the key alone, on one line")
    }
    return apiKey
}
