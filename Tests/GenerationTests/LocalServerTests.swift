import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import Generation
@testable import Providers

/// A local model server in simulated time: `slots` requests served at once, each for `service`,
/// the others queued first come first served (llama.cpp's `llama-server --parallel N`, Ollama's
/// `OLLAMA_NUM_PARALLEL`). It says nothing of its slots.
final class QueueingServer: ChapterProvider, Sendable {
    private struct State {
        var freeAt: [Duration]
        var inFlight = 0
        var requests = 0
    }

    let clock: ManualClock
    let service: Duration
    private let state: NIOLockedValueBox<State>

    init(clock: ManualClock, slots: Int, service: Duration) {
        self.clock = clock
        self.service = service
        state = NIOLockedValueBox(State(freeAt: Array(repeating: .zero, count: slots)))
    }

    var requests: Int { state.withLockedValue { $0.requests } }

    func generate(
        _ request: ChapterRequest,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        let now = clock.now.offset
        let done = state.withLockedValue { state in
            state.requests += 1
            let slot = state.freeAt.indices.min { state.freeAt[$0] < state.freeAt[$1] }!
            let end = max(now, state.freeAt[slot]) + service
            state.freeAt[slot] = end
            return end
        }
        try await clock.sleep(until: .init(offset: done))
        return ChapterResponse(text: String(repeating: "word ", count: 400), usage: Usage(promptTokens: 10, outputTokens: 500))
    }
}

@Suite("A local server that queues: the limit settles at its slots")
struct LocalServerTests {
    /// Runs `count` chapters through a scheduler on `server`, advancing simulated time whenever
    /// every unfinished request waits; returns the makespan and the limit at the end.
    func run(_ configuration: Scheduler.Configuration, slots: Int, count: Int) async -> (
        makespan: Duration, limit: Int, requests: Int
    ) {
        let clock = ManualClock()
        let server = QueueingServer(clock: clock, slots: slots, service: .seconds(10))
        let scheduler = Scheduler(provider: server, configuration: configuration, clock: clock, random: SeededRandom(seed: 7))
        let finished = NIOLockedValueBox(0)
        await withTaskGroup(of: Void.self) { group in
            for index in 1...count {
                group.addTask {
                    _ = try? await scheduler.generate(.named("chapter \(index)"), logger: .quiet)
                    finished.withLockedValue { $0 += 1 }
                }
            }
            while finished.withLockedValue({ $0 }) < count {
                let quiet = await settle {
                    let remaining = count - finished.withLockedValue { $0 }
                    if remaining == 0 { return true }
                    let queued = await scheduler.waitingForSlot
                    return clock.sleeperCount > 0 && clock.sleeperCount + queued == remaining
                }
                if finished.withLockedValue({ $0 }) == count { break }
                guard quiet, let next = clock.nextDeadline else {
                    Issue.record("requests stopped making progress")
                    group.cancelAll()
                    break
                }
                clock.advance(to: next)
            }
        }
        return (clock.now.offset, await scheduler.inFlightLimit.current, server.requests)
    }

    @Test(
        "against N slots that queue the rest, the limit settles at N (±1) and the makespan is within 1.2 × that of --concurrency N",
        arguments: [1, 2, 3, 4]
    )
    func settlesAtSlots(slots: Int) async {
        var local = Scheduler.Configuration(concurrency: 8, requestsPerMinute: 1_000_000, inputTokensPerMinute: 1_000_000_000)
        local.localServer = true
        let fixed = Scheduler.Configuration(
            concurrency: slots,
            requestsPerMinute: 1_000_000,
            inputTokensPerMinute: 1_000_000_000
        )
        let found = await run(local, slots: slots, count: 40)
        let best = await run(fixed, slots: slots, count: 40)
        #expect(abs(found.limit - slots) <= 1, "limit \(found.limit) for \(slots) slots")
        #expect(found.requests == 40 && best.requests == 40)
        #expect(found.makespan <= best.makespan * 1.2, "\(found.makespan) against \(best.makespan)")
    }

    @Test("the pace test itself: waiting under half a request climbs, from one and a half goes down, else holds")
    func vegas() {
        var limit = AdaptiveLimit(maximum: 8, start: 4)
        #expect(limit.answered(pace: 1.0, sentIn: limit.generation) == nil)  // first run of 4: no climb yet
        for _ in 0..<3 { _ = limit.answered(pace: 1.0, sentIn: limit.generation) }
        #expect(limit.current == 5)
        // 5 × (1 − 1/1.25) = 1 waiting: holds.
        #expect(limit.answered(pace: 1.25, sentIn: limit.generation) == nil)
        #expect(limit.current == 5)
        // 5 × (1 − 1/2) = 2.5 waiting: one fewer, once for answers sent before.
        let sent = limit.generation
        #expect(limit.answered(pace: 2, sentIn: sent) == .decreased(from: 5, to: 4))
        #expect(limit.answered(pace: 2, sentIn: sent) == nil)
        #expect(limit.fastestPace == 1)
    }
}
