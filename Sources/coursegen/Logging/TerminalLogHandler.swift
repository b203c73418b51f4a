import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler writing one readable line per event to standard error:
///
///     12:03:04 warning  chapter attempt failed  outline=practical-rust chapter=3 attempt=2 http_status=503
///
/// Local time, the level padded to 8 columns, the message, then the metadata as `key=value`
/// (the daemon's keys in a fixed order, `outline chapter chapter_title attempt http_status
/// duration_ms tokens_in tokens_out tokens_thinking error path file request_id`, any others
/// after them by name; values with spaces, quotes or `=` are quoted). Metadata is the handler's,
/// the provider's, then the event's, later ones winning. The level is colored only when
/// `useColor` is set (see `shouldUseColor(isTerminal:environment:)`). Secrets never appear
/// (`LogRedaction`).
struct TerminalLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    let useColor: Bool
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - useColor: whether to color the level with ANSI escapes.
    ///   - write: where each line (ending in a newline) goes: standard error by default.
    init(
        logLevel: Logger.Level = .info,
        useColor: Bool,
        metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable (String) -> Void = StandardError.write
    ) {
        self.logLevel = logLevel
        self.useColor = useColor
        self.metadataProvider = metadataProvider
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let eventMetadata = event.metadata { merged.merge(eventMetadata) { $1 } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        write(
            Self.line(level: event.level, message: event.message, metadata: merged, time: .now(), useColor: useColor)
                + "\n"
        )
    }

    /// Whether to color: only when standard error is a terminal, `NO_COLOR` is unset or empty
    /// (https://no-color.org) and `TERM` is not `dumb`.
    static func shouldUseColor(isTerminal: Bool, environment: [String: String]) -> Bool {
        isTerminal && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    /// The daemon's metadata keys, in the order a reader scans them.
    static let keyOrder = [
        "outline", "chapter", "chapter_title", "attempt", "http_status", "duration_ms", "tokens_in", "tokens_out",
        "tokens_thinking", "error", "path", "file", "request_id",
    ]

    /// One line for an event, without the trailing newline.
    static func line(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata,
        time: WallClockTime,
        useColor: Bool
    ) -> String {
        let name = level.rawValue
        let padding = String(repeating: " ", count: max(0, 8 - name.count))
        let levelText = useColor ? color(for: level) + name + "\u{1B}[0m" : name
        var line = "\(time) \(levelText)\(padding) \(LogRedaction.maskingAPIKeys(in: message.description))"
        let keys = metadata.keys.sorted { first, second in
            switch (keyOrder.firstIndex(of: first), keyOrder.firstIndex(of: second)) {
            case let (a?, b?): a < b
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): first < second
            }
        }
        if !keys.isEmpty {
            let pairs = keys.map { "\($0)=\(quoted(LogRedaction.loggableValue(metadata[$0]!, forKey: $0)))" }
            line += "  " + pairs.joined(separator: " ")
        }
        return line
    }

    private static func color(for level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "\u{1B}[2m"  // dim
        case .info: "\u{1B}[32m"  // green
        case .notice: "\u{1B}[36m"  // cyan
        case .warning: "\u{1B}[33m"  // yellow
        case .error: "\u{1B}[31m"  // red
        case .critical: "\u{1B}[1;31m"  // bold red
        }
    }

    /// `value` as is when it reads unambiguously after `key=`, else in double quotes with `"`, `\`
    /// and control characters escaped.
    static func quoted(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.properties.generalCategory == .control
            }
        guard needsQuotes else { return value }
        var escaped = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case _ where scalar.properties.generalCategory == .control:
                escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}

/// A time of day on the local clock, as the terminal handler prints it (`HH:MM:SS`).
struct WallClockTime: Sendable, Equatable, CustomStringConvertible {
    var hour: Int
    var minute: Int
    var second: Int

    /// The current local time of day (per `TZ` or /etc/localtime).
    static func now() -> WallClockTime {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return WallClockTime(hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }

    var description: String {
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(twoDigits(hour)):\(twoDigits(minute)):\(twoDigits(second))"
    }
}

/// Standard error as a line sink.
enum StandardError {
    /// Writes `text` to file descriptor 2 with as few `write(2)` calls as it takes (one, unless
    /// the kernel takes it in parts), so concurrent lines do not interleave mid-line. Failures are
    /// ignored: there is nowhere left to report them.
    @Sendable static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Whether standard error is a terminal.
    static var isTerminal: Bool { isatty(2) == 1 }
}
