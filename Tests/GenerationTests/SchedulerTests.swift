import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Generation
@testable import Providers
import Platform

/// Runs requests through a scheduler on a manual clock, advancing simulated time whenever every
/// unfinished request is waiting (asleep on the clock or queued for a slot).
struct SchedulerHarness {
    let clock: ManualClock
    let provider: ScriptedProvider
    let scheduler: Scheduler

    /// - Parameter clock: the simulated time, for a script that follows it.
    init(
        _ configuration: Scheduler.Configuration,
        latency: Duration = .zero,
        reports: @escaping ScriptedProvider.Reports = { _, _ in [] },
        script: ScriptedProvider.Script? = nil,
        clock: ManualClock = ManualClock(),
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.clock = clock
        provider =
            script.map { ScriptedProvider(clock: clock, latency: latency, reports: reports, script: $0) }
            ?? ScriptedProvider(clock: clock, latency: latency, reports: reports)
        scheduler = Scheduler(
            provider: provider,
            configuration: configuration,
            clock: clock,
            random: SeededRandom(seed: 42),
            wallClock: wallClock
        )
    }

    func run(_ requests: [ChapterRequest], logger: Logger = .quiet) async -> [Result<ChapterResponse, any Error>] {
        let finished = Locked(0)
        let results = Locked([Result<ChapterResponse, any Error>?](repeating: nil, count: requests.count))
        await withTaskGroup(of: Void.self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    let result: Result<ChapterResponse, any Error>
                    do {
                        result = .success(try await scheduler.generate(request, logger: logger))
                    } catch {
                        result = .failure(error)
                    }
                    results.withLockedValue { $0[index] = result }
                    finished.withLockedValue { $0 += 1 }
                }
            }
            while finished.withLockedValue({ $0 }) < requests.count {
                let quiet = await settle {
                    let remaining = requests.count - finished.withLockedValue { $0 }
                    if remaining == 0 { return true }
                    let queued = await scheduler.waitingForSlot
                    // A request the circuit breaker woke keeps its clock sleep a moment longer.
                    guard await scheduler.outageWaitsAsleep else { return false }
                    return clock.sleeperCount > 0 && clock.sleeperCount + queued == remaining
                }
                if finished.withLockedValue({ $0 }) == requests.count { break }
                guard quiet, let next = clock.nextDeadline else {
                    Issue.record(
                        "requests stopped making progress with \(requests.count - finished.withLockedValue { $0 }) unfinished"
                    )
                    group.cancelAll()
                    break
                }
                clock.advance(to: next)
            }
        }
        return results.withLockedValue { $0.map { $0! } }
    }
}

