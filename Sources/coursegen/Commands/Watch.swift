import ArgumentParser
import Foundation
import Generation
import Platform
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

    @Option(name: Setting.inbox.flagName, help: Setting.inbox.help) var inbox: String?
    @Option(name: Setting.output.flagName, help: Setting.output.help) var output: String?
    @Option(name: Setting.debounceMs.flagName, parsing: .unconditional, help: Setting.debounceMs.help) var debounceMs: String?
    @Option(name: Setting.settle.flagName, parsing: .unconditional, help: Setting.settle.help) var settle: String?
    @Option(name: Setting.batchOver.flagName, parsing: .unconditional, help: Setting.batchOver.help) var batchOver: String?
    @Option(name: Setting.watchMode.flagName, help: Setting.watchMode.help) var watchMode: String?
    @Option(name: Setting.pollInterval.flagName, parsing: .unconditional, help: Setting.pollInterval.help) var pollInterval: String?
    @Option(name: Setting.stopTimeout.flagName, parsing: .unconditional, help: Setting.stopTimeout.help) var stopTimeout: String?
    @Flag(name: Setting.desktopNotifications.flagName, inversion: .prefixedNo, help: Setting.desktopNotifications.help)
    var desktopNotifications: Bool?
    @Option(name: Setting.metricsListen.flagName, help: Setting.metricsListen.help) var metricsListen: String?

    @OptionGroup(title: "Generation options")
    var options: GenerationOptions

    func validate() throws { try SettingFlags.validate(self) }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let sources = SettingSources(command: self, config: options.common.config)
        let (resolution, stateFolder) = try await orExit(Exit.badConfiguration) {
            let resolution = try sources.resolve(environment: environment, readingTemplates: true)
            return (resolution, try stateDirectory(resolution.settings.state, environment: environment))
        }
        let settings = resolution.settings
        let watcherConfiguration = WatcherConfiguration(
            debounce: settings.debounce,
            // Outlines, and the prompt templates they name (`prompt: style.mustache`).
            extensions: ["md", "markdown", "yaml", "yml", "json", "mustache"],
            mode: settings.watchMode,
            pollInterval: settings.pollInterval
        )
        // libinotifytools waits with select(): its descriptor must be below 1024, so take it
        // before anything else opens files (poll mode takes none).
        InboxWatcher.prepare(for: watcherConfiguration)
        LogOutput.bootstrap(level: settings.logLevel, environment: environment)
        let logger = Logger(label: "coursegen")
        for warning in resolution.warnings { warning.log(to: logger) }
        // Before anything emits a metric; only with the option, so that without it metrics cost
        // nothing (swift-metrics' default backend drops them).
        let metricsRegistry = settings.metricsListen.map { _ in MetricsServer.bootstrapMetrics() }
        guard let inboxSetting = settings.inbox, let outputSetting = settings.output else {
            printError(
                "coursegen: watch needs --inbox DIR and --output DIR (or inbox: and output: in the config file, or COURSEGEN_INBOX and COURSEGEN_OUTPUT)"
            )
            throw Exit.usage
        }
        let inboxFolder = AbsolutePath(inboxSetting).string
        let outputFolder = AbsolutePath(outputSetting).string
        let layout = FolderLayout(
            inbox: AbsolutePath(inboxFolder).resolved,
            output: AbsolutePath(outputFolder).resolved,
            state: AbsolutePath(stateFolder).resolved
        )
        if let problem = layout.problem ?? Self.inboxProblem(inboxFolder, environment: environment) {
            printError("coursegen: \(problem)")
            throw Exit.badConfiguration
        }
        if settings.batchOver > 0, settings.generation.provider != "gemini" {
            printError("coursegen: batch-over needs provider gemini: only Gemini has a Batch API; set batch-over: 0")
            throw Exit.badConfiguration
        }

        // One daemon per state folder (a second would pay for every chapter twice), checked
        // before anything is sent or published; the kernel releases it when this process ends.
        let stateLock = try await orExit(Exit.badConfiguration) { try await DaemonLock.take(stateFolder: stateFolder) }
        defer { stateLock.release() }
        let runtime = try await orExit(Exit.badConfiguration) {
            try Runtime.start(settings: settings, state: stateFolder, environment: environment, logger: logger)
        }
        var metricsServer: MetricsServer?
        if let address = settings.metricsListen, let metricsRegistry {
            do {
                metricsServer = try await MetricsServer.start(
                    address: address,
                    registry: metricsRegistry,
                    logger: logger
                )
            } catch {
                printError("coursegen: \(error)")
                await runtime.shutdown()
                throw Exit.badConfiguration
            }
        }
        let notifier = SystemdNotifier(environment: environment)
        let desktop = settings.desktopNotifications ? DesktopNotifier(environment: environment, logger: logger) : nil
        var notifyDesktop: (@Sendable (CourseStatus) -> Void)? = nil
        if let desktop {
            notifyDesktop = { status in desktop.post(status) }
        }
        let coordinator = RunCoordinator(
            engine: runtime.engine,
            scheduler: runtime.scheduler,
            settings: settings.generation,
            cost: settings.cost,
            settle: settings.settle,
            reader: CourseReader(
                inbox: inboxFolder,
                output: outputFolder,
                state: stateFolder,
                engine: runtime.engine,
                batchOver: settings.batchOver > 0 ? settings.batchOver : nil
            ),
            logger: logger,
            notify: notifyDesktop
        ) { status in
            try? notifier.status(status)
        }
        let daemon = OutlineDaemon(
            inbox: inboxFolder,
            output: outputFolder,
            watcherConfiguration: {
                var configuration = watcherConfiguration
                configuration.excludedPaths = [outputFolder, stateFolder]
                return configuration
            }(),
            coordinator: coordinator,
            drainTimeout: settings.stopTimeout,
            logger: logger,
            onReady: {
                do { try notifier.ready() } catch {
                    logger.warning("cannot tell systemd we are ready", metadata: ["error": "\(error)"])
                }
            }
        )
        let reloader = ReloadService(
            sources: sources,
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
        // Services shut down in reverse order: the metrics endpoint, first, answers until the runs
        // in progress have drained.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metricsServer { services.append(.init(service: metricsServer)) }
        // After the daemon, so that the notifications of runs that end during the stop are shown.
        if let desktop { services.append(.init(service: desktop)) }
        services += [
            .init(
                service: daemon,
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup
            ),
            .init(service: reloader),
            .init(service: watchdog),
        ]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        // Runs get `stopTimeout` to finish; the rest of the shutdown is quick. The unit's
        // TimeoutStopSec= (30 s) is above the default total.
        groupConfiguration.maximumGracefulShutdownDuration = settings.stopTimeout + .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        logger.info(
            "watching",
            metadata: [
                "inbox": "\(inboxFolder)", "output": "\(outputFolder)", "state": "\(stateFolder)",
                "version": "\(Release.version)", "service_tier": "\(settings.generation.serviceTier.rawValue)",
            ]
        )
        if settings.generation.provider == "gemini", resolution.origins[Setting.model.name] == nil {
            // The default changes with releases: say once which model that is now, since chapters
            // made with another one are regenerated under it.
            logger.info(
                "using the default model; chapters made with another model regenerate once (set model: to keep one)",
                metadata: ["model": "\(settings.generation.model)"]
            )
        }
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

extension Watch {
    /// What is wrong with the inbox at start: a file is never an inbox; a missing one is a typo in
    /// a terminal, and a share not mounted yet under systemd (`INVOCATION_ID` set), where it is
    /// waited for, as it is when it goes away later.
    static func inboxProblem(_ inbox: String, environment: [String: String]) -> String? {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: inbox, isDirectory: &isFolder) {
            return isFolder.boolValue ? nil : "the inbox \(inbox) is a file, not a folder; give --inbox a folder"
        }
        guard environment["INVOCATION_ID"] == nil else { return nil }
        return "the inbox \(inbox) does not exist; create it (mkdir -p \(inbox)) or correct --inbox "
            + "(under systemd a missing inbox is waited for, as a share that is not mounted yet)"
    }
}

