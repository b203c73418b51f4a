import ArgumentParser
import Foundation
import Generation
import Logging
import ServiceLifecycle
import UnixSignals
import Watcher

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch an inbox and keep every outline's chapters up to date, until SIGTERM or SIGINT.",
        discussion: """
            On start every outline in the inbox (and its subfolders) is brought up to date, then \
            every save is turned into one regeneration of the chapters it changed. SIGHUP reloads \
            the config file and COURSEGEN_* settings without dropping work in flight. Under \
            systemd (Type=notify) it reports READY=1, a STATUS= line, and watchdog pings.
            """
    )

    @Option(help: ArgumentHelp("The folder authors drop outlines into.", valueName: "dir"))
    var inbox: String?

    @Option(help: ArgumentHelp("The output tree; an outline inbox/a/x.md publishes to OUTPUT/a/x/.", valueName: "dir"))
    var output: String?

    @Option(
        name: .customLong("debounce-ms"),
        help: ArgumentHelp(
            "Quiet time after a save before it is read, in milliseconds (default: 300).",
            valueName: "ms"
        )
    )
    var debounceMilliseconds: Int?

    @Option(
        name: .customLong("stop-timeout"),
        help: ArgumentHelp(
            "Seconds runs in progress may take to finish on SIGTERM before they are cancelled (default: 20).",
            valueName: "seconds"
        )
    )
    var stopTimeout: Double = 20

    @OptionGroup(title: "Generation options")
    var options: GenerationOptions

    func validate() throws {
        guard stopTimeout >= 0, stopTimeout <= 3600 else {
            throw ValidationError("--stop-timeout must be 0 to 3600 seconds")
        }
    }

    func run() async throws {
        // libinotifytools waits with select(): its descriptor must be below 1024, so take it first.
        InboxWatcher.prepare()
        let environment = ProcessInfo.processInfo.environment
        let extra: [String: String?] = [
            "inbox": inbox, "output": output, "debounce-ms": debounceMilliseconds.map(String.init),
        ]
        let (settings, stateFolder) = try await orExit(Exit.badConfiguration) {
            let settings = try await options.resolve(extra: extra, environment: environment)
            return (settings, try stateDirectory(settings.state, environment: environment))
        }
        LogOutput.bootstrap(level: settings.logLevel, environment: environment)
        let logger = Logger(label: "coursegen")
        guard let inboxSetting = settings.inbox, let outputSetting = settings.output else {
            printError(
                "coursegen: watch needs --inbox DIR and --output DIR (or inbox: and output: in the config file, or COURSEGEN_INBOX and COURSEGEN_OUTPUT)"
            )
            throw Exit.badConfiguration
        }
        let inboxFolder = absolutePath(inboxSetting)
        let outputFolder = absolutePath(outputSetting)

        let runtime = try await orExit(Exit.badConfiguration) {
            try Runtime.start(settings: settings, state: stateFolder, environment: environment, logger: logger)
        }
        let notifier = SystemdNotifier(environment: environment)
        let coordinator = RunCoordinator(
            engine: runtime.engine,
            scheduler: runtime.scheduler,
            settings: settings.generation,
            inbox: inboxFolder,
            output: outputFolder,
            state: stateFolder,
            logger: logger
        ) { status in
            try? notifier.status(status)
        }
        let daemon = OutlineDaemon(
            inbox: inboxFolder,
            output: outputFolder,
            watcherConfiguration: WatcherConfiguration(
                debounce: settings.debounce,
                excludedPaths: [outputFolder, stateFolder]
            ),
            coordinator: coordinator,
            drainTimeout: .milliseconds(Int64(stopTimeout * 1000)),
            logger: logger,
            onReady: {
                do { try notifier.ready() } catch {
                    logger.warning("cannot tell systemd we are ready", metadata: ["error": "\(error)"])
                }
            }
        )
        let reloader = ReloadService(
            options: options,
            extra: extra,
            current: settings,
            runtime: runtime,
            stateFolder: stateFolder,
            coordinator: coordinator,
            notifier: notifier,
            logger: logger
        )
        let watchdog = WatchdogService(
            notifier: notifier,
            environment: environment,
            isHealthy: { await coordinator.isResponsive() },
            logger: logger
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(
                    service: daemon,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                ),
                .init(service: reloader),
                .init(service: watchdog),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        // Runs get `stopTimeout` to finish; the rest of the shutdown is quick. The unit's
        // TimeoutStopSec= (30 s) is above the default total.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(stopTimeout * 1000)) + .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        logger.info(
            "watching",
            metadata: ["inbox": "\(inboxFolder)", "output": "\(outputFolder)", "state": "\(stateFolder)"]
        )
        do {
            try await group.run()
        } catch {
            try? notifier.stopping()
            await runtime.shutdown()
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            // A limit or a permission the administrator must change: restarting cannot help
            // (the units do not restart on 78).
            let needsAdministrator: Set<WatcherError.Code> = [
                .watchLimitReached, .instanceLimitReached, .permissionDenied,
            ]
            if let error = error as? WatcherError, needsAdministrator.contains(error.code) {
                throw Exit.badConfiguration
            }
            throw ExitCode(1)
        }
        try? notifier.stopping()
        await runtime.shutdown()
        logger.info("stopped")
    }
}

/// SIGHUP: reread the config file and COURSEGEN_* settings and apply them without dropping work
/// in flight. Pacing and retry settings apply at once; a change of model or sampling settings
/// brings every outline up to date under the new settings; inbox, output, state, debounce and
/// log level need a restart.
struct ReloadService: Service {
    let options: GenerationOptions
    let extra: [String: String?]
    let current: Settings
    let runtime: Runtime
    let stateFolder: String
    let coordinator: RunCoordinator
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        var active = current
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            try? notifier.reloading()
            do {
                let environment = ProcessInfo.processInfo.environment
                let next = try await options.resolve(extra: extra, environment: environment)
                try await runtime.reload(settings: next, environment: environment, logger: logger)
                let restartOnly = [
                    ("inbox", active.inbox, next.inbox), ("output", active.output, next.output),
                    ("state", active.state, next.state),
                    ("base-url", active.baseURL, next.baseURL),
                    ("log-level", active.logLevel.rawValue, next.logLevel.rawValue),
                    ("debounce-ms", "\(active.debounce)", "\(next.debounce)"),
                ].filter { $0.1 != $0.2 }.map(\.0)
                if !restartOnly.isEmpty {
                    logger.warning(
                        "these settings take effect at the next restart",
                        metadata: ["settings": "\(restartOnly.joined(separator: ", "))"]
                    )
                }
                if next.generation != active.generation {
                    logger.notice("generation settings changed: bringing every outline up to date under them")
                }
                await coordinator.reloaded(settings: next.generation)
                active.scheduler = next.scheduler
                active.generation = next.generation
                active.apiKeyFile = next.apiKeyFile
                logger.info("configuration reloaded")
            } catch {
                logger.error(
                    "configuration not reloaded; the previous one stays in effect",
                    metadata: ["error": "\(error)"]
                )
            }
            try? notifier.ready()
        }
    }
}
