/// coursegen's one style of error (the watcher's, first): a stable `code` a caller can switch on,
/// a `message` for people that says what went wrong and what to do, naming the path, line,
/// chapter or setting involved, and the place in coursegen's source that made it (`origin`),
/// for a bug report. `description` is the message.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: Hashable, Sendable, CustomStringConvertible
    var code: Code { get }
    var message: String { get }
    var origin: SourceOrigin { get }
}

extension CodedError {
    public var description: String { message }

    /// The message for one log line: at most `limit` characters (a message can quote an API's
    /// answer or a file's line, of any length), and on one line.
    public func logDescription(limit: Int = 1_000) -> String {
        let oneLine = String(message.map { $0.isNewline ? " " : $0 })
        return oneLine.count <= limit ? oneLine : oneLine.prefix(limit) + "… (\(oneLine.count - limit) more characters)"
    }
}

/// A `CodedError`'s code as an enum of names: its description is its name.
public protocol ErrorCode: RawRepresentable<String>, Hashable, Sendable, CustomStringConvertible {}

extension ErrorCode {
    public var description: String { rawValue }
}

/// Where in coursegen's source something was made: `#fileID` and `#line` of the call that made
/// it (pass them down as default arguments of the throwing type's initialisers).
public struct SourceOrigin: Sendable, Hashable, CustomStringConvertible {
    public let fileID: String
    public let line: Int

    public init(fileID: String, line: Int) {
        self.fileID = fileID
        self.line = line
    }

    public var description: String { "\(fileID):\(line)" }
}
