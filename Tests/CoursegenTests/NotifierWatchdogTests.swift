import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import coursegen

@Suite("Watchdog service")
struct NotifierWatchdogTests {
    private let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test("pings every half interval while healthy, withholds pings while not, and resumes after")
    func pingsOnlyWhileHealthy() async throws {
        let clock = ManualClock()
        let healthy = NIOLockedValueBox(true)
        let pings = NIOLockedValueBox(0)
        let (checks, checked) = AsyncStream.makeStream(of: Bool.self)
        let service = WatchdogService(
            interval: .seconds(30),
            clock: clock,
            isHealthy: {
                let answer = healthy.withLockedValue { $0 }
                checked.yield(answer)
                return answer
            },
            ping: { pings.withLockedValue { $0 += 1 } },
            logger: quiet
        )
        let group = ServiceGroup(services: [service], logger: quiet)

        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var sleeps = clock.sleeps.makeAsyncIterator()
            var answers = checks.makeAsyncIterator()

            // A cycle: the service sleeps half the interval, asks, maybe pings, sleeps again.
            func cycle(healthy answer: Bool) async {
                healthy.withLockedValue { $0 = answer }
                clock.advance(by: .seconds(15))
                #expect(await answers.next() == answer)
                #expect(await sleeps.next() == .seconds(15))
            }

            #expect(await sleeps.next() == .seconds(15))
            #expect(pings.withLockedValue { $0 } == 0)
            await cycle(healthy: true)
            #expect(pings.withLockedValue { $0 } == 1)
            await cycle(healthy: true)
            #expect(pings.withLockedValue { $0 } == 2)
            await cycle(healthy: false)
            await cycle(healthy: false)
            #expect(pings.withLockedValue { $0 } == 2)
            await cycle(healthy: true)
            #expect(pings.withLockedValue { $0 } == 3)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(pings.withLockedValue { $0 } == 3)
    }

    @Test("a health check that never answers stops the pings, and shutdown still completes")
    func wedgedLoop() async throws {
        let clock = ManualClock()
        let pings = NIOLockedValueBox(0)
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
            ping: { pings.withLockedValue { $0 += 1 } },
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
        #expect(pings.withLockedValue { $0 } == 0)
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