/// A deterministic generator (SplitMix64) so jitter is reproducible.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("never more than `concurrency` requests in flight")
    func inFlightCap() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 3, requestsPerMinute: 1_000_000, inputTokensPerMinute: 1_000_000_000),
            latency: .seconds(5)
        )
        let results = await harness.run((1...20).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(harness.provider.maxInFlight == 3)
        #expect(harness.provider.submissions.count == 20)
    }

    @Test("submissions are spaced by the RPM quota with jitter, never closer")
    func rpmPacing() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 50, requestsPerMinute: 60, inputTokensPerMinute: 1_000_000_000)
        )
        _ = await harness.run((1...30).map { .named("chapter \($0)") })
        let times = harness.provider.submissions.map(\.at).sorted()
        #expect(times.count == 30)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        // 60 RPM: one second apart at least, at most 10 % jitter more.
        #expect(gaps.allSatisfy { $0 >= .seconds(1) && $0 <= .milliseconds(1100) })
        #expect(Set(gaps).count > 1, "jitter varies the spacing")
        // In any 60-second window no more than 60 submissions.
        for (index, start) in times.enumerated() {
            #expect(times[index...].prefix { $0 < start + .seconds(60) }.count <= 60)
        }
    }

    @Test("the wall clock jumping an hour back and forth changes no spacing and no backoff (they follow the monotonic clock)")
    func wallClockJumps() async throws {
        let reads = Locked(0)
        // Every read of the wall clock is an hour off the last, one way then the other.
        let jumping: @Sendable () -> Date = {
            let count = reads.withLockedValue { $0 += 1; return $0 }
            return Date(timeIntervalSince1970: 1_800_000_000 + (count % 2 == 0 ? 3600 : -3600))
        }
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 50, requestsPerMinute: 60, inputTokensPerMinute: 1_000_000_000),
            script: { _, attempt in
                attempt == 1
                    ? .failure(ProviderError(.retry, "INTERNAL", httpStatus: 500)) : .success(ChapterResponse(text: "ok", usage: Usage()))
            },
            wallClock: jumping
        )
        let results = await harness.run((1...10).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let times = harness.provider.submissions.map(\.at).sorted()
        #expect(times.count == 20, "each chapter: a failure, then its retry")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= .seconds(1) }, "never closer than the quota allows: \(gaps)")
        #expect(times.last! - times.first! < .seconds(120), "no wait stretched by an hour: \(times.last! - times.first!)")
    }

    @Test("a daily stop follows the wall clock: set back an hour it holds an hour longer, set forward past its reset it lifts")
    func dailyStopFollowsWallClock() async throws {
        let clock = ManualClock()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let wall = Locked(start)
        let provider = ScriptedProvider(clock: clock)
        let stop = SubmissionStop(
            reason: .dailyQuota,
            error: ProviderError(.dailyQuotaExhausted, "per-day quota", httpStatus: 429),
            until: start.addingTimeInterval(1800)
        )
        let scheduler = Scheduler(
            provider: provider,
            configuration: .init(requestsPerMinute: 1_000_000),
            clock: clock,
            stop: stop,
            wallClock: { wall.value }
        )
        wall.withLockedValue { $0 = start.addingTimeInterval(-3600) }
        await #expect(throws: GenerationFailure.self) { try await scheduler.generate(.named("set back"), logger: .quiet) }
        clock.advance(by: .seconds(3600))
        await #expect(throws: GenerationFailure.self) { try await scheduler.generate(.named("an hour on"), logger: .quiet) }
        #expect(provider.submissions.isEmpty)
        wall.withLockedValue { $0 = start.addingTimeInterval(3600) }
        _ = try await scheduler.generate(.named("set forward"), logger: .quiet)
        #expect(provider.submissions.map(\.prompt) == ["set forward"])
    }

    @Test("input tokens per minute pace large requests")
    func tpmPacing() async throws {
        // 60,000 tokens per minute = 1,000 per second; each request estimates 2,000 tokens.
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 10, requestsPerMinute: 1_000_000, inputTokensPerMinute: 60_000),
            script: { prompt, _ in .success(ChapterResponse(text: "ok", usage: Usage(promptTokens: 2_000))) }
        )
        _ = await harness.run((1...5).map { .named("c\($0)", tokens: 2_000) })
        let times = harness.provider.submissions.map(\.at).sorted()
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= .seconds(2) })
    }

    @Test("a 429 pauses every submission for its RetryInfo delay")
    func rateLimitPausesEveryone() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 4, requestsPerMinute: 600, inputTokensPerMinute: 1_000_000_000),
            latency: .seconds(1),
            script: { prompt, attempt in
                if prompt == "chapter 2" && attempt == 1 {
                    return .failure(
                        ProviderError(.retry, "RESOURCE_EXHAUSTED", httpStatus: 429, retryDelay: .seconds(30))
                    )
                }
                return .success(ChapterResponse(text: "ok", usage: Usage(promptTokens: 10)))
            }
        )
        let results = await harness.run((1...12).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let submissions = harness.provider.submissions
        let limited = try #require(submissions.first { $0.prompt == "chapter 2" && $0.attempt == 1 })
        // The 429 arrived one second (the latency) after that submission; nothing may be
        // submitted from then until 30 s later.
        let pauseStart = limited.at + .seconds(1)
        let pauseEnd = pauseStart + .seconds(30)
        let during = submissions.filter { $0.at > pauseStart && $0.at < pauseEnd }
        #expect(during.isEmpty, "submitted during the pause: \(during.map(\.prompt))")
        // After the pause submissions resume paced, not in a burst.
        let after = submissions.filter { $0.at >= pauseEnd }.map(\.at).sorted()
        #expect(!after.isEmpty)
        #expect(zip(after.dropFirst(), after).allSatisfy { $0 - $1 >= .milliseconds(100) })
        #expect(submissions.filter { $0.prompt == "chapter 2" }.count == 2)
    }

    @Test("an answer whose rate-limit headers say nothing is left holds back every submission until it refills")
    func rateLimitReported() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 4, requestsPerMinute: 600, inputTokensPerMinute: 1_000_000_000),
            latency: .seconds(1),
            reports: { prompt, _ in
                // The answer to chapter 3 says the limit refills 30 s after it arrived; the answer
                // to chapter 5, which arrives later, says 5 s: it must not shorten the first.
                switch prompt {
                case "chapter 3": [.rateLimitReached(resetsIn: .seconds(30))]
                case "chapter 5": [.rateLimitReached(resetsIn: .seconds(5))]
                default: []
                }
            }
        )
        let results = await harness.run((1...12).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let submissions = harness.provider.submissions
        #expect(submissions.count == 12, "nothing was turned away or retried")
        let reported = try #require(submissions.first { $0.prompt == "chapter 3" })
        let pauseStart = reported.at + .seconds(1)
        let pauseEnd = pauseStart + .seconds(30)
        let during = submissions.filter { $0.at > pauseStart && $0.at < pauseEnd }
        #expect(during.isEmpty, "submitted while the limit was used up: \(during.map(\.prompt))")
        let after = submissions.filter { $0.at >= pauseEnd }.map(\.at).sorted()
        #expect(!after.isEmpty)
        #expect(zip(after.dropFirst(), after).allSatisfy { $0 - $1 >= .milliseconds(100) }, "resumed paced")
    }

    @Test("a request that fails for good fails fast, without retries, and others continue")
    func fatalFailsFast() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 4, requestsPerMinute: 6_000),
            script: { prompt, _ in
                prompt == "bad"
                    ? .failure(ProviderError(.fatal, "INVALID_ARGUMENT: nope", httpStatus: 400))
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let results = await harness.run([.named("good 1"), .named("bad"), .named("good 2")])
        #expect((try? results[0].get()) != nil)
        #expect((try? results[2].get()) != nil)
        let failure = try #require(results[1].failureValue as? GenerationFailure)
        #expect(failure.attempts == 1)
        #expect(failure.error.httpStatus == 400)
        #expect(harness.provider.submissions.filter { $0.prompt == "bad" }.count == 1)
    }

    @Test("transient errors are retried with capped exponential backoff until they succeed")
    func retriesWithBackoff() async throws {
        let backoff = Backoff(initial: .seconds(2), maximum: .seconds(10))
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 1, requestsPerMinute: 1_000_000, maximumAttempts: 6, backoff: backoff),
            script: { _, attempt in
                attempt <= 4
                    ? .failure(ProviderError(.retry, "UNAVAILABLE: The model is overloaded.", httpStatus: 503))
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let results = await harness.run([.named("flaky")])
        #expect((try? results[0].get()) != nil)
        let times = harness.provider.submissions.map(\.at)
        #expect(times.count == 5)
        for (attempt, gap) in zip(times.dropFirst(), times).map({ $0 - $1 }).enumerated() {
            #expect(gap <= backoff.ceiling(afterAttempt: attempt + 1), "attempt \(attempt + 1) waited \(gap)")
        }
    }

    @Test("gives up after the configured number of attempts, with the last error")
    func givesUp() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 1, requestsPerMinute: 1_000_000, maximumAttempts: 3),
            script: { _, _ in .failure(ProviderError(.retry, "INTERNAL", httpStatus: 500)) }
        )
        let results = await harness.run([.named("doomed")])
        let failure = try #require(results[0].failureValue as? GenerationFailure)
        #expect(failure.attempts == 3)
        #expect(failure.description.contains("gave up after 3 attempts"))
        #expect(harness.provider.submissions.count == 3)
    }

    @Test("an answer cut off by thinking is retried with a larger output budget")
    func maxTokensRaisesBudget() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 1, requestsPerMinute: 1_000_000),
            script: { _, attempt in
                attempt == 1
                    ? .failure(ProviderError(.retryWithLargerBudget, "MAX_TOKENS", httpStatus: 200))
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        _ = await harness.run([.named("long")])
        let budgets = harness.provider.submissions.map(\.maxOutputTokens)
        #expect(budgets.count == 2)
        #expect(budgets[1] == budgets[0] * 2)
    }

    @Test("a daily quota stops every submission, including the queued ones")
    func dailyQuotaStopsEverything() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 1, requestsPerMinute: 60),
            script: { prompt, _ in
                prompt == "first"
                    ? .failure(ProviderError(.dailyQuotaExhausted, "daily quota", httpStatus: 429))
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let results = await harness.run([.named("first"), .named("second"), .named("third")])
        #expect(harness.provider.submissions.count == 1)
        for result in results {
            let failure = try #require(result.failureValue as? GenerationFailure)
            #expect(failure.error.disposition == .dailyQuotaExhausted)
        }
    }

    @Test("cancelling a queued request frees its place without sending it")
    func cancellation() async throws {
        let clock = ManualClock()
        let provider = ScriptedProvider(clock: clock, latency: .seconds(10))
        let scheduler = Scheduler(
            provider: provider,
            configuration: .init(concurrency: 1, requestsPerMinute: 1_000_000),
            clock: clock
        )
        let first = Task { try await scheduler.generate(.named("first"), logger: .quiet) }
        #expect(await settle { clock.sleeperCount == 1 })
        let second = Task { try await scheduler.generate(.named("second"), logger: .quiet) }
        #expect(await settle { await scheduler.waitingForSlot == 1 })
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(await scheduler.waitingForSlot == 0)
        clock.advance(by: .seconds(10))
        _ = try await first.value
        #expect(provider.submissions.map(\.prompt) == ["first"])
        #expect(await scheduler.requestsInFlight == 0)
    }
    @Test(
        "an answer no request can escape stops every submission at once: queued, pacing and backing-off requests fail with it"
    )
    func stopEverything() async throws {
        let refused = ProviderError(.stopEverything, "INVALID_ARGUMENT: API key not valid", httpStatus: 400)
        let harness = SchedulerHarness(
            Scheduler.Configuration(
                concurrency: 1,
                requestsPerMinute: 60,
                backoff: Backoff(initial: .seconds(100), maximum: .seconds(100))
            ),
            latency: .seconds(5),
            script: { prompt, _ in
                switch prompt {
                case "refused": .failure(refused)
                case "flaky": .failure(ProviderError(.retry, "UNAVAILABLE", httpStatus: 503))
                default: .success(ChapterResponse(text: "ok", usage: Usage()))
                }
            }
        )
        // "flaky" usually goes first and is backing off when "refused" answers; the rest wait
        // for the one slot. Once "refused" answers, nobody is sent any more.
        let results = await harness.run([.named("flaky"), .named("refused"), .named("a"), .named("b"), .named("c")])
        let sent = harness.provider.submissions.map(\.prompt)
        #expect(sent.contains("refused") && Set(sent).isSubset(of: ["flaky", "refused"]), "\(sent)")
        for result in results {
            let failure = try #require(result.failureValue as? GenerationFailure)
            #expect(failure.error == refused)
        }
        #expect(await harness.scheduler.stop?.reason == .refused)
    }

    @Test("a key or model refused at the check costs no chapter request, and resume checks again")
    func verification() async throws {
        let clock = ManualClock()
        let refused = ProviderError(.stopEverything, "NOT_FOUND: models/gemini-9 is not found", httpStatus: 404)
        let provider = ScriptedProvider(clock: clock, verdict: refused)
        let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000), clock: clock)
        for name in ["a", "b", "c"] {
            await #expect(throws: GenerationFailure.self) { try await scheduler.generate(.named(name), logger: .quiet) }
        }
        #expect(provider.submissions.isEmpty)
        #expect(provider.verifications == 1)
        #expect(await scheduler.stop?.error == refused)

        let fixed = ScriptedProvider(clock: clock)
        await scheduler.replaceProvider(fixed)
        await scheduler.resume()
        _ = try await scheduler.generate(.named("a"), logger: .quiet)
        // The next submission waits one spacing on the manual clock.
        let second = Task { try await scheduler.generate(.named("b"), logger: .quiet) }
        #expect(await settle { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(1))
        _ = try await second.value
        #expect(fixed.verifications == 1)
        #expect(fixed.submissions.count == 2)
    }

    @Test("a request cancelled while another checks the key and model stops waiting at once")
    func cancelledDuringKeyCheck() async throws {
        let clock = ManualClock()
        let provider = ScriptedProvider(clock: clock, verifyLatency: .seconds(10))
        let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000), clock: clock)
        let checking = Task { try await scheduler.generate(.named("first"), logger: .quiet) }
        #expect(await settle { provider.verifications == 1 && clock.sleeperCount == 1 })
        let ended = Locked(false)
        let waiting = Task {
            defer { ended.withLockedValue { $0 = true } }
            return try await scheduler.generate(.named("second"), logger: .quiet)
        }
        waiting.cancel()
        #expect(await settle { ended.value }, "still waiting for the key check")
        // The check ends; only the request that made it is sent.
        clock.advance(by: .seconds(10))
        _ = try await checking.value
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(provider.submissions.map(\.prompt) == ["first"])
        #expect(provider.verifications == 1)
    }

    @Test("a daily stop carried over from an earlier process holds until its reset time on the wall clock")
    func savedDailyStop() async throws {
        let clock = ManualClock()
        let wall = Locked(Date(timeIntervalSince1970: 1_800_000_000))
        let provider = ScriptedProvider(clock: clock)
        let stop = SubmissionStop(
            reason: .dailyQuota,
            error: ProviderError(.dailyQuotaExhausted, "per-day quota", httpStatus: 429),
            until: wall.value.addingTimeInterval(3600)
        )
        let scheduler = Scheduler(
            provider: provider,
            configuration: .init(requestsPerMinute: 1_000_000),
            clock: clock,
            stop: stop,
            wallClock: { wall.value }
        )
        await #expect(throws: GenerationFailure.self) { try await scheduler.generate(.named("early"), logger: .quiet) }
        #expect(provider.submissions.isEmpty && provider.verifications == 0)
        wall.withLockedValue { $0 = $0.addingTimeInterval(3601) }
        _ = try await scheduler.generate(.named("after the reset"), logger: .quiet)
        #expect(provider.submissions.map(\.prompt) == ["after the reset"])
        #expect(await scheduler.stop == nil)

        // A stop whose reset already passed is not carried over at all.
        let stale = Scheduler(provider: provider, clock: clock, stop: stop, wallClock: { wall.value })
        #expect(await stale.stop == nil)
    }

    @Test(
        "an overloaded answer lowers the in-flight limit only while adaptation is on",
        arguments: [(true, 4), (false, 8)]
    )
    func adaptationCanBeTurnedOff(adapts: Bool, limitAfter: Int) async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 8, requestsPerMinute: 1_000_000, adaptsToOverload: adapts),
            script: { _, attempt in
                attempt == 1
                    ? .failure(
                        ProviderError(
                            .retry,
                            "UNAVAILABLE: The model is overloaded.",
                            httpStatus: 503,
                            overloaded: true
                        )
                    )
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let results = await harness.run([.named("busy")])
        #expect((try? results[0].get()) != nil)
        #expect(await harness.scheduler.inFlightLimit.current == limitAfter)
    }
}

