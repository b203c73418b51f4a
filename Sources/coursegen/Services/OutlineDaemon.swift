import Foundation
import Generation
import Logging
import ServiceLifecycle
import Watcher

/// `coursegen watch`: turns every settled save of an outline in the inbox into one run of the
/// engine. Knows the watcher's events and the engine's runs, nothing of inotify or HTTP.
///
/// - A save of an outline still generating supersedes the older run: the new run joins the
///   requests it still wants before the old run is cancelled, so only requests nobody wants any
///   more are cancelled, and the newest version is what gets published.
/// - A save that changes no parsed field (and leaves nothing failed) costs nothing, not even a
///   publish.
/// - An outline that does not parse gets one error line `FILE:LINE: what is wrong`; what was
///   published stays; the next save is picked up again.
/// - A removed outline's published chapters stay (they cost money); a renamed outline is
///   published under its new name from the cache.
/// - On graceful shutdown it stops taking events, lets runs finish for up to `drainTimeout`,
///   then cancels the rest; nothing is half-written either way (publishing is atomic).
struct OutlineDaemon: Service {
    let inbox: String
    let output: String
    let watcherConfiguration: WatcherConfiguration
    let coordinator: RunCoordinator
    let drainTimeout: Duration
    let logger: Logger
    /// Called once the startup scan has been reported (sd_notify READY=1).
    let onReady: @Sendable () -> Void

    func run() async throws {
        let watcher = InboxWatcher(inbox: inbox, configuration: watcherConfiguration, logger: logger)
        var ready = false
        do {
            for try await event in watcher.cancelOnGracefulShutdown() {
                switch event {
                case .changed(let file):
                    await coordinator.outlineChanged(file)
                case .removed(let file):
                    await coordinator.outlineRemoved(file)
                case .scanCompleted:
                    // Status first: `systemctl start` returns on READY=1, and the status shown
                    // from then on must already be the scan's.
                    await coordinator.scanCompleted()
                    if !ready {
                        ready = true
                        onReady()
                    }
                }
            }
        } catch {
            logger.critical("cannot watch the inbox any more", metadata: ["path": "\(inbox)", "error": "\(error)"])
            await coordinator.drain(timeout: drainTimeout)
            throw error
        }
        logger.notice(
            "stopping: no new work is taken; waiting for runs in progress",
            metadata: ["timeout_s": "\(drainTimeout.components.seconds)"]
        )
        await coordinator.drain(timeout: drainTimeout)
    }
}
