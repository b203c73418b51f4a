import Logging
import ServiceLifecycle
import Platform

/// Keeps systemd's watchdog (`WatchdogSec=`) fed while the daemon is healthy.
///
/// Every half interval it asks `isHealthy` (the daemon answers from its event loop) and pings
/// only on `true`: a wedged loop stops the pings, and systemd kills and restarts the service
/// after one interval. Runs until graceful shutdown. When the watchdog is off (no interval) it
/// sets no timer and just waits for shutdown, so it can sit in a `ServiceGroup` either way.
struct WatchdogService<WatchdogClock: Clock>: Service where WatchdogClock.Duration == Duration {
    /// systemd's interval (`SystemdNotifier.watchdogInterval(environment:)`); nil when off.
    let interval: Duration?
    private let clock: WatchdogClock
    private let isHealthy: @Sendable () async -> Bool
    private let ping: @Sendable () -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - interval: the watchdog interval; pings go out every `interval / 2`.
    ///   - clock: the clock the half intervals are measured on.
    ///   - isHealthy: answers whether the daemon works; should return promptly and must give up
    ///     when its task is cancelled, or shutdown waits for it.
    ///   - ping: sends one `WATCHDOG=1`.
    init(
        interval: Duration?,
        clock: WatchdogClock,
        isHealthy: @escaping @Sendable () async -> Bool,
        ping: @escaping @Sendable () -> Void,
        logger: Logger
    ) {
        self.interval = interval
        self.clock = clock
        self.isHealthy = isHealthy
        self.ping = ping
        self.logger = logger
    }

    func run() async throws {
        guard let interval, interval > .zero else {
            logger.debug("systemd watchdog is off")
            try await gracefulShutdown()
            return
        }
        logger.debug("systemd watchdog on", metadata: ["interval_ms": "\(interval.milliseconds)"])
        do {
            try await cancelWhenGracefulShutdown { [self] in
                try await pingWhileHealthy(every: interval / 2)
            }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            return
        }
    }

    private func pingWhileHealthy(every period: Duration) async throws {
        var wasHealthy = true
        while true {
            try await clock.sleep(for: period)
            let healthy = await isHealthy()
            try Task.checkCancellation()
            if healthy {
                ping()
                if !wasHealthy { logger.notice("event loop answers again: watchdog pings resumed") }
            } else if wasHealthy {
                logger.warning(
                    "event loop did not answer: withholding watchdog pings",
                    metadata: ["interval_ms": "\((period * 2).milliseconds)"]
                )
            }
            wasHealthy = healthy
        }
    }
}

extension WatchdogService where WatchdogClock == ContinuousClock {
    /// The daemon's watchdog: interval from `environment` (`WATCHDOG_USEC`, `WATCHDOG_PID`),
    /// pings through `notifier`, a failed ping logged as an error (systemd will restart the
    /// service if they keep failing, which is what should happen).
    init(
        notifier: SystemdNotifier,
        environment: [String: String],
        isHealthy: @escaping @Sendable () async -> Bool,
        logger: Logger
    ) {
        self.init(
            interval: notifier.isEnabled ? SystemdNotifier.watchdogInterval(environment: environment) : nil,
            clock: ContinuousClock(),
            isHealthy: isHealthy,
            ping: {
                do {
                    try notifier.watchdog()
                } catch {
                    logger.error("watchdog ping failed", metadata: ["error": "\(error)"])
                }
            },
            logger: logger
        )
    }
}

