import Providers

/// The one check of the key and model before the first submission (and after a reload), and,
/// for a local server, what it says of its parallelism.
extension Scheduler {
    /// Checks the key and model before the first submission and after a reload; requests that
    /// come meanwhile wait for it.
    /// - Throws: `GenerationFailure` when it finds them refused (every submission stops);
    ///   `NotSent`; CancellationError when cancelled, waiting included.
    func verifyOnce(model: String, log: SchedulerLog) async throws {
        try stops.check()
        switch keyCheck {
        case .done:
            return
        case .running:
            // A stop the check began is found next.
            return try await keyChecked.wait(after: keyChecked.generation)
        case .needed:
            keyCheck = .running
        }
        defer { keyChecked.wakeAll() }
        let provider = self.provider
        do {
            try await provider.verify(model: model, timeout: configuration.requestTimeout)
        } catch let error as ProviderError where error.disposition == .stopEverything {
            keyCheck = .needed
            if let stop = stops.begin(.refused, error: error) { log.stopped(stop) }
            throw GenerationFailure(attempts: 1, error: error, usage: Usage())
        } catch let error as ProviderError {
            // Not a verdict on the key (a timeout, an overloaded server): the chapters' own
            // requests will tell.
            log.logger.debug("could not check the key and model first", metadata: ["error": "\(error)"])
        } catch {
            // Cancelled: let the next submission check instead.
            keyCheck = .needed
            throw error
        }
        if configuration.localServer, let served = await provider.parallelism() {
            slots.serverServes(served, log: log)
        }
        keyCheck = .done
    }
}
