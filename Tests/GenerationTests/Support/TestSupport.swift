import Foundation
import TestSupport

/// Sorted keys, no escaping of slashes: stable JSON to compare against.
let JSONEncoderForTests: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()
