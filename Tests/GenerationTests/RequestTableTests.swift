import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Generation
@testable import Providers
import Platform

@Suite("Requests shared between runs", .timeLimit(.minutes(3 * TestTime.factor)))
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
        generations = RequestTable(
            perform: RequestTable.generating(
                through: scheduler,
                into: store,
                keeping: UnstoredAnswers(),
                claiming: InFlightChapters(directory: "\(temp.path)/inflight"),
                io: .shared
            )
        )
    }

    func wait(_ ticket: RequestTable.Ticket) -> Task<RequestTable.Outcome, any Error> {
        Task { try await generations.outcome(of: ticket) }
    }

    /// Lets the scheduler submit requests until `total` have been submitted and `inFlight` are at
    /// the provider. Pacing keeps each submission a little behind the one before, so time must
    /// move: any sleep shorter than the provider's latency is pacing, and is advanced past. A
    /// request's work starts on `BlockingIO` (its chapter's lock), hence real time, not yields.
    func submitted(_ total: Int, inFlight: Int) async -> Bool {
        func done() -> Bool { provider.submissions.count == total && provider.inFlight == inFlight }
        for _ in 0..<10 {
            var pacing: ManualClock.Instant?
            let ready = await wallClockSettle {
                pacing = clock.nextDeadline.flatMap { $0 < clock.now.advanced(by: .seconds(1)) ? $0 : nil }
                return done() || pacing != nil
            }
            guard ready else { return false }
            if done() { return true }
            clock.advance(to: pacing!)
        }
        return false
    }

    @Test("a request's events reach every run in the order they happen, all of them before its outcome")
    func eventsInOrder() async throws {
        let count = 2000
        // The request starts writing once both runs have joined.
        let (go, start) = AsyncStream<Void>.makeStream()
        let table = RequestTable { request, _, _, onEvent in
            for await _ in go { break }
            for words in 1...count { onEvent(.writing(words: words)) }
            let body = BodyStore.Body(key: request.key, text: "done", usage: Usage(), model: request.model, modelVersion: nil)
            return .success(RequestTable.Generated(body: body, attempts: 1))
        }
        let first = Locked([Int]())
        let second = Locked([Int]())
        let listen = { (seen: Locked<[Int]>) in
            { @Sendable (event: Scheduler.Event) in
                if case .writing(let words) = event { seen.withLockedValue { $0.append(words) } }
            }
        }
        let request = ChapterRequest.named("ordered")
        let one = await table.join(request, logger: .quiet, onEvent: listen(first))
        let two = await table.join(request, logger: .quiet, onEvent: listen(second))
        start.yield()
        _ = try await table.outcome(of: one)
        _ = try await table.outcome(of: two)
        #expect(first.value == Array(1...count))
        #expect(second.value == Array(1...count))
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

    @Test("an answer the state folder cannot take is kept in memory, and nothing more is sent until it is stored")
    func unstorable() async throws {
        // The store's folder lies under a regular file: every save fails (ENOTDIR), as on a
        // full or read-only state folder, until the file is replaced by a folder.
        try temp.write("blocked", "a file where the state folder should be")
        let store = BodyStore(directory: "\(temp.path)/blocked/store")
        let unstored = UnstoredAnswers()
        let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000), clock: clock)
        let table = RequestTable(
            perform: RequestTable.generating(
                through: scheduler,
                into: store,
                keeping: unstored,
                claiming: InFlightChapters(directory: "\(temp.path)/blocked/inflight"),
                io: .shared
            )
        )
        let first = ChapterRequest.named("first")
        let waiting = Task { try await table.outcome(of: await table.join(first, logger: .quiet) { _ in }) }
        #expect(await submitted(1, inFlight: 1))
        clock.advance(by: .seconds(11))
        let answer = try await waiting.value.get()
        #expect(unstored.body(for: first.key) == answer.body, "the answer is kept")
        #expect(unstored.refusal?.message.contains("not sent: the state folder cannot keep answers") == true)

        // A new request fails at once, unsent, with a reason that lets the daemon try later.
        let second = ChapterRequest.named("second")
        let refused = try await table.outcome(of: await table.join(second, logger: .quiet) { _ in })
        guard case .failure(let failure) = refused else {
            Issue.record("sent while the state folder could not keep its answer")
            return
        }
        #expect(failure.attempts == 0)
        #expect(failure.mayPassWithTime)
        #expect("\(failure)".hasPrefix("not sent: the state folder cannot keep answers"), "\(failure)")
        #expect(provider.submissions.count == 1)

        // Space is back: the kept answer is stored, and requests are sent again.
        try FileManager.default.removeItem(atPath: "\(temp.path)/blocked")
        try unstored.store(into: store)
        #expect(try store.body(for: first.key)?.text == answer.body.text)
        #expect(unstored.count == 0 && unstored.refusal == nil)
        let third = Task { try await table.outcome(of: await table.join(second, logger: .quiet) { _ in }) }
        #expect(await submitted(2, inFlight: 1))
        clock.advance(by: .seconds(11))
        _ = try await third.value.get()
        #expect(try store.body(for: second.key) != nil)
    }

    static let waitingForOther = "waiting for another coursegen process that is asking for this chapter"

    /// What another process stores for `request`.
    func storedElsewhere(_ request: ChapterRequest) throws {
        try BodyStore(directory: "\(temp.path)/store").save(
            BodyStore.Body(
                key: request.key,
                text: "Paid for by another process",
                usage: Usage(promptTokens: 10, outputTokens: 100),
                model: "gemini-2.5-flash",
                modelVersion: nil
            )
        )
    }

    @Test("a chapter another process is asking for is not asked again: the answer it stores is used")
    func anotherProcessAsksFirst() async throws {
        let logs = LogRecorder()
        let request = ChapterRequest.named("elsewhere")
        // Another process's lock: a second open of the file conflicts as another process's does.
        let inflight = InFlightChapters(directory: "\(temp.path)/inflight")
        let other = try #require(try FileLock.attempt(path: inflight.path(for: request.key)))
        let waiting = wait(await generations.join(request, logger: logs.logger) { _ in })
        #expect(await logs.waitFor(message: Self.waitingForOther))
        try storedElsewhere(request)
        other.removeAndRelease()

        let answer = try await waiting.value.get()
        #expect(answer.body.text == "Paid for by another process")
        #expect(answer.fromStore && answer.attempts == 0)
        #expect(provider.submissions.isEmpty)
        let lines = logs.all.filter { $0.message == Self.waitingForOther }
        #expect(lines.count == 1, "once, not per poll")
        #expect(lines.first?.metadata["cache_id"] == request.key.short)
    }

    @Test("a chapter the other process gave up on (it failed, or was killed) is asked for once its lock is free")
    func anotherProcessGivesUp() async throws {
        let logs = LogRecorder()
        let request = ChapterRequest.named("given-up")
        let inflight = InFlightChapters(directory: "\(temp.path)/inflight")
        let other = try #require(try FileLock.attempt(path: inflight.path(for: request.key)))
        let waiting = wait(await generations.join(request, logger: logs.logger) { _ in })
        #expect(await logs.waitFor(message: Self.waitingForOther))
        #expect(provider.submissions.isEmpty)
        other.release()  // nothing stored; its file stays, as after a kill

        #expect(await submitted(1, inFlight: 1))
        clock.advance(by: .seconds(11))
        let answer = try await waiting.value.get()
        #expect(!answer.fromStore && answer.attempts == 1)
        #expect(!FileManager.default.fileExists(atPath: inflight.path(for: request.key)), "removed after use")
    }

    @Test("a chapter stored meanwhile is used without a request, even with no process holding its lock")
    func storedMeanwhile() async throws {
        let request = ChapterRequest.named("meanwhile")
        try storedElsewhere(request)
        let answer = try await wait(await generations.join(request, logger: .quiet) { _ in }).value.get()
        #expect(answer.fromStore)
        #expect(provider.submissions.isEmpty)
    }

    @Test("an abandoned request still storing its answer and a new one for the same key take turns, in this process")
    func abandonedStillEnding() async throws {
        let logs = LogRecorder()
        // The first fsync of the store waits until the test lets it go: the answer is being stored.
        let release = DispatchSemaphore(value: 0)
        let syncing = Mutex(0)
        let files = FileSystem { descriptor, path throws(FileError) in
            if syncing.withLock({ count in
                count += 1
                return count == 1
            }) {
                release.wait()
            }
            try FileSystem.posix.sync(descriptor, path)
        }
        defer { release.signal() }
        let store = BodyStore(directory: "\(temp.path)/slow/store", files: files)
        let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000), clock: clock)
        let table = RequestTable(
            perform: RequestTable.generating(
                through: scheduler,
                into: store,
                keeping: UnstoredAnswers(),
                claiming: InFlightChapters(directory: "\(temp.path)/slow/inflight"),
                io: .shared
            )
        )
        let request = ChapterRequest.named("ending")
        let abandoned = Task { try await table.outcome(of: await table.join(request, logger: logs.logger) { _ in }) }
        #expect(await submitted(1, inFlight: 1))
        clock.advance(by: .seconds(11))
        #expect(await wallClockSettle { syncing.withLock { $0 } == 1 })
        abandoned.cancel()
        await #expect(throws: CancellationError.self) { try await abandoned.value }
        #expect(await table.runningCount == 1, "the abandoned request is still storing its answer")

        let later = Task { try await table.outcome(of: await table.join(request, logger: logs.logger) { _ in }) }
        #expect(await wallClockSettle { await table.runningCount == 2 })
        // Had the new request tried the chapter's lock, it would have said so at once.
        #expect(!(await logs.waitFor(message: Self.waitingForOther, timeout: .milliseconds(300))))
        release.signal()
        let answer = try await later.value.get()
        #expect(answer.fromStore, "the answer the abandoned request stored")
        #expect(provider.submissions.count == 1)
        #expect(!logs.text.contains(Self.waitingForOther))
    }
}
