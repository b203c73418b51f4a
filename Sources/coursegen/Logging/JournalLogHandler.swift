import Logging

/// A swift-log handler writing native journal entries, so that `journalctl -u coursegen -p
/// warning` filters by level and `journalctl -u coursegen OUTLINE=practical-rust` by outline.
///
/// Each event becomes one entry (see `JournalEntry.init(event:metadata:identifier:)` for its
/// fields); metadata is the handler's, then the metadata provider's, then the event's, later ones
/// winning for the same key. Secrets never reach the journal (`LogRedaction`). When journald does
/// not take an entry, the line is written to standard error instead (under systemd that is the
/// journal's stream connection), so nothing is lost silently.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private let socket: JournalSocket
    private let identifier: String
    private let fallback: @Sendable (String) -> Void

    /// - Parameters:
    ///   - socket: the journal socket every copy of the handler shares.
    ///   - identifier: the `SYSLOG_IDENTIFIER` of every entry.
    ///   - fallback: where a line goes when journald refuses its entry (standard error by default).
    init(
        socket: JournalSocket,
        identifier: String = "coursegen",
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        fallback: @escaping @Sendable (String) -> Void = StandardError.write
    ) {
        self.socket = socket
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.fallback = fallback
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = mergedMetadata(event.metadata)
        let entry = JournalEntry(event: event, metadata: merged, identifier: identifier)
        do {
            try socket.send(entry.encoded())
        } catch {
            let line = TerminalLogHandler.line(
                level: event.level,
                message: event.message,
                metadata: merged,
                time: .now(),
                useColor: false
            )
            fallback(line + "  (not in the journal: \(error))\n")
        }
    }

    private func mergedMetadata(_ eventMetadata: Logger.Metadata?) -> Logger.Metadata {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let eventMetadata { merged.merge(eventMetadata) { $1 } }
        return merged
    }
}
