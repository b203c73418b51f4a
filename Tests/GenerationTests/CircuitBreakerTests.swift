import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TestSupport
import Testing

@testable import Generation
@testable import Providers
import Platform

typealias Breaker = CircuitBreaker<String>

/// Feeds `breaker` the outcomes `script` names, one a second from `start`: "a-" chapter a's
/// request failed with the service, "a+" the service answered it, "a~" it was shed (a 429);
/// "@70" moves the time to 70 s.
/// - Returns: whether the breaker opened, and when.
private func feed(_ script: String, to breaker: inout Breaker, start: Duration = .zero) -> Duration? {
    var now = start
    for token in script.split(separator: " ") {
        if token.hasPrefix("@") {
            now = .seconds(Int(token.dropFirst())!)
            continue
        }
        let outcome: Breaker.Outcome =
            switch token.last {
            case "-": .unavailable
            case "+": .answered
            default: .shed
            }
        guard case .send(let pass) = breaker.admit(now: now, arrivedAt: now) else { return nil }
        if case .opened = breaker.record(outcome, of: String(token.dropLast()), sentWith: pass, now: now, unit: 0) {
            return now
        }
        now += .seconds(1)
    }
    return nil
}

/// A breaker opened at 0 s by two chapters' failures: its first probe may go at 3 s.
private func openedBreaker() -> Breaker {
    var breaker = Breaker()
    let opened = feed("a- b-", to: &breaker, start: .seconds(-1))
    precondition(opened == .zero)
    return breaker
}

@Suite("Circuit breaker policy")
struct CircuitBreakerPolicyTests {
    @Test(
        "it opens when failures of the service are 80 % of the recent outcomes, from two chapters at least",
        arguments: [
            ("a- b-", true, "two chapters fail, nothing else known: the service is down"),
            ("a- a- a- a-", false, "one chapter alone never opens it"),
            ("a- b+ c+ d+", false, "one unlucky 503 at the start"),
            ("a+ b+ c+ d+ e+ f-", false, "one unlucky 503 among answers"),
            ("a+ b+ c+ d+ e+ f- g-", false, "two 503s among answers"),
            ("a+ b- c-", false, "2 failures of 3 are not 80 %"),
            ("a+ b- c- d- e-", true, "4 failures of 5 are"),
            ("a+ b+ c+ d+ e+ f+ g+ h+ i- j- k- l- m- n- o-", false, "7 of the last 10"),
            ("a+ b+ c+ d+ e+ f+ g+ h+ i- j- k- l- m- n- o- p-", true, "8 of the last 10: older answers drop out"),
            ("a+ b+ c+ d+ e+ @100 f- g-", true, "answers older than a minute are forgotten"),
            ("a- @70 b-", false, "so are failures"),
            ("a- b~ c~ d~ e~", false, "429s neither open it nor count as answers"),
            ("a~ b~ c~ d~ e~ f~", false, "429s alone never open it"),
            ("a- b~ c-", true, "a 429 between failures does not keep it closed"),
        ]
    )
    func opening(script: String, opens: Bool, why: String) {
        var breaker = Breaker()
        let opened = feed(script, to: &breaker)
        #expect((opened != nil) == opens, "\(why)")
        if opens {
            // It opens on the outcome that tips it, not before.
            let last = script.split(separator: " ").last!
            #expect(last.hasSuffix("-"), "\(why)")
        }
    }

