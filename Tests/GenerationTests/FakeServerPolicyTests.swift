import FakeGemini
import FakeServerKit
import Testing
import Platform

// The pure decisions of the fake servers, without sockets or clocks: duration formats, latency
// draws, the sliding-window quota, storms, and how replies are cut into writes.

@Suite("Fake server policies")
struct FakeServerPolicyTests {
    // MARK: Duration formats

    @Test(
        "retryDelay uses protobuf's JSON duration: 0, 3, 6 or 9 fractional digits",
        arguments: [
            (Duration.seconds(15), "15s"), (.milliseconds(500), "0.500s"),
            (.nanoseconds(11_769_242_877), "11.769242877s"),
            (.microseconds(1_000_001), "1.000001s"), (.zero, "0s"), (.seconds(-3), "0s"),
        ]
    )
    func protobufDuration(duration: Duration, expected: String) {
        #expect(DurationFormat.protobuf(duration) == expected)
    }

    @Test(
        "Gemini's message quotes the delay with three decimals, rounded up",
        arguments: [
            (Duration.nanoseconds(11_769_242_877), "11.770s"), (.seconds(39), "39.000s"), (.milliseconds(1), "0.001s"),
            (.zero, "0.000s"),
        ]
    )
    func messageDuration(duration: Duration, expected: String) {
        #expect(DurationFormat.milliseconds3(duration) == expected)
    }

    @Test(
        "OpenAI's reset headers use Go's duration format",
        arguments: [
            (Duration.milliseconds(20), "20ms"), (.seconds(1), "1s"), (.milliseconds(8640), "8.64s"),
            (.seconds(360), "6m0s"), (.milliseconds(179_560), "2m59.56s"), (.milliseconds(3_723_500), "1h2m3.5s"),
            (.zero, "0s"), (.microseconds(1), "1ms"),
        ]
    )
    func goDuration(duration: Duration, expected: String) {
        #expect(DurationFormat.go(duration) == expected)
    }

    @Test("Retry-After rounds up to whole seconds and retry-after-ms to milliseconds")
    func retryAfterValues() {
        #expect(DurationFormat.retryAfterSeconds(.milliseconds(1200)) == 2)
        #expect(DurationFormat.retryAfterSeconds(.seconds(3)) == 3)
        #expect(DurationFormat.retryAfterSeconds(.zero) == 0)
        #expect(DurationFormat.retryAfterMilliseconds(.microseconds(1500)) == 2)
    }

    // MARK: Latency

    @Test("the Gemini Flash chapter model has a 25 s median, stays within 12-90 s, and is right-skewed")
    func geminiFlashDistribution() {
        let model = LatencyModel.geminiFlashChapter()
        let draws = (0..<4000).map { DurationFormat.seconds(model.latency(prompt: "chapter \($0)", attempt: 1)) }
            .sorted()
        let median = draws[draws.count / 2]
        #expect(abs(median - 25) < 25 * 0.05, "median \(median)")
        #expect(draws.first! >= 12 && draws.last! <= 90)
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(mean > median, "a long right tail pulls the mean above the median")
        let inRange = draws.filter { (15...60).contains($0) }.count
        #expect(Double(inRange) / Double(draws.count) > 0.8, "most chapters take 15-60 s")
    }

