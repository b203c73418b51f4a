/// The schedules a measured makespan is compared with, computed from the very latencies the fake
/// server draws. Pure: latencies and limits in, durations out.
enum Schedules {
    /// The two lower bounds of a run, and the larger one, which is its ideal.
    struct Ideal: Sendable, Hashable {
        /// `(N − 1) · 60 s / rpm` plus the latency of the chapter submitted last: no run that
        /// respects the quota can end sooner.
        var quotaBound: Duration
        /// The greedy schedule on the in-flight cap: no run with that cap can end sooner.
        var slotBound: Duration

        var value: Duration { max(quotaBound, slotBound) }

        /// Which bound is the ideal: "quota" or "slots".
        var binding: String { quotaBound >= slotBound ? "quota" : "slots" }
    }

    /// The ideal makespan of `latencies` (in submission order) under `requestsPerMinute` and
    /// `slots` requests in flight: `max((N − 1) · 60 s / rpm + latency of the last, greedy(slots))`.
    static func ideal(latencies: [Duration], slots: Int, requestsPerMinute: Int) -> Ideal {
        Ideal(
            quotaBound: quotaBound(latencies: latencies, requestsPerMinute: requestsPerMinute),
            slotBound: greedyMakespan(latencies: latencies, slots: slots)
        )
    }

    /// `(N − 1) · 60 s / rpm` plus the last latency; zero for no latencies.
    static func quotaBound(latencies: [Duration], requestsPerMinute: Int) -> Duration {
        guard let last = latencies.last else { return .zero }
        return .seconds(60) / max(requestsPerMinute, 1) * (latencies.count - 1) + last
    }

    /// List scheduling: the jobs, in order, each start on the slot that frees first; the makespan
    /// is when the last one ends. This is what a scheduler with `slots` in flight and no pacing
    /// does with perfect knowledge of when slots free, and it cannot know more than that.
    static func greedyMakespan(latencies: [Duration], slots: Int) -> Duration {
        poolMakespan(latencies: latencies, arrivals: Array(repeating: .zero, count: latencies.count), workers: slots)
    }

    /// The fixed-delay pool: job `k` is handed to the pool at `arrivals[k]` and runs on the first
    /// worker free from then on, in order of arrival. Returns when the last job ends.
    static func poolMakespan(latencies: [Duration], arrivals: [Duration], workers: Int) -> Duration {
        precondition(latencies.count == arrivals.count, "one arrival per latency")
        var freeAt = Array(repeating: Duration.zero, count: max(workers, 1))
        var end = Duration.zero
        for (latency, arrival) in zip(latencies, arrivals) {
            // The first worker to free; ties go to the lowest index, which changes no makespan.
            let worker = freeAt.indices.min { freeAt[$0] < freeAt[$1] }!
            let start = max(freeAt[worker], arrival)
            freeAt[worker] = start + latency
            end = max(end, freeAt[worker])
        }
        return end
    }

    /// When each submission reaches the pool: the first at zero, each next one `delays[k]` after
    /// the one before (so `delays` holds one fewer element than there are jobs).
    static func arrivals(delays: [Duration]) -> [Duration] {
        var time = Duration.zero
        var result: [Duration] = [.zero]
        for delay in delays {
            time += delay
            result.append(time)
        }
        return result
    }
}

/// SplitMix64: a small seeded generator, so a baseline's random delays (and the scheduler's
/// jitter) are the same on every run.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var value = state
        value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
        value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
        return value ^ (value >> 31)
    }
}

/// The waits of the fixed-delay pool, the naive way to stay under a quota: a random delay
/// between consecutive submissions, whatever the answers do.
struct PoolDelays: Sendable, Hashable {
    /// Shortest and longest wait between two submissions.
    var range: ClosedRange<Double>
    var seed: UInt64

    /// The usual 0.1–0.5 s, multiplied by `timeScale`.
    init(timeScale: Double = 1, seed: UInt64) {
        range = (0.1 * timeScale)...(0.5 * timeScale)
        self.seed = seed
    }

    /// The `jobs − 1` waits between `jobs` submissions, the same for the same seed.
    func delays(jobs: Int) -> [Duration] {
        var generator = SeededGenerator(seed: seed)
        return (0..<max(jobs - 1, 0)).map { _ in .seconds(Double.random(in: range, using: &generator)) }
    }
}
