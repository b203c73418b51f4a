/// Why a call on a fake server failed, with where the error was made.
public struct FakeServerError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; stable for tests to match on.
    public enum Code: Sendable, Hashable {
        /// A wait's condition did not hold within its timeout.
        case timedOut
        /// The server shut down while a task was waiting on it.
        case shutDown
        /// The server could not listen (address in use, bad host).
        case bindFailed
    }

    public var code: Code
    /// One sentence for people, naming the thing that failed.
    public var message: String
    public var file: String
    public var line: Int

    public var description: String {
        "FakeServerError.\(code): \(message) (\(file):\(line))"
    }

    package static func timedOut(after timeout: Duration, file: String = #fileID, line: Int = #line) -> Self {
        FakeServerError(
            code: .timedOut,
            message: "the awaited condition did not hold within \(timeout); see the server's statistics",
            file: file,
            line: line
        )
    }

    package static func shutDown(file: String = #fileID, line: Int = #line) -> Self {
        FakeServerError(code: .shutDown, message: "the fake server shut down", file: file, line: line)
    }

    package static func bindFailed(
        host: String,
        port: Int,
        underlying: any Error,
        file: String = #fileID,
        line: Int = #line
    ) -> Self {
        FakeServerError(
            code: .bindFailed,
            message: "cannot listen on \(host):\(port) (\(underlying)); pick another --port or use 0",
            file: file,
            line: line
        )
    }
}