@Suite("Pacing and backoff policies")
struct PolicyTests {
    @Test(
        "backoff ceilings double from the initial delay up to the maximum",
        arguments: [
            (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 60), (40, 60),
        ]
    )
    func backoffCeiling(attempt: Int, seconds: Int) {
        #expect(Backoff().ceiling(afterAttempt: attempt) == .seconds(seconds))
    }

    @Test("full jitter spans zero to the ceiling")
    func fullJitter() {
        let backoff = Backoff()
        #expect(backoff.delay(afterAttempt: 3, unit: 0) == .zero)
        #expect(backoff.delay(afterAttempt: 3, unit: 0.5) == .seconds(2))
        #expect(backoff.delay(afterAttempt: 3, unit: 1) == .seconds(4))
    }

    @Test("the pacer never lets two requests closer than 60/rpm")
    func pacerSpacing() {
        var pacer = Pacer(requestsPerMinute: 1000, inputTokensPerMinute: 1_000_000_000)
        var random = SeededRandom(seed: 7)
        var previous: Duration?
        for _ in 0..<1000 {
            let at = pacer.earliestSubmission(now: previous ?? .zero)
            pacer.submit(at: at, tokens: 100, unit: Double.random(in: 0..<1, using: &random))
            if let previous { #expect(at - previous >= .milliseconds(60)) }
            previous = at
        }
        // 1000 requests at 1000 RPM, jitter at most 10 %: between 60 and 66 seconds.
        #expect(previous! >= .seconds(59.94) && previous! <= .seconds(66))
    }

    @Test("a 429 doubles the spacing once per pause, up to 16 times; answers ease it back to the quota")
    func pacerSlowsAfterRateLimits() {
        var pacer = Pacer(requestsPerMinute: 60, inputTokensPerMinute: 1_000_000)
        #expect(pacer.requestSpacing == .seconds(1))
        pacer.rateLimited(now: .seconds(10))
        pacer.pause(until: .seconds(20))
        #expect(pacer.requestSpacing == .seconds(2))
        // The answers to requests already in flight during the pause are the same news.
        pacer.rateLimited(now: .seconds(15))
        #expect(pacer.requestSpacing == .seconds(2))
        for second in [20, 40, 60, 80, 100] {
            pacer.rateLimited(now: .seconds(second))
            pacer.pause(until: .seconds(second + 10))
        }
        #expect(pacer.slowdown == Pacer.maximumSlowdown)
        for _ in 0..<1_000 { pacer.answered() }
        #expect(pacer.requestSpacing == .seconds(1), "back to the configured quota, never faster")
    }

    @Test("a pause holds back submissions, which then resume one spacing at a time")
    func pacerPause() {
        var pacer = Pacer(requestsPerMinute: 600, inputTokensPerMinute: 1_000_000_000)
        pacer.pause(until: .seconds(20))
        let first = pacer.earliestSubmission(now: .seconds(1))
        pacer.submit(at: first, tokens: 1, unit: 0)
        let second = pacer.earliestSubmission(now: .seconds(1))
        #expect(first == .seconds(20))
        // 60 s / 600 is not exactly representable: compare to the microsecond.
        #expect(abs(second - .seconds(20.1)) < .microseconds(1))
    }

    @Test("usage corrections move the token schedule")
    func pacerCorrection() {
        var pacer = Pacer(requestsPerMinute: 1_000_000, inputTokensPerMinute: 60_000)
        pacer.submit(at: .zero, tokens: 1_000, unit: 0)  // next at 1 s
        pacer.correct(estimatedTokens: 1_000, actualTokens: 3_000, now: .zero)  // 2 s more
        #expect(pacer.earliestSubmission(now: .zero) == .seconds(3))
    }

    @Test("a late submission pushes the next one back: spacing counts from when it really went")
    func pacerLateWakeUp() {
        var pacer = Pacer(requestsPerMinute: 600, inputTokensPerMinute: 1_000_000_000)
        pacer.submit(at: .zero, tokens: 1, unit: 0)
        // The next was due at 0.1 s but its task only ran at 0.5 s.
        pacer.submit(at: .milliseconds(500), tokens: 1, unit: 0)
        #expect(pacer.earliestSubmission(now: .milliseconds(500)) == .milliseconds(600))
    }
}

func abs(_ duration: Duration) -> Duration { duration < .zero ? .zero - duration : duration }

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

@Suite("Adaptive in-flight limit")
struct AdaptiveLimitTests {
    @Test("a sign of overload halves the limit once per crowded moment, never below one")
    func decrease() {
        var limit = AdaptiveLimit(maximum: 8)
        #expect(limit.overloaded(sentIn: 0) == .decreased(from: 8, to: 4))
        // Answers of requests sent before that decrease do not halve it again.
        #expect(limit.overloaded(sentIn: 0) == nil)
        #expect(limit.overloaded(sentIn: 1) == .decreased(from: 4, to: 2))
        #expect(limit.overloaded(sentIn: 2) == .decreased(from: 2, to: 1))
        #expect(limit.overloaded(sentIn: 3) == nil)
        #expect(limit.current == 1)
    }

