import Logging

/// One entry in journald's native protocol: named fields, encoded as journald reads them from
/// its datagram socket (systemd's "Native Journal Protocol").
struct JournalEntry: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        var name: String
        var value: String
    }

    var fields: [Field]

    /// The fields journald or journalctl give a meaning to; metadata mapping onto one of them is
    /// renamed (`X_` prefix) so it cannot pass for the entry's own message, priority or source.
    static let reservedFieldNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO", "TID",
        "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "SYSLOG_RAW",
        "DOCUMENTATION", "INVOCATION_ID", "USER_INVOCATION_ID", "UNIT", "USER_UNIT", "OBJECT_PID",
    ]

    /// The longest field name journald accepts.
    static let maximumFieldNameLength = 64

    /// The entry for a swift-log event.
    ///
    /// Fields: `MESSAGE`, `PRIORITY` (see `priority(for:)`), `SYSLOG_IDENTIFIER`, `CODE_FILE`
    /// (the event's `#fileID`), `CODE_LINE`, `CODE_FUNC`, then one field per metadata key named by
    /// `fieldName(forMetadataKey:)` in order of name, and `ERROR` for the event's error unless the
    /// metadata already holds an `error`. Secrets are redacted as `LogRedaction` describes. When
    /// two keys map to the same name, both values are kept (journald allows repeated fields).
    init(event: LogEvent, metadata: Logger.Metadata, identifier: String) {
        let base = [
            Field(name: "MESSAGE", value: LogRedaction.maskingAPIKeys(in: event.message.description)),
            Field(name: "PRIORITY", value: String(Self.priority(for: event.level))),
            Field(name: "SYSLOG_IDENTIFIER", value: identifier),
            Field(name: "CODE_FILE", value: event.file),
            Field(name: "CODE_LINE", value: String(event.line)),
            Field(name: "CODE_FUNC", value: event.function),
        ]
        var metadataFields = metadata.map { key, value in
            Field(name: Self.fieldName(forMetadataKey: key), value: LogRedaction.loggableValue(value, forKey: key))
        }
        if let error = event.error, metadata["error"] == nil {
            metadataFields.append(Field(name: "ERROR", value: LogRedaction.maskingAPIKeys(in: "\(error)")))
        }
        metadataFields.sort { ($0.name, $0.value) < ($1.name, $1.value) }
        self.fields = base + metadataFields
    }

    init(fields: [Field]) {
        self.fields = fields
    }

    /// The syslog priority journald files the entry under: trace and debug 7, info 6, notice 5,
    /// warning 4, error 3, critical 2 (`journalctl -p warning` shows 4 and below).
    static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The journal field name for a metadata key. journald silently drops entries' fields whose
    /// names break its rules, so: ASCII letters are upper-cased, every other character outside
    /// `A-Z 0-9 _` becomes `_`, a name that would start with `_` or a digit, be empty, or be one of
    /// `reservedFieldNames` gets the prefix `X_`, and the result is cut to 64 characters.
    /// `chapter_title` is `CHAPTER_TITLE`, `http.status` is `HTTP_STATUS`, `_pid` is `X__PID`.
    static func fieldName(forMetadataKey key: String) -> String {
        var name = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            default: name.append("_")
            }
        }
        if name.isEmpty || name.first == "_" || name.first!.isNumber || reservedFieldNames.contains(name) {
            name = "X_" + name
        }
        return String(name.prefix(maximumFieldNameLength))
    }

    /// The bytes journald reads: per field `NAME=value\n`, or, when the value holds a newline,
    /// `NAME\n`, the value's length in bytes as a 64-bit little-endian integer, the value and `\n`.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 10 })
        for field in fields {
            bytes.append(contentsOf: field.name.utf8)
            if field.value.utf8.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(field.value.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
