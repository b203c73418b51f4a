import Foundation
import Logging
import Synchronization

/// A value shared between test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}


extension Logger {
    /// A logger that drops everything, so test output stays readable.
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
}


/// Sorted keys, no escaping of slashes: stable JSON to compare against.
let JSONEncoderForTests: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()
