import FakeServerKit
import Foundation

/// One watch scenario's setting: a folder, the in-process fake server and the real daemon
/// watching `folder/inbox`, started and READY.
struct WatchRig: Sendable {
    let folder: String
    let server: WatchServer
    let daemon: WatchDaemon

    /// Starts the server and `coursegen watch ARGUMENTS` against it and waits for READY=1.
    static func start(
        _ context: BenchContext,
        name: String,
        arguments: [String],
        quota: QuotaPolicy? = nil,
        watchdog: Bool = false
    ) async throws -> WatchRig {
        let folder = try context.makeFolder(name)
        let server = try await WatchServer.start(apiKey: context.apiKey, quota: quota)
        do {
            let daemon = try WatchDaemon(
                binary: context.coursegen,
                folder: folder,
                baseURL: server.baseURL,
                apiKey: context.apiKey,
                arguments: arguments,
                watchdog: watchdog
            )
            let rig = WatchRig(folder: folder, server: server, daemon: daemon)
            do {
                _ = try await daemon.ready()
            } catch {
                await rig.stop()
                throw error
            }
            return rig
        } catch {
            await server.shutdown()
            throw error
        }
    }

    /// Runs `body` with the rig, and stops the daemon and the server whatever happens.
    func using<T: Sendable>(_ body: (WatchRig) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    func stop() async {
        await daemon.stop()
        await server.shutdown()
    }
}

extension BenchContext {
    /// `coursegen watch` limits for a real quota at this scale: `--concurrency`, and `--rpm` and
    /// `--tpm` (Tier 1's 1M input tokens a minute) divided by the scale.
    func watchLimits(concurrency: Int = 8, requestsPerMinute: Int) -> [String] {
        [
            "--concurrency", "\(concurrency)",
            "--rpm", "\(scaledRequestsPerMinute(requestsPerMinute))",
            "--tpm", "\(Int((1_000_000 / timeScale).rounded()))",
        ]
    }
}
