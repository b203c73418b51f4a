import Foundation
import TestSupport

/// Sorted keys, no escaping of slashes: stable JSON to compare against.
let JSONEncoderForTests: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()

/// Waits until `condition` holds, checking every millisecond of real time: the locks are taken
/// on `BlockingIO`'s threads, which `settle`'s yields do not wait for. The bound is a safety net.
func wallClockSettle(_ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + TestTime.scaled(.seconds(30))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}