    @Test(
        "how an attempt's failure bears on the service, as the providers classify it",
        arguments: [
            (
                503, #"{"error":{"code":503,"status":"UNAVAILABLE","message":"The model is overloaded."}}"#,
                "unavailable"
            ),
            (504, #"{"error":{"code":504,"status":"DEADLINE_EXCEEDED"}}"#, "unavailable"),
            (500, #"{"error":{"code":500,"status":"INTERNAL"}}"#, "unavailable"),
            (502, "<html>Bad Gateway</html>", "unavailable"),
            (
                429,
                #"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"20s"}]}}"#,
                "shed"
            ),
            (
                429,
                #"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]}]}}"#,
                "shed"
            ),
            (400, #"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad field"}}"#, "answered"),
            (403, #"{"error":{"code":403,"status":"PERMISSION_DENIED"}}"#, "answered"),
            (200, #"{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}"#, "answered"),
            (200, #"{"candidates":[{"content":{"role":"model"},"finishReason":"STOP"}]}"#, "answered"),
            (200, #"{"promptFeedback":{"blockReason":"SAFETY"}}"#, "answered"),
            (200, "{not json", "answered"),
        ]
    )
    func geminiClassification(status: Int, body: String, expected: String) throws {
        let error = try #require(GeminiWire.classify(status: status, body: Array(body.utf8)).failureValue)
        #expect("\(Breaker.Outcome(error))" == expected, "\(error)")
    }

    @Test("a request with no HTTP answer says the service is unavailable; one cut off inside an answer does not")
    func transportClassification() throws {
        let unavailable: [any Error] = [
            HTTPClientError.deadlineExceeded,
            HTTPClientError.readTimeout,
            HTTPClientError.remoteConnectionClosed,
        ]
        for error in unavailable {
            let classified = ProviderTransport.transportError(error, timeout: .seconds(300))
            #expect(Breaker.Outcome(classified) == .unavailable, "\(classified)")
        }
        // No connection made at all: the server was never reached.
        let unreachable: [any Error] = [
            HTTPClientError.connectTimeout,
            IOError(errnoCode: ECONNREFUSED, reason: "connect"),
        ]
        for error in unreachable {
            let classified = ProviderTransport.transportError(error, timeout: .seconds(300))
            #expect(Breaker.Outcome(classified) == .unreachable, "\(classified)")
        }
        var stream = GeminiStream(maximumTextSize: 10)
        let event = ServerSentEventParser.Event(
            data: #"{"candidates":[{"content":{"parts":[{"text":"far more than ten bytes"}]}}]}"#
        )
        do {
            _ = try stream.progress(from: event)
            Issue.record("an answer past its size was taken")
        } catch {
            #expect(Breaker.Outcome(error) == .answered, "a runaway answer is the chapter's: \(error)")
        }
        let openAI429 = OpenAIWire.classifyError(status: 429, limits: RateLimitHeaders(), body: [])
        let openAI503 = OpenAIWire.classifyError(status: 503, limits: RateLimitHeaders(), body: [])
        #expect(Breaker.Outcome(openAI429) == .shed)
        #expect(Breaker.Outcome(openAI503) == .unavailable)
    }

    @Test(
        "probes go one at a time, 3 s after the opening, then at doubling intervals stretched by up to 20 %, never past 30 s",
        arguments: [
            (0.0, [3.0, 6, 12, 24, 30, 30, 30]),
            (0.5, [3.3, 6.6, 13.2, 26.4, 30, 30, 30]),
            (1.0, [3.6, 7.2, 14.4, 28.8, 30, 30, 30]),
        ]
    )
    func probeIntervals(unit: Double, seconds: [Double]) {
        var breaker = Breaker()
        _ = feed("a-", to: &breaker)
        guard case .send(let pass) = breaker.admit(now: .seconds(1), arrivedAt: .zero),
            case .opened(_, _, let first) = breaker.record(
                .unavailable,
                of: "b",
                sentWith: pass,
                now: .seconds(1),
                unit: unit
            )
        else {
            Issue.record("did not open")
            return
        }
        var waits = [first]
        var now = Duration.seconds(1) + first
        while waits.count < seconds.count {
            let beforeProbe = breaker.admit(now: now - .milliseconds(1), arrivedAt: .zero)
            #expect(beforeProbe == .wait(until: now))
            guard case .send(let probe) = breaker.admit(now: now, arrivedAt: .zero), probe.isProbe else {
                Issue.record("no probe at \(now)")
                return
            }
            // Everyone else waits for its answer.
            let duringProbe = breaker.admit(now: now, arrivedAt: .zero)
            #expect(duringProbe == .wait(until: .seconds(601)))
            guard
                case .probeFailed(let next) = breaker.record(
                    .unavailable,
                    of: "c",
                    sentWith: probe,
                    now: now,
                    unit: unit
                )
            else {
                Issue.record("the failed probe changed nothing")
                return
            }
            waits.append(next)
            now += next
        }
        let expected = seconds.map { Duration.seconds($0) }
        #expect(zip(waits, expected).allSatisfy { abs($0 - $1) < .microseconds(1) }, "\(waits)")
        #expect(breaker.outage?.probeInterval == .seconds(30))
    }

    @Test(
        "what a probe's answer does",
        arguments: [
            (Breaker.Outcome.answered, "closed", Duration.zero),
            (.unavailable, "open", .seconds(3 + 6)),
            (.shed, "open", .seconds(3 + 3)),
        ]
    )
    func probeAnswer(outcome: Breaker.Outcome, state: String, nextProbe: Duration) {
        var breaker = openedBreaker()
        guard case .send(let probe) = breaker.admit(now: .seconds(3), arrivedAt: .zero) else {
            Issue.record("no probe")
            return
        }
        let change = breaker.record(outcome, of: "c", sentWith: probe, now: .seconds(3), unit: 0)
        switch state {
        case "closed":
            #expect(change == .closed(after: .seconds(3)))
            #expect(breaker.state == .closed)
            // Everyone goes, and a single failure afterwards does not open it again at once.
            guard case .send(let pass) = breaker.admit(now: .seconds(3), arrivedAt: .zero) else {
                Issue.record("closed but not sending")
                return
            }
            #expect(!pass.isProbe)
            let afterClose = breaker.record(.unavailable, of: "d", sentWith: pass, now: .seconds(4), unit: 0)
            #expect(afterClose == nil)
        default:
            // Either way the requests waiting for the probe's answer must hear of it.
            let wait = nextProbe - .seconds(3)
            #expect(change == (outcome == .shed ? .probeShed(nextProbeIn: wait) : .probeFailed(nextProbeIn: wait)))
            #expect(breaker.state == .open(since: .zero, interval: nextProbe - .seconds(3), nextProbe: nextProbe))
            let admission = breaker.admit(now: .seconds(3), arrivedAt: .zero)
            #expect(admission == .wait(until: nextProbe))
        }
    }

    @Test("a probe that ends without an answer (cancelled, stopped) lets the next request probe at once")
    func abandonedProbe() {
        var breaker = openedBreaker()
        guard case .send(let probe) = breaker.admit(now: .seconds(3), arrivedAt: .zero) else {
            Issue.record("no probe")
            return
        }
        let abandoned = breaker.abandon(probe, now: .seconds(4))
        #expect(abandoned)
        guard case .send(let next) = breaker.admit(now: .seconds(4), arrivedAt: .zero), next.isProbe else {
            Issue.record("no second probe")
            return
        }
        // The first one's pass is spent: it neither abandons nor answers for the second.
        let abandonedAgain = breaker.abandon(probe, now: .seconds(4))
        #expect(!abandonedAgain)
        let lateAnswer = breaker.record(.answered, of: "c", sentWith: probe, now: .seconds(4), unit: 0)
        #expect(lateAnswer == nil)
        let answer = breaker.record(.answered, of: "d", sentWith: next, now: .seconds(5), unit: 0)
        #expect(answer == .closed(after: .seconds(5)))
    }

    @Test("answers to requests sent before the breaker opened or closed change nothing")
    func staleOutcomes() {
        var breaker = Breaker()
        guard case .send(let early) = breaker.admit(now: .zero, arrivedAt: .zero) else { return }
        _ = feed("a- b-", to: &breaker, start: .seconds(1))
        #expect(breaker.outage != nil)
        // A long answer sent before the opening arrives: only the probe's answer counts.
        let staleAnswer = breaker.record(.answered, of: "x", sentWith: early, now: .seconds(3), unit: 0)
        #expect(staleAnswer == nil)
        #expect(breaker.outage != nil)
        guard case .send(let probe) = breaker.admit(now: .seconds(6), arrivedAt: .zero) else { return }
        let probeAnswer = breaker.record(.answered, of: "c", sentWith: probe, now: .seconds(6), unit: 0)
        #expect(probeAnswer != nil)
        let staleFailure = breaker.record(.unavailable, of: "y", sentWith: early, now: .seconds(7), unit: 0)
        #expect(staleFailure == nil)
        #expect(breaker.state == .closed)
    }

    @Test("while no request has ever reached the server (a wrong base URL, a server not started), a request waits a minute, not ten")
    func unreachedGivesUpSooner() {
        var breaker = Breaker()
        for (index, chapter) in ["a", "b"].enumerated() {
            let now = Duration.seconds(index)
            guard case .send(let pass) = breaker.admit(now: now, arrivedAt: now) else { return }
            _ = breaker.record(.unreachable, of: chapter, sentWith: pass, now: now, unit: 0)
        }
        #expect(breaker.outage != nil, "unreachable failures open it as failures of the service do")
        #expect(breaker.patience == .seconds(60))
        #expect(breaker.admit(now: .seconds(61), arrivedAt: .zero) == .giveUp)
        // A server that answered once (even with 503s) is down, not mistyped: the full wait.
        var reached = Breaker()
        _ = feed("a- b-", to: &reached, start: .seconds(-1))
        #expect(reached.patience == .seconds(600))
        #expect(reached.admit(now: .seconds(61), arrivedAt: .zero) != .giveUp)
    }

    @Test(
        "a request waits at most 10 minutes for the API, counted from the opening or from its arrival, whichever is later",
        arguments: [
            (Duration.seconds(-50), Duration.seconds(599), false),
            (.seconds(-50), .seconds(600), true),
            (.seconds(100), .seconds(699), false),
            (.seconds(100), .seconds(700), true),
        ]
    )
    func givingUp(arrived: Duration, now: Duration, givesUp: Bool) {
        var breaker = openedBreaker()
        // Probes keep failing meanwhile; the breaker stays open.
        var at = Duration.seconds(3)
        while at < now {
            if case .send(let probe) = breaker.admit(now: at, arrivedAt: at) {
                _ = breaker.record(.unavailable, of: "p", sentWith: probe, now: at, unit: 0)
            }
            at += .seconds(1)
        }
        let admission = breaker.admit(now: now, arrivedAt: arrived)
        #expect((admission == .giveUp) == givesUp, "\(admission)")
        if case .wait(let until) = admission { #expect(until <= max(arrived, .zero) + .seconds(600)) }
        // Whoever comes next still probes: the breaker does not give up on the API.
        #expect(breaker.outage != nil)
        if case .open(_, _, let nextProbe) = breaker.state {
            guard case .send(let probe) = breaker.admit(now: nextProbe, arrivedAt: nextProbe) else {
                Issue.record("no probe after giving up")
                return
            }
            #expect(probe.isProbe)
        }
    }
}

@Suite("Circuit breaker in the scheduler, in simulated time")
struct OutageSchedulingTests {
    static let unavailable = GeminiWire.classifyError(
        status: 503,
        body: Array(#"{"error":{"code":503,"status":"UNAVAILABLE","message":"The model is overloaded."}}"#.utf8)
    )

    /// A provider that fails every request with an instant 503 until `end` on `clock`, then answers.
    static func outage(until end: Duration, on clock: ManualClock) -> ScriptedProvider.Script {
        { prompt, _ in
            clock.now.offset < end ? .failure(unavailable) : .success(ChapterResponse(text: "ok", usage: Usage()))
        }
    }

    @Test(
        "a 20 s outage of instant 503s costs at most 16 requests for 12 chapters, and every chapter is written within 60 s after it"
    )
    func twentySecondOutage() async throws {
        let clock = ManualClock()
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 8),
            script: Self.outage(until: .seconds(20), on: clock),
            clock: clock
        )
        let outages = Locked([APIOutage?]())
        await harness.scheduler.observeOutage { outage in outages.withLockedValue { $0.append(outage) } }
        let logs = LogRecorder()
        let results = await harness.run((1...12).map { .named("chapter \($0)") }, logger: logs.logger)

        let responses = results.compactMap { try? $0.get() }
        #expect(responses.count == 12, "\(results.compactMap(\.failureValue))")
        let submissions = harness.provider.submissions
        #expect(submissions.count <= 16, "\(submissions.map { "\($0.prompt) at \($0.at)" })")
        let last = try #require(submissions.map(\.at).max())
        #expect(last <= .seconds(20 + 60), "the last chapter went at \(last)")
        // During the outage, after the two failures that opened it, one probe at a time, seconds apart.
        let during = submissions.map(\.at).filter { $0 < .seconds(20) }.sorted()
        #expect(zip(during.dropFirst(2), during.dropFirst(1)).allSatisfy { $0 - $1 >= .seconds(3) }, "\(during)")
        // Neither the waits nor the failed probes were any chapter's attempts.
        #expect(responses.allSatisfy { $0.attempts <= 2 }, "\(responses.map(\.attempts))")
        // It opened once and closed once, and said so once each.
        let seen = outages.value
        #expect(seen.first??.probeInterval == .seconds(3))
        #expect(seen.last == .some(nil), "\(seen)")
        #expect(seen.filter { $0 == nil }.count == 1, "\(seen)")
        #expect(logs.all.filter { $0.message.hasPrefix("the API is unavailable") && $0.level == .warning }.count == 1)
        #expect(logs.all.filter { $0.message.hasPrefix("the API answers again") && $0.level == .notice }.count == 1)
        #expect(await harness.scheduler.outage == nil)
        #expect(await harness.scheduler.inFlightLimit.current == 8, "back at full pace")
    }

    @Test("one-off 503s among answers, even the very first answer, do not open it")
    func oneOffFailures() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 4),
            latency: .seconds(2),
            script: { prompt, attempt in
                (prompt == "chapter 1" || prompt == "chapter 9") && attempt == 1
                    ? .failure(Self.unavailable) : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let outages = Locked([APIOutage?]())
        await harness.scheduler.observeOutage { outage in outages.withLockedValue { $0.append(outage) } }
        let results = await harness.run((1...16).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(outages.value.isEmpty, "\(outages.value)")
        #expect(harness.provider.submissions.count == 18)
    }

    @Test("429s keep their own handling and never open it")
    func rateLimitsDoNotOpen() async throws {
        let limited = ProviderError(.retry, "RESOURCE_EXHAUSTED", httpStatus: 429, retryDelay: .seconds(5))
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 8),
            script: { _, attempt in
                attempt <= 2 ? .failure(limited) : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let outages = Locked([APIOutage?]())
        await harness.scheduler.observeOutage { outage in outages.withLockedValue { $0.append(outage) } }
        let results = await harness.run((1...8).map { .named("chapter \($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(outages.value.isEmpty, "\(outages.value)")
        #expect(harness.provider.submissions.count == 24, "every 429 an attempt, as before")
    }

    @Test(
        "an outage that never ends fails every waiting chapter after 10 minutes, retryably, with probes at most 30 s apart"
    )
    func permanentOutage() async throws {
        let harness = SchedulerHarness(
            Scheduler.Configuration(concurrency: 4),
            script: { _, _ in .failure(Self.unavailable) }
        )
        let results = await harness.run((1...6).map { .named("chapter \($0)") })
        for result in results {
            let failure = try #require(result.failureValue as? GenerationFailure)
            #expect(failure.error.message.hasPrefix("the API has been unavailable for 10 min"), "\(failure)")
            #expect(failure.error.message.contains("UNAVAILABLE"), "names the last failure: \(failure)")
            #expect(failure.mayPassWithTime, "a daemon tries it again later")
            #expect(failure.attempts <= 1)
        }
        let times = harness.provider.submissions.map(\.at).sorted()
        #expect(harness.clock.now.offset >= .seconds(600))
        #expect(harness.clock.now.offset < .seconds(600 + 30))
        let gaps = zip(times.dropFirst(2), times.dropFirst(1)).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 >= .seconds(3) && $0 <= .seconds(30) }, "\(gaps)")
        #expect(times.count <= 2 + 25, "\(times.count) requests in 10 minutes")
    }

    @Test("a probe answered with a 429 keeps the breaker open, and the chapters waiting for its answer hear of it")
    func shedProbe() async throws {
        let clock = ManualClock()
        let shed = Locked(false)
        let limited = ProviderError(.retry, "RESOURCE_EXHAUSTED", httpStatus: 429, retryDelay: .seconds(1))
        let harness = SchedulerHarness(
            // One attempt each: the chapter whose probe is turned away does not come back to probe.
            // The limit stays at 4 and submissions 1.5 s apart, so that the first two answers
            // open it and three chapters wait while the probe (1 s) is in flight.
            Scheduler.Configuration(concurrency: 4, requestsPerMinute: 40, maximumAttempts: 1, adaptsToOverload: false),
            latency: .seconds(1),
            script: { _, _ in
                if clock.now.offset < .seconds(3) { return .failure(Self.unavailable) }
                // The first probe is turned away; the API answers from then on.
                let first = shed.withLockedValue { wasShed in
                    defer { wasShed = true }
                    return !wasShed
                }
                return first ? .failure(limited) : .success(ChapterResponse(text: "ok", usage: Usage()))
            },
            clock: clock
        )
        let outages = Locked([APIOutage?]())
        await harness.scheduler.observeOutage { outage in outages.withLockedValue { $0.append(outage) } }
        let results = await harness.run((1...6).map { .named("chapter \($0)") })
        let failures = results.compactMap { $0.failureValue as? GenerationFailure }
        #expect(failures.map(\.error.httpStatus) == [503, 503, 429], "the two that opened it, the probe turned away")
        #expect(outages.value.last == .some(nil), "closed at the end: \(outages.value)")
        let times = harness.provider.submissions.map(\.at).sorted()
        #expect(times.count == 2 + 1 + 3, "\(times)")
        #expect(try #require(times.last) < .seconds(30), "the others went after the next probe: \(times)")
    }

    @Test("a probe cancelled while in flight lets another chapter probe at once")
    func cancelledProbe() async throws {
        let clock = ManualClock()
        let provider = ScriptedProvider(
            clock: clock,
            latency: .seconds(10),
            script: { prompt, _ in
                prompt.hasPrefix("opener")
                    ? .failure(Self.unavailable) : .success(ChapterResponse(text: "ok", usage: Usage()))
            }
        )
        let scheduler = Scheduler(
            provider: provider,
            configuration: .init(concurrency: 8, requestsPerMinute: 1_000_000, maximumAttempts: 1),
            clock: clock,
            random: SeededRandom(seed: 1)
        )
        let openers = ["opener 1", "opener 2"].map { name in
            Task { try await scheduler.generate(.named(name), logger: .quiet) }
        }
        // One is sent, the other waits for its submission time; then both are, and both fail.
        #expect(await settle { clock.sleeperCount == 2 })
        clock.advance(by: .seconds(1))
        #expect(await settle { provider.inFlight == 2 && clock.sleeperCount == 2 })
        clock.advance(by: .seconds(10))
        for opener in openers { _ = await opener.result }
        #expect(await scheduler.outage != nil)
        // Two chapters wait; the first to go probes, and is cancelled while its probe is in flight.
        let waiting = ["a", "b"].map { name in
            (name, Task { try await scheduler.generate(.named(name), logger: .quiet) })
        }
        #expect(await settle { clock.sleeperCount == 2 })
        let probeTime = try #require(clock.nextDeadline)
        clock.advance(to: probeTime)
        #expect(await settle { provider.inFlight == 1 && clock.sleeperCount == 2 })
        let probe = try #require(provider.submissions.last?.prompt)
        let (cancelled, other) = probe == "a" ? (waiting[0].1, waiting[1]) : (waiting[1].1, waiting[0])
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        // The other probes at once: what it waits for now is its submission time (the pacer's
        // spacing), not a probe interval.
        let probesAtOnce = await settle {
            clock.sleeperCount == 1 && clock.nextDeadline.map { probeTime.duration(to: $0) < .seconds(1) } == true
        }
        #expect(probesAtOnce, "the other waits until \(String(describing: clock.nextDeadline))")
        clock.advance(to: try #require(clock.nextDeadline))
        #expect(await settle { provider.inFlight == 1 })
        #expect(provider.submissions.last?.prompt == other.0)
        clock.advance(by: .seconds(10))
        _ = try await other.1.value
        #expect(await scheduler.outage == nil)
    }
}
