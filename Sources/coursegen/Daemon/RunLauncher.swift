import Generation
import Logging

/// Starts one run of the engine as a task of its own: its progress delivered in order, the run
/// it supersedes cancelled only once it has joined the requests it wants (so those keep going),
/// and its end, with the scheduler's stop at that moment, reported once everything it started
/// has ended.
struct RunLauncher: Sendable {
    let engine: Engine
    let scheduler: Scheduler
    let logger: Logger

    func launch(
        _ job: Engine.Job,
        superseding superseded: Task<Void, Never>?,
        onProgress: @escaping @Sendable (Engine.Progress) async -> Void,
        onEnd: @escaping @Sendable (RunOutcome.End, SubmissionStop?) async -> Void
    ) -> Task<Void, Never> {
        let (engine, scheduler, logger) = (self.engine, self.scheduler, self.logger)
        return Task {
            let planned = AsyncStream<Void>.makeStream()
            let progress = AsyncStream<Engine.Progress>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let end = await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await update in progress.stream { await onProgress(update) }
                }
                if let superseded {
                    group.addTask {
                        for await _ in planned.stream {}
                        superseded.cancel()
                    }
                }
                let end: RunOutcome.End
                do {
                    end = .completed(
                        try await engine.run(
                            job,
                            onPlanned: { planned.continuation.finish() },
                            onProgress: { progress.continuation.yield($0) }
                        )
                    )
                } catch is CancellationError {
                    end = .cancelled
                } catch {
                    logger.error("\(error)")
                    end = .failed
                }
                planned.continuation.finish()
                progress.continuation.finish()
                await group.waitForAll()
                return end
            }
            await onEnd(end, await scheduler.stop)
        }
    }

    /// Returns once every run of `runs` has ended, cancelling those still in progress after
    /// `timeout`.
    static func awaitEnd(of runs: [Task<Void, Never>], timeout: Duration, logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for run in runs { await run.value } }
            group.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                logger.warning(
                    "runs still in progress at the stop timeout are cancelled",
                    metadata: ["runs": "\(runs.count)"]
                )
                for run in runs { run.cancel() }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