    @Test("each run of `limit` successes raises it by one, up to --concurrency")
    func increase() {
        var limit = AdaptiveLimit(maximum: 4)
        _ = limit.overloaded(sentIn: 0)
        #expect(limit.current == 2)
        #expect(limit.succeeded() == nil)
        #expect(limit.succeeded() == .increased(from: 2, to: 3))
        #expect(limit.succeeded() == nil)
        #expect(limit.succeeded() == nil)
        #expect(limit.succeeded() == .increased(from: 3, to: 4))
        #expect(limit.succeeded() == nil)
        #expect(limit.current == 4)
        // An overload in between starts the run of successes over.
        _ = limit.overloaded(sentIn: limit.generation)
        #expect(limit.current == 2)
        #expect(limit.succeeded() == nil)
        _ = limit.overloaded(sentIn: 0)
        #expect(limit.succeeded() == nil)
        #expect(limit.succeeded() == .increased(from: 2, to: 3))
    }

    @Test(
        "when the API answers again after an outage, the limit returns to what it was when answers last came back",
        arguments: [
            // (successes before the outage, overload signs before it, the limit it returns to)
            (0, 0, 8), (3, 0, 8), (0, 1, 8), (4, 1, 5), (4, 2, 3),
        ]
    )
    func restore(successes: Int, overloads: Int, expected: Int) {
        var limit = AdaptiveLimit(maximum: 8)
        for _ in 0..<overloads { _ = limit.overloaded(sentIn: limit.generation) }
        for _ in 0..<successes { _ = limit.succeeded() }
        // The outage: every sign halves it, down to one.
        for _ in 0..<4 { _ = limit.overloaded(sentIn: limit.generation) }
        #expect(limit.current == 1)
        let restored = limit.restore()
        #expect(limit.current == expected)
        #expect(restored == (expected > 1 ? .increased(from: 1, to: expected) : nil))
        // An answer to a request sent during the outage does not halve it again.
        let stale = limit.overloaded(sentIn: limit.generation - 1)
        #expect(stale == nil)
    }

