import Foundation
import NIOConcurrencyHelpers

/// A temporary folder removed when the test ends.
public final class TemporaryFolder: Sendable {
    public let path: String

    /// - Parameter parent: where to make it; nil for the system's temporary folder.
    public init(in parent: String? = nil) throws {
        let parent = parent ?? NSTemporaryDirectory()
        var template = Array((parent as NSString).appendingPathComponent("coursegen-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `relative` inside the folder (creating its folders) and returns its path.
    @discardableResult
    public func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let url = URL(fileURLWithPath: "\(path)/\(relative)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Array(text.utf8))
    }

    /// The text of `relative`, nil if it cannot be read.
    public func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: "\(path)/\(relative)").map { String(decoding: $0, as: UTF8.self) }
    }

    /// The names in folder `relative`, sorted; empty if it does not exist.
    public func list(_ relative: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(path)/\(relative)")) ?? []).sorted()
    }
}

/// A value shared between test tasks and threads.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: NIOLockedValueBox<Value>
    public init(_ value: Value) { mutex = NIOLockedValueBox(value) }
    public func withLockedValue<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLockedValue { body(&$0) } }
    public var value: Value { mutex.withLockedValue { $0 } }
}
