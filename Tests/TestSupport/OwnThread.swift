import Foundation

/// Runs `body` on a thread of its own and returns its result.
///
/// Swift's cooperative pool has as many threads as the machine has cores (two in CI). A test
/// that computes for seconds on it, or that paces itself with sleeps there, either starves every
/// other test in the process or has its own pauses stretched by them; both make timing tests
/// flaky. CPU-heavy work and real-time pacing go on their own thread.
public func onOwnThread<Result: Sendable>(
    _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// `onOwnThread` for work that cannot throw.
public func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