/// SIGHUP: reread the config file and COURSEGEN_* settings and apply them without dropping work
/// in flight. Settings whose row in `Setting.all` says `.appliesAtOnce` do (a change of model or
/// sampling settings brings every outline up to date under them); the others keep their value
/// until a restart, and the reload says which.
struct ReloadService: Service {
    let sources: SettingSources
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
                // The config file and the templates are read on the blocking pool: a file on a
                // share that hangs holds one of its threads, not the cooperative pool.
                let sources = self.sources
                let resolved = try await BlockingIO.shared.run {
                    try sources.resolve(environment: environment, readingTemplates: true).settings
                }
                let restartOnly = Settings.changesNeedingRestart(from: active, to: resolved)
                let next = active.reloaded(from: resolved)
                // Limits, the key (its file, credential or variable, read again) and any stop.
                try await runtime.reload(settings: next, environment: environment, logger: logger)
                if !restartOnly.isEmpty {
                    logger.warning(
                        "these settings take effect at the next restart",
                        metadata: ["settings": "\(restartOnly.joined(separator: ", "))"]
                    )
                }
                if next.generation != active.generation {
                    logger.notice("generation settings changed: bringing every outline up to date under them")
                }
                await coordinator.reloaded(settings: next.generation, cost: next.cost, settle: next.settle)
                active = next
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