    @Test("a reload's --concurrency applies to a limit that was not lowered, and caps one that was")
    func reload() {
        var limit = AdaptiveLimit(maximum: 8)
        limit.setMaximum(12)
        #expect(limit.current == 12)
        _ = limit.overloaded(sentIn: 0)
        limit.setMaximum(4)
        #expect(limit.current == 4 && limit.maximum == 4)
    }

    @Test("during an overload storm the scheduler keeps fewer requests in flight, then climbs back, in simulated time")
    func storm() async throws {
        let latency = Duration.seconds(10)
        let harness = SchedulerHarness(
            Scheduler.Configuration(
                concurrency: 8,
                requestsPerMinute: 6000,
                backoff: Backoff(initial: .seconds(1), maximum: .seconds(2))
            ),
            latency: latency,
            // The first attempt of every other chapter meets "the model is overloaded"; its retry
            // succeeds. (A storm that fails every request is an outage: the circuit breaker's.)
            script: { prompt, attempt in
                attempt == 1 && Int(prompt.split(separator: " ").last!)! % 2 == 1
                    ? .failure(ProviderError(.retry, "UNAVAILABLE", httpStatus: 503, overloaded: true))
                    : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let outages = Locked([APIOutage?]())
        await harness.scheduler.observeOutage { outage in outages.withLockedValue { $0.append(outage) } }
        let limits = Locked([Int]())
        await harness.scheduler.observeLimit { current, _ in limits.withLockedValue { $0.append(current) } }
        let results = await harness.run((1...16).map { ChapterRequest.named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(outages.value.isEmpty, "half the requests failing is overload, not an outage: \(outages.value)")
        let seen = limits.value
        // Each crowded moment halved the limit once: 8 -> 4 -> 2 -> 1, never below one.
        #expect(Array(seen.prefix(3)) == [4, 2, 1], "\(seen)")
        #expect(seen.min() == 1)
        // While it was lowered, no more requests were in flight than it allowed.
        let submissions = harness.provider.submissions
        let lowered = try #require(submissions.first { $0.attempt > 1 }?.at)
        let afterwards = submissions.filter { $0.at >= lowered }.map(\.at)
        let mostAtOnce = afterwards.map { start in afterwards.filter { $0 >= start && $0 < start + latency }.count }
            .max()
        #expect((mostAtOnce ?? 0) < 8, "at most \(mostAtOnce ?? 0) at once after the storm began")
        // Then successes raised it again.
        #expect(seen.last.map { $0 > 1 } == true, "\(seen)")
    }
}
