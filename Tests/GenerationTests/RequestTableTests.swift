import Logging
import TestSupport
import Testing

@testable import Generation

@Suite("Requests shared between runs")
struct RequestTableTests {
    let clock = ManualClock()
    let temp: TemporaryFolder
    let provider: ScriptedProvider
    let generations: RequestTable

    init() throws {
        temp = try TemporaryFolder()
        provider = ScriptedProvider(clock: clock, latency: .seconds(10))
        let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000), clock: clock)
        let store = BodyStore(directory: "\(temp.path)/store")
        generations = RequestTable(perform: RequestTable.generating(through: scheduler, into: store, io: .shared))
    }

    func wait(_ ticket: RequestTable.Ticket) -> Task<RequestTable.Outcome, any Error> {
        Task { try await generations.outcome(of: ticket) }
    }

    /// Lets the scheduler submit requests until `total` have been submitted and `inFlight` are at
    /// the provider. Pacing keeps each submission a little behind the one before, so time must
    /// move: any sleep shorter than the provider's latency is pacing, and is advanced past.
    func submitted(_ total: Int, inFlight: Int) async -> Bool {
        func done() -> Bool { provider.submissions.count == total && provider.inFlight == inFlight }
        for _ in 0..<10 {
            var pacing: ManualClock.Instant?
            let ready = await settle {
                pacing = clock.nextDeadline.flatMap { $0 < clock.now.advanced(by: .seconds(1)) ? $0 : nil }
                return done() || pacing != nil
            }
            guard ready else { return false }
            if done() { return true }
            clock.advance(to: pacing!)
        }
        return false
    }

    @Test("two runs wanting the same chapter share one request, and both get the stored answer")
    func shared() async throws {
        let request = ChapterRequest.named("shared")
        let first = wait(await generations.join(request, logger: .quiet) { _ in })
        let second = wait(await generations.join(request, logger: .quiet) { _ in })
        #expect(await submitted(1, inFlight: 1))
        clock.advance(by: .seconds(11))
        let a = try await first.value.get()
        let b = try await second.value.get()
        #expect(a.body.text == b.body.text)
        #expect(provider.submissions.count == 1)
        #expect(try BodyStore(directory: "\(temp.path)/store").body(for: request.key)?.text == a.body.text)
    }

    @Test("a superseded run's request goes on when a newer run wants it, and is cancelled when nobody does")
    func supersede() async throws {
        let kept = ChapterRequest.named("kept")
        let dropped = ChapterRequest.named("dropped")
        // The older run wants both; the newer one joins `kept` before the older is cancelled.
        let olderKept = wait(await generations.join(kept, logger: .quiet) { _ in })
        let olderDropped = wait(await generations.join(dropped, logger: .quiet) { _ in })
        let newerKept = wait(await generations.join(kept, logger: .quiet) { _ in })
        #expect(await submitted(2, inFlight: 2))
        olderKept.cancel()
        olderDropped.cancel()
        await #expect(throws: CancellationError.self) { try await olderKept.value }
        await #expect(throws: CancellationError.self) { try await olderDropped.value }
        #expect(await settle { await generations.wantedKeys == [kept.key] && provider.inFlight == 1 })
        clock.advance(by: .seconds(11))
        _ = try await newerKept.value.get()
        #expect(provider.submissions.map(\.prompt).sorted() == ["dropped", "kept"])
        #expect(!BodyStore(directory: "\(temp.path)/store").contains(dropped.key))
    }

    @Test("a key whose request was abandoned starts afresh for the next run that wants it")
    func rejoin() async throws {
        let request = ChapterRequest.named("again")
        let abandoned = wait(await generations.join(request, logger: .quiet) { _ in })
        #expect(await submitted(1, inFlight: 1))
        abandoned.cancel()
        #expect(await settle { await generations.wantedKeys.isEmpty && provider.inFlight == 0 })
        let later = wait(await generations.join(request, logger: .quiet) { _ in })
        #expect(await submitted(2, inFlight: 1))
        clock.advance(by: .seconds(11))
        _ = try await later.value.get()
        #expect(provider.submissions.count == 2)
    }
}
