import Logging

/// Keeps secrets out of every log output (journal and terminal alike).
///
/// The rule, applied to metadata keys: a key is secret when one of its words is `key`, `apikey`,
/// `token`, `secret`, `password`, `passwd`, `passphrase`, `credential`, `credentials`,
/// `authorization`, `auth`, `bearer` or `cookie`. Words are split at every character that is not
/// an ASCII letter or digit and where a lower-case letter meets an upper-case one, and compared
/// case-insensitively. So `api_key`, `x-goog-api-key`, `apiKey`, `key` and `accessToken` are
/// secret; `tokens_in` (a count: `tokens` is not `token`), `chapter_title` and `request_id` are
/// not. A secret's value is logged as `<redacted>`, so the entry still shows the key was there.
///
/// Independently of keys, text shaped like a Google API key (`AIza` followed by 35 characters of
/// `A-Z a-z 0-9 _ -`) is replaced by `<redacted>` wherever it appears, in messages and in values.
enum LogRedaction {
    /// What a secret value is logged as.
    static let redacted = "<redacted>"

    private static let secretWords: Set<String> = [
        "key", "apikey", "token", "secret", "password", "passwd", "passphrase", "credential", "credentials",
        "authorization", "auth", "bearer", "cookie",
    ]

    /// Whether metadata under `key` must not be logged (see the type's rule).
    static func isSecret(key: String) -> Bool {
        words(of: key).contains { secretWords.contains($0) }
    }

    /// The text to log for `value` under `key`: `<redacted>` for a secret key, else the value's
    /// description with anything shaped like an API key masked.
    static func loggableValue(_ value: Logger.MetadataValue, forKey key: String) -> String {
        isSecret(key: key) ? redacted : maskingAPIKeys(in: value.description)
    }

    /// `text` with every run shaped like a Google API key replaced by `<redacted>`.
    static func maskingAPIKeys(in text: String) -> String {
        let bytes = Array(text.utf8)
        let prefix = Array("AIza".utf8)
        let bodyLength = 35
        guard bytes.count >= prefix.count + bodyLength else { return text }
        var output: [UInt8] = []
        var index = 0
        var masked = false
        while index < bytes.count {
            if index + prefix.count + bodyLength <= bytes.count,
                bytes[index..<index + prefix.count].elementsEqual(prefix),
                bytes[index + prefix.count..<index + prefix.count + bodyLength].allSatisfy(isKeyCharacter)
            {
                output.append(contentsOf: redacted.utf8)
                index += prefix.count + bodyLength
                masked = true
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return masked ? String(decoding: output, as: UTF8.self) : text
    }

    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The lower-cased words of a key: split at non-alphanumerics and at lower-to-upper changes.
    static func words(of key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousWasLower = false
        for scalar in key.unicodeScalars {
            let isUpper = scalar.properties.isUppercase && scalar.isASCII
            let isAlphanumeric = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
            if !isAlphanumeric || (isUpper && previousWasLower) {
                if !current.isEmpty { words.append(current) }
                current = ""
            }
            if isAlphanumeric { current.unicodeScalars.append(contentsOf: String(scalar).lowercased().unicodeScalars) }
            previousWasLower = isAlphanumeric && !isUpper
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
