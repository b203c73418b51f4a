import Logging
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// Where coursegen's logs go: native journal entries when systemd connected standard error to the
/// journal, readable lines on standard error otherwise.
enum LogOutput: Sendable, Equatable {
    case journal
    case terminal

    /// The output for a process whose `$JOURNAL_STREAM` is `journalStream` and whose standard
    /// error is `standardError`: the journal only when the variable names exactly that file.
    /// systemd sets `JOURNAL_STREAM=DEV:INODE` for a service whose output goes to the journal;
    /// a child that inherits the variable but writes to a terminal or a file must not log to the
    /// journal behind the user's back, hence the comparison.
    static func choose(journalStream: String?, standardError: FileIdentity?) -> LogOutput {
        guard let journalStream, let stream = parseJournalStream(journalStream), let standardError else {
            return .terminal
        }
        return stream == standardError ? .journal : .terminal
    }

    /// `DEV:INODE` as two decimal numbers, or nil for anything else.
    static func parseJournalStream(_ text: String) -> FileIdentity? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return FileIdentity(device: device, inode: inode)
    }

    /// The identity of file descriptor 2, or nil when it is closed.
    static func standardErrorIdentity() -> FileIdentity? {
        FileIdentity(descriptor: 2)
    }

    /// Bootstraps swift-log (once per process, as `LoggingSystem.bootstrap` requires) with the
    /// handler `choose` picks for this process, every logger at `level`.
    ///
    /// When the journal is chosen but its socket at `journalSocketPath` does not answer, logs go
    /// to standard error instead and the first line says why.
    /// - Returns: the output in use.
    @discardableResult
    static func bootstrap(
        level: Logger.Level,
        environment: [String: String],
        journalSocketPath: String = JournalSocket.defaultPath
    ) -> LogOutput {
        var output = choose(journalStream: environment["JOURNAL_STREAM"], standardError: standardErrorIdentity())
        var socket: JournalSocket?
        var problem: JournalError?
        if output == .journal {
            do {
                socket = try JournalSocket(path: journalSocketPath)
            } catch {
                problem = error
                output = .terminal
            }
        }
        let useColor = TerminalLogHandler.shouldUseColor(isTerminal: StandardError.isTerminal, environment: environment)
        let journalSocket = socket
        LoggingSystem.bootstrap { _ -> any LogHandler in
            if let journalSocket {
                return JournalLogHandler(socket: journalSocket, logLevel: level)
            }
            return TerminalLogHandler(logLevel: level, useColor: useColor)
        }
        if let problem {
            Logger(label: "coursegen").warning(
                "logging to standard error: the journal socket is unusable",
                metadata: ["error": "\(problem)"]
            )
        }
        return output
    }
}
