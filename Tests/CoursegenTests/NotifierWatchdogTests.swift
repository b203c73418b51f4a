import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import coursegen

/// A clock that moves only when told to, and reports each sleep as it begins (the event tests
/// wait on instead of real time).
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
        var sleepsBegun = 0
    }

    private let state = Mutex(State())
    /// The length of every sleep, yielded when the sleep begins.
    let sleeps: AsyncStream<Duration>
    private let sleepsContinuation: AsyncStream<Duration>.Continuation

    init() {
        (sleeps, sleepsContinuation) = AsyncStream.makeStream()
    }

    var now: Instant { state.withLock { $0.now } }
    /// How many sleeps have begun (and not finished at once).
    var sleepsBegun: Int { state.withLock { $0.sleepsBegun } }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    state.sleepsBegun += 1
                    sleepsContinuation.yield(state.now.duration(to: deadline))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration`, waking every sleep that is then due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// Collects what a service logs, and lets a test wait for a message.
final class LogRecorder: Sendable {
    let messages: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (messages, continuation) = AsyncStream.makeStream()
    }

    var logger: Logger {
        var logger = Logger(label: "test") { [continuation] _ in RecordingLogHandler(continuation: continuation) }
        logger.logLevel = .trace
        return logger
    }

    private struct RecordingLogHandler: LogHandler {
        let continuation: AsyncStream<String>.Continuation
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { continuation.yield(event.message.description) }
    }
}

@Suite("Watchdog service")
struct NotifierWatchdogTests {
    private let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test("pings every half interval while healthy, withholds pings while not, and resumes after")
    func pingsOnlyWhileHealthy() async throws {
        let clock = ManualClock()
        let healthy = Mutex(true)
        let pings = Mutex(0)
        let (checks, checked) = AsyncStream.makeStream(of: Bool.self)
        let service = WatchdogService(
            interval: .seconds(30),
            clock: clock,
            isHealthy: {
                let answer = healthy.withLock { $0 }
                checked.yield(answer)
                return answer
            },
            ping: { pings.withLock { $0 += 1 } },
            logger: quiet
        )
        let group = ServiceGroup(services: [service], logger: quiet)

        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var sleeps = clock.sleeps.makeAsyncIterator()
            var answers = checks.makeAsyncIterator()

            // A cycle: the service sleeps half the interval, asks, maybe pings, sleeps again.
            func cycle(healthy answer: Bool) async {
                healthy.withLock { $0 = answer }
                clock.advance(by: .seconds(15))
                #expect(await answers.next() == answer)
                #expect(await sleeps.next() == .seconds(15))
            }

            #expect(await sleeps.next() == .seconds(15))
            #expect(pings.withLock { $0 } == 0)
            await cycle(healthy: true)
            #expect(pings.withLock { $0 } == 1)
            await cycle(healthy: true)
            #expect(pings.withLock { $0 } == 2)
            await cycle(healthy: false)
            await cycle(healthy: false)
            #expect(pings.withLock { $0 } == 2)
            await cycle(healthy: true)
            #expect(pings.withLock { $0 } == 3)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(pings.withLock { $0 } == 3)
    }

    @Test("a health check that never answers stops the pings, and shutdown still completes")
    func wedgedLoop() async throws {
        let clock = ManualClock()
        let pings = Mutex(0)
        let (asked, ask) = AsyncStream.makeStream(of: Void.self)
        let service = WatchdogService(
            interval: .seconds(30),
            clock: clock,
            isHealthy: {
                ask.yield()
                // A wedged event loop: no answer until the task is cancelled at shutdown.
                try? await Task.sleep(for: .seconds(86_400))
                return false
            },
            ping: { pings.withLock { $0 += 1 } },
            logger: quiet
        )
        let group = ServiceGroup(services: [service], logger: quiet)

        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var sleeps = clock.sleeps.makeAsyncIterator()
            var questions = asked.makeAsyncIterator()
            #expect(await sleeps.next() == .seconds(15))
            clock.advance(by: .seconds(15))
            #expect(await questions.next() != nil)
            clock.advance(by: .seconds(45))

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(pings.withLock { $0 } == 0)
    }

    @Test("without a watchdog interval it sets no timer and ends at graceful shutdown")
    func watchdogOff() async throws {
        let clock = ManualClock()
        let recorder = LogRecorder()
        let service = WatchdogService(
            interval: nil,
            clock: clock,
            isHealthy: { true },
            ping: { Issue.record("pinged with the watchdog off") },
            logger: recorder.logger
        )
        let group = ServiceGroup(services: [service], logger: quiet)

        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var messages = recorder.messages.makeAsyncIterator()
            #expect(await messages.next() == "systemd watchdog is off")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(clock.sleepsBegun == 0)
    }

    @Test("the daemon's watchdog takes its interval from WATCHDOG_USEC only under systemd")
    func daemonInterval() {
        let environment = ["WATCHDOG_USEC": "30000000"]
        let underSystemd = WatchdogService(
            notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"]),
            environment: environment,
            isHealthy: { true },
            logger: quiet
        )
        #expect(underSystemd.interval == .seconds(30))
        let outside = WatchdogService(
            notifier: SystemdNotifier(environment: [:]),
            environment: environment,
            isHealthy: { true },
            logger: quiet
        )
        #expect(outside.interval == nil)
    }
}
