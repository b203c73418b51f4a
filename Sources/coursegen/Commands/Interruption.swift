import Foundation
import Generation
import NIOConcurrencyHelpers
import UnixSignals
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// `generate`'s answer to SIGINT and SIGTERM, as `terraform` and `docker compose` do it: the
/// first stops sending (the scheduler sends nothing more), lets the answers in flight, paid for,
/// arrive for up to `stopTimeout` so they are stored and published, and says so; a second one
/// stops at once.
enum Interruption {
    /// Runs `work` until it ends, or until `stopTimeout` after the first signal (it is then
    /// cancelled).
    /// - Returns: what `work` gave, and the first signal if one came.
    static func run<T: Sendable>(
        stopTimeout: Duration,
        scheduler: Scheduler,
        _ work: @escaping @Sendable () async throws -> T
    ) async -> (result: Result<T, any Error>, signal: UnixSignal?) {
        let received = NIOLockedValueBox<UnixSignal?>(nil)
        let task = Task { try await work() }
        let watcher = Task {
            await withTaskGroup(of: Void.self) { group in
                for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    guard received.withLockedValue({ $0 }) == nil else {
                        printError("coursegen: stopped at once; answers still in flight are lost")
                        exit(status(after: signal))
                    }
                    received.withLockedValue { $0 = signal }
                    let sending = await scheduler.stopSending()
                    let seconds = stopTimeout.components.seconds
                    printError(
                        "coursegen: stopping: no new request is sent; "
                            + (sending == 0
                                ? "" : "waiting up to \(seconds) s for the \(counted(sending, "answer")) in flight, to store them; ")
                            + "press Ctrl-C again to stop at once"
                    )
                    group.addTask {
                        guard (try? await Task.sleep(for: stopTimeout)) != nil else { return }
                        task.cancel()
                    }
                }
            }
        }
        let result = await task.result
        watcher.cancel()
        await watcher.value
        return (result, received.withLockedValue { $0 })
    }

    /// 128 + the signal's number, as shells report a process a signal stopped: 130 for SIGINT,
    /// 143 for SIGTERM.
    static func status(after signal: UnixSignal) -> Int32 {
        128 + (signal == .sigterm ? SIGTERM : SIGINT)
    }
}
