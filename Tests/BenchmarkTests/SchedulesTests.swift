import FakeServerKit
import Generation
import Testing

@testable import coursegen_bench
import Platform

@Suite("The schedules a makespan is compared with")
struct SchedulesTests {
    private func seconds(_ values: [Double]) -> [Duration] { values.map { .seconds($0) } }

    @Test(
        "the greedy schedule starts each job, in order, on the slot that frees first",
        arguments: [
            ([3, 1, 1, 1], 2, 3.0),
            ([1, 1, 1, 1], 2, 2.0),
            ([1, 1, 1, 3], 2, 4.0),
            ([5], 8, 5.0),
            ([2, 2, 2], 1, 6.0),
            ([], 8, 0.0),
        ] as [([Double], Int, Double)]
    )
    func greedy(latencies: [Double], slots: Int, makespan: Double) {
        #expect(Schedules.greedyMakespan(latencies: seconds(latencies), slots: slots) == .seconds(makespan))
    }

    @Test("the quota bound is (N − 1) spacings of 60 s / rpm plus the last latency")
    func quotaBound() {
        let latencies = seconds(Array(repeating: 10, count: 11) + [25])
        #expect(Schedules.quotaBound(latencies: latencies, requestsPerMinute: 10) == .seconds(11 * 6 + 25))
        #expect(Schedules.quotaBound(latencies: [], requestsPerMinute: 10) == .zero)
    }

    @Test("the ideal is the larger bound, and says which one binds")
    func ideal() {
        // 12 chapters of 25 s: at 10 RPM the quota binds (91 s > 50 s on 8 slots) ...
        let chapters = Array(repeating: Duration.seconds(25), count: 12)
        let free = Schedules.ideal(latencies: chapters, slots: 8, requestsPerMinute: 10)
        #expect(free.value == .seconds(91))
        #expect(free.binding == "quota")
        // ... at 1000 RPM the slots do: two rounds of 25 s.
        let paid = Schedules.ideal(latencies: chapters, slots: 8, requestsPerMinute: 1000)
        #expect(paid.value == .seconds(50))
        #expect(paid.binding == "slots")
    }

    @Test(
        "the fixed-delay pool runs each job from its arrival on the first free worker",
        arguments: [(1, 3.0), (2, 2.0), (3, 1.6)]
    )
    func pool(workers: Int, makespan: Double) {
        let arrivals = seconds([0, 0.3, 0.6])
        let latencies = seconds([1, 1, 1])
        let result = Schedules.poolMakespan(latencies: latencies, arrivals: arrivals, workers: workers)
        #expect(abs((result - .seconds(makespan)).seconds) < 1e-9)
    }

    @Test("arrivals add up the delays, the first at zero")
    func arrivals() {
        #expect(Schedules.arrivals(delays: seconds([0.1, 0.2])) == seconds([0, 0.1, 0.3]))
        #expect(Schedules.arrivals(delays: []) == [.zero])
    }

    @Test("the pool's delays are seeded: the same seed gives the same delays, each within its range")
    func poolDelays() {
        let delays = PoolDelays(seed: 2).delays(jobs: 30)
        #expect(delays.count == 29)
        #expect(delays == PoolDelays(seed: 2).delays(jobs: 30))
        #expect(delays != PoolDelays(seed: 3).delays(jobs: 30))
        #expect(delays.allSatisfy { $0 >= .milliseconds(100) && $0 <= .milliseconds(500) })
        let scaled = PoolDelays(timeScale: 0.01, seed: 2).delays(jobs: 30)
        #expect(scaled.allSatisfy { $0 >= .milliseconds(1) && $0 <= .milliseconds(5) })
        #expect(PoolDelays(seed: 2).delays(jobs: 1).isEmpty)
    }

    @Test("scenario 2's target is reachable: a perfect schedule is about 0.46 of the pool of 8")
    func baselineTargetIsReachable() throws {
        // The scenario's own draws: 30 latencies of 1 s ± 0.2 s and the pool's seeded delays.
        let model = try LatencyModel(spec: "uniform:min=0.8,max=1.2,seed=2")
        let latencies = (1...30).map { model.latency(prompt: "chapter \($0)", attempt: 1) }
        let arrivals = Schedules.arrivals(delays: PoolDelays(seed: 2).delays(jobs: 30))
        let pool = Schedules.poolMakespan(latencies: latencies, arrivals: arrivals, workers: 8)
        let perfect = Schedules.greedyMakespan(latencies: latencies, slots: 8)
        #expect((0.38...0.52).contains(perfect / pool), "perfect \(perfect), pool \(pool)")
    }

    @Test("the median of an odd count is the middle value, of an even count the mean of the middle two")
    func medians() {
        #expect(median(seconds([3, 1, 2])) == .seconds(2))
        #expect(median(seconds([4, 1, 2, 3])) == .seconds(2.5))
        #expect(median([]) == .zero)
    }

    @Test("the scaled scheduler divides rpm and tpm by the scale and multiplies backoff and timeout by it")
    func scaledScheduler() {
        let configuration = Scheduler.Configuration.scaled(requestsPerMinute: 10, timeScale: 0.01)
        #expect(configuration.concurrency == 8)
        #expect(configuration.requestsPerMinute == 1000)
        #expect(configuration.inputTokensPerMinute == 100_000_000)
        #expect(configuration.backoff.initial == .milliseconds(10))
        #expect(configuration.backoff.maximum == .milliseconds(600))
        #expect(configuration.requestTimeout == .seconds(3))
    }
}
