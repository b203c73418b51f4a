import Foundation
import TestSupport
import Platform

/// Sorted keys, no escaping of slashes: stable JSON to compare against.
let JSONEncoderForTests: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()

/// Waits until `condition` holds, checking every millisecond: the locks are taken on
/// `BlockingIO`'s threads, which `settle`'s yields do not wait for. No deadline of its own (a
/// starved machine only makes it slower); the suites that use it have a time limit, so a
/// condition that never holds fails the test instead of hanging it.
func wallClockSettle(_ condition: () async -> Bool) async -> Bool {
    while !Task.isCancelled {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}