    @Test("latency draws are reproducible by seed, differ across seeds and attempts, and scale")
    func latencyReproducible() {
        let model = LatencyModel.geminiFlashChapter(seed: 7)
        let again = LatencyModel.geminiFlashChapter(seed: 7)
        let other = LatencyModel.geminiFlashChapter(seed: 8)
        let scaled = LatencyModel.geminiFlashChapter(timeScale: 0.01, seed: 7)
        let prompts = (0..<200).map { "chapter \($0)" }
        #expect(
            prompts.map { model.latency(prompt: $0, attempt: 1) }
                == prompts.map { again.latency(prompt: $0, attempt: 1) }
        )
        #expect(
            prompts.map { model.latency(prompt: $0, attempt: 1) }
                != prompts.map { other.latency(prompt: $0, attempt: 1) }
        )
        #expect(
            prompts.map { model.latency(prompt: $0, attempt: 1) }
                != prompts.map { model.latency(prompt: $0, attempt: 2) }
        )
        for prompt in prompts {
            let full = DurationFormat.seconds(model.latency(prompt: prompt, attempt: 1))
            let small = DurationFormat.seconds(scaled.latency(prompt: prompt, attempt: 1))
            #expect(abs(small - full / 100) < 1e-6)
        }
    }

    @Test("a uniform distribution covers its range evenly; a fixed one never varies")
    func uniformAndFixed() {
        let uniform = LatencyModel(.uniform(min: .milliseconds(800), max: .milliseconds(1200)), seed: 3)
        let draws = (0..<4000).map { DurationFormat.seconds(uniform.latency(prompt: "p\($0)", attempt: 1)) }
        #expect(draws.allSatisfy { (0.8...1.2).contains($0) })
        let lowHalf = draws.filter { $0 < 1.0 }.count
        #expect(abs(Double(lowHalf) / Double(draws.count) - 0.5) < 0.05)
        let fixed = LatencyModel.fixed(.milliseconds(300))
        #expect(Set((0..<50).map { fixed.latency(prompt: "p\($0)", attempt: $0) }) == [.milliseconds(300)])
    }

    @Test("a streamed reply's timing splits the latency at the first-event share")
    func streamTiming() {
        let model = LatencyModel(.fixed(.seconds(20)), firstEventShare: 0.25)
        let (first, streaming) = model.streamTiming(prompt: "p", attempt: 1)
        #expect(first == .seconds(5))
        #expect(streaming == .seconds(15))
    }

    struct SpecCase: Sendable, CustomTestStringConvertible {
        var spec: String
        var model: LatencyModel?
        var error: String?
        var testDescription: String { spec }
    }

    static let specCases: [SpecCase] = [
        SpecCase(spec: "fixed:0.3", model: LatencyModel(.fixed(.milliseconds(300)))),
        SpecCase(spec: "fixed:seconds=2", model: LatencyModel(.fixed(.seconds(2)))),
        SpecCase(
            spec: "uniform:min=0.8,max=1.2,seed=4",
            model: LatencyModel(.uniform(min: .milliseconds(800), max: .milliseconds(1200)), seed: 4)
        ),
        SpecCase(
            spec: "lognormal:median=25,scale=0.01",
            model: LatencyModel(
                .logNormal(median: .seconds(25), sigma: 0.45, min: .zero, max: .seconds(86_400)),
                timeScale: 0.01
            )
        ),
        SpecCase(
            spec: "gemini-flash:scale=0.01,first=0.5",
            model: {
                var model = LatencyModel.geminiFlashChapter(timeScale: 0.01)
                model.firstEventShare = 0.5
                return model
            }()
        ),
        SpecCase(spec: "normal:mean=3", error: "unknown kind \"normal\""),
        SpecCase(spec: "uniform:min=2", error: "uniform needs max=SECONDS"),
        SpecCase(spec: "uniform:min=2,max=1", error: "min= must not exceed max="),
        SpecCase(spec: "lognormal:median=25,mu=3", error: "lognormal takes no mu="),
        SpecCase(spec: "fixed:abc", error: "\"abc\" is not KEY=VALUE"),
        SpecCase(spec: "fixed:seconds=-1", error: "seconds=-1 is not a number of 0 or more"),
        SpecCase(spec: "gemini-flash:first=1.5", error: "first= is a share between 0 and 1"),
    ]

    @Test("--latency specifications parse into models, and bad ones say what to write", arguments: specCases)
    func latencySpec(_ testCase: SpecCase) {
        do {
            let model = try LatencyModel(spec: testCase.spec)
            #expect(testCase.error == nil, "expected an error for \(testCase.spec)")
            #expect(model == testCase.model)
        } catch {
            guard let expected = testCase.error else {
                Issue.record("unexpected error: \(error.message)")
                return
            }
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    // MARK: Quota

    @Test("the sliding window admits its limit, then says when one more fits, and forgets expired requests")
    func slidingWindow() {
        let start = ContinuousClock.now
        var limiter = QuotaLimiter(policy: .requestsPerMinute(3, window: .seconds(10)), start: start)
        #expect(limiter.admit(tokens: 0, at: start) == nil)
        #expect(limiter.admit(tokens: 0, at: start + .seconds(2)) == nil)
        #expect(limiter.admit(tokens: 0, at: start + .seconds(4)) == nil)
        let rejected = limiter.admit(tokens: 0, at: start + .seconds(5))
        #expect(rejected == QuotaRejection(rule: .requestQuota, limit: 3, retryAfter: .seconds(5)))
        // At 10 s the first request has left the window (it counted for [0, 10)).
        #expect(limiter.admit(tokens: 0, at: start + .seconds(10)) == nil)
        let next = limiter.admit(tokens: 0, at: start + .seconds(11))
        #expect(next?.retryAfter == .seconds(1))
        #expect(limiter.maxAdmittedPerWindow == 3)
        let snapshot = limiter.snapshot(at: start + .seconds(11))
        #expect(snapshot.requests == .init(limit: 3, remaining: 0, reset: .seconds(9)))
    }

    @Test("a token quota counts each request's tokens and waits for enough of them to expire")
    func tokenWindow() {
        let start = ContinuousClock.now
        var limiter = QuotaLimiter(policy: QuotaPolicy(tokensPerWindow: 1000, window: .seconds(60)), start: start)
        #expect(limiter.admit(tokens: 600, at: start) == nil)
        #expect(limiter.admit(tokens: 300, at: start + .seconds(10)) == nil)
        let rejected = limiter.admit(tokens: 200, at: start + .seconds(20))
        #expect(rejected == QuotaRejection(rule: .tokenQuota, limit: 1000, retryAfter: .seconds(40)))
        #expect(limiter.snapshot(at: start + .seconds(20)).tokens?.remaining == 100)
        #expect(limiter.admit(tokens: 5000, at: start + .seconds(20))?.retryAfter == .seconds(60))
    }

    @Test("a per-day quota is a fixed window from the start and says when the day ends")
    func dailyQuota() {
        let start = ContinuousClock.now
        var limiter = QuotaLimiter(policy: QuotaPolicy(requestsPerDay: 2, dayLength: .seconds(100)), start: start)
        #expect(limiter.admit(tokens: 0, at: start + .seconds(1)) == nil)
        #expect(limiter.admit(tokens: 0, at: start + .seconds(2)) == nil)
        #expect(
            limiter.admit(tokens: 0, at: start + .seconds(30))
                == QuotaRejection(rule: .dailyQuota, limit: 2, retryAfter: .seconds(70))
        )
        #expect(limiter.admit(tokens: 0, at: start + .seconds(100)) == nil)
    }

    // MARK: Storms

    @Test("a storm fails its share of attempts, reproducibly, and runs on its schedule")
    func storm() {
        let storm = StormPolicy(fraction: 0.6, seed: 11, during: .seconds(10)..<(.seconds(40)))
        let decisions = (0..<5000).map { storm.rejects(prompt: "chapter \($0 % 50)", attempt: $0 / 50 + 1) }
        let share = Double(decisions.filter { $0 }.count) / Double(decisions.count)
        #expect(abs(share - 0.6) < 0.03)
        let again = StormPolicy(fraction: 0.6, seed: 11)
        #expect(decisions == (0..<5000).map { again.rejects(prompt: "chapter \($0 % 50)", attempt: $0 / 50 + 1) })
        let other = StormPolicy(fraction: 0.6, seed: 12)
        #expect(decisions != (0..<5000).map { other.rejects(prompt: "chapter \($0 % 50)", attempt: $0 / 50 + 1) })
        #expect(!storm.isScheduled(at: .seconds(9)))
        #expect(storm.isScheduled(at: .seconds(10)))
        #expect(!storm.isScheduled(at: .seconds(40)))
        #expect(!StormPolicy().isScheduled(at: .seconds(1)))
        #expect(!StormPolicy(fraction: 0).rejects(prompt: "p", attempt: 1))
        #expect(StormPolicy(fraction: 1).rejects(prompt: "p", attempt: 1))
    }

    // MARK: Splitting and schedules

    @Test("the adversarial split cuts inside every CRLF, between the closing line endings, and inside UTF-8")
    func adversarialSplit() {
        let event = Array("data: {\"text\":\"Grüße\"}\r\n\r\n".utf8)
        let cuts = SplitPolicy.adversarial(seed: 1).cuts(in: event, index: 0)
        let crlf = event.count - 4
        #expect(cuts.contains(crlf + 1))  // "\r" | "\n"
        #expect(cuts.contains(crlf + 2))  // "\r\n" | "\r\n"
        #expect(cuts.contains(crlf + 3))  // second "\r" | "\n"
        let lead = event.firstIndex { $0 >= 0xC0 }!
        #expect(cuts.contains(lead + 1))  // inside "ü"
        #expect(cuts == cuts.sorted() && Set(cuts).count == cuts.count)
        #expect(cuts.allSatisfy { (1..<event.count).contains($0) })

        let lf = Array("data: {}\n\n".utf8)
        #expect(SplitPolicy.adversarial(seed: 1).cuts(in: lf, index: 0).contains(lf.count - 1))
    }

    @Test("seeded cuts are reproducible per event and stay inside it; halves and none are what they say")
    func seededSplit() {
        let event = Array(repeating: UInt8(ascii: "x"), count: 100)
        let policy = SplitPolicy.seeded(seed: 5, cutsPerEvent: 4)
        #expect(policy.cuts(in: event, index: 3) == policy.cuts(in: event, index: 3))
        #expect(policy.cuts(in: event, index: 3) != policy.cuts(in: event, index: 4))
        #expect(policy.cuts(in: event, index: 0).allSatisfy { (1..<100).contains($0) })
        #expect(SplitPolicy.halves.cuts(in: event, index: 0) == [50])
        #expect(SplitPolicy.none.cuts(in: event, index: 0).isEmpty)
        #expect(SplitPolicy.everyByte.cuts(in: event, index: 0) == Array(1..<100))
        #expect(SplitPolicy.halves.cuts(in: [1], index: 0).isEmpty)
    }

    private static func events(_ texts: [String], delay: Duration = .zero) -> WirePlan.Body {
        .events(texts.map { WirePlan.Event(delay: delay, bytes: Array($0.utf8)) })
    }

    @Test("a schedule writes every event, with its delay, in the pieces the split policy says")
    func completeSchedule() {
        let schedule = WireSchedule.make(
            Self.events(["aaaa", "bbbb"], delay: .seconds(1)),
            interruption: nil,
            byteInterval: nil,
            split: .halves
        )
        #expect(schedule.ending == .complete)
        #expect(schedule.steps.map { String(decoding: $0.bytes, as: UTF8.self) } == ["aa", "aa", "bb", "bb"])
        #expect(schedule.steps.map(\.delay) == [.seconds(1), .zero, .seconds(1), .zero])
        #expect(schedule.steps.map(\.eventsComplete) == [0, 1, 1, 2])
        #expect(schedule.contentLength == nil)
    }

    struct InterruptionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var interruption: Interruption
        var written: String
        var ending: WireSchedule.Ending
        var testDescription: String { name }
    }

    static let interruptionCases: [InterruptionCase] = [
        InterruptionCase(
            name: "stall forever after 1",
            interruption: .stall(afterEvents: 1, for: nil),
            written: "aaaa",
            ending: .silent
        ),
        InterruptionCase(
            name: "stall forever at once",
            interruption: .stall(afterEvents: 0, for: nil),
            written: "",
            ending: .silent
        ),
        InterruptionCase(
            name: "pause, then the rest",
            interruption: .stall(afterEvents: 1, for: .seconds(5)),
            written: "aaaabbbbcccc",
            ending: .complete
        ),
        InterruptionCase(
            name: "cut in the second event",
            interruption: .cut(afterEvents: 1),
            written: "aaaabb",
            ending: .closed
        ),
        InterruptionCase(
            name: "cut after the last event",
            interruption: .cut(afterEvents: 3),
            written: "aaaabbbbcccc",
            ending: .closed
        ),
        InterruptionCase(
            name: "truncated after 2",
            interruption: .truncate(afterEvents: 2),
            written: "aaaabbbb",
            ending: .truncated
        ),
        InterruptionCase(
            name: "truncate past the end",
            interruption: .truncate(afterEvents: 9),
            written: "aaaabbbbcccc",
            ending: .complete
        ),
    ]

    @Test("interruptions break a stream where they say", arguments: interruptionCases)
    func interruptedStream(_ testCase: InterruptionCase) {
        let schedule = WireSchedule.make(
            Self.events(["aaaa", "bbbb", "cccc"]),
            interruption: testCase.interruption,
            byteInterval: nil,
            split: .none
        )
        #expect(String(decoding: schedule.steps.flatMap(\.bytes), as: UTF8.self) == testCase.written)
        #expect(schedule.ending == testCase.ending)
    }

    @Test("a pause delays exactly the event after it")
    func pauseDelay() {
        let schedule = WireSchedule.make(
            Self.events(["a", "b", "c"], delay: .milliseconds(10)),
            interruption: .stall(afterEvents: 2, for: .seconds(3)),
            byteInterval: nil,
            split: .none
        )
        #expect(schedule.steps.map(\.delay) == [.milliseconds(10), .milliseconds(10), .milliseconds(3010)])
    }

    @Test("a whole body trickles byte by byte, and breaks in its middle when interrupted")
    func wholeBody() {
        let body = WirePlan.Body.whole(Array("0123456789".utf8))
        let trickle = WireSchedule.make(body, interruption: nil, byteInterval: .milliseconds(5), split: .halves)
        #expect(trickle.steps.count == 10)
        #expect(trickle.steps.map(\.delay) == [.zero] + Array(repeating: .milliseconds(5), count: 9))
        #expect(trickle.contentLength == 10)
        #expect(trickle.steps.last?.eventsComplete == 1)

        let cut = WireSchedule.make(body, interruption: .cut(afterEvents: 0), byteInterval: nil, split: .none)
        #expect(cut.steps.flatMap(\.bytes) == Array("01234".utf8) && cut.ending == .closed && cut.contentLength == 10)
        let stall = WireSchedule.make(
            body,
            interruption: .stall(afterEvents: 0, for: nil),
            byteInterval: nil,
            split: .none
        )
        #expect(stall.steps.flatMap(\.bytes) == Array("01234".utf8) && stall.ending == .silent)
        let truncated = WireSchedule.make(
            body,
            interruption: .truncate(afterEvents: 0),
            byteInterval: nil,
            split: .none
        )
        #expect(truncated.contentLength == 5 && truncated.ending == .truncated)
    }
}
