import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import Testing

@testable import Generation

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
            HTTPClientError.connectTimeout,
            HTTPClientError.remoteConnectionClosed,
        ]
        for error in unavailable {
            let classified = ProviderTransport.transportError(error, timeout: .seconds(300))
            #expect(Breaker.Outcome(classified) == .unavailable, "\(classified)")
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
