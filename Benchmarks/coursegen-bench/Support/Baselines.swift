import Generation
import Providers

/// What people write instead of coursegen, as plain loops over the same provider, HTTP client
/// and request bodies, without its scheduler: one request after another, or a fixed-delay pool.
enum Baselines {
    /// What a baseline run did.
    struct Outcome: Sendable {
        var makespan: Duration
        var failures: Int
    }

    /// One request at a time, in order.
    static func sequential(_ requests: [ChapterRequest], provider: GeminiProvider) async -> Outcome {
        let start = ContinuousClock.now
        var failures = 0
        for request in requests {
            do {
                _ = try await provider.generate(request, timeout: .seconds(300)) { _ in }
            } catch {
                failures += 1
            }
        }
        return Outcome(makespan: ContinuousClock.now - start, failures: failures)
    }

    /// The fixed-delay pool: a submitter hands request k to a pool of `workers` after waiting
    /// `delays[k - 1]` since the previous one, whatever the answers do (as with Python's
    /// `ThreadPoolExecutor.submit` and a `sleep(random.uniform(0.1, 0.5))`); each worker takes the
    /// oldest request handed over. No retries: a failure counts as one.
    static func pool(
        _ requests: [ChapterRequest],
        provider: GeminiProvider,
        workers: Int,
        delays: [Duration]
    ) async -> Outcome {
        let queue = JobQueue<ChapterRequest>()
        let start = ContinuousClock.now
        let failures = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for (index, request) in requests.enumerated() {
                    if index > 0 { try? await Task.sleep(for: delays[index - 1]) }
                    await queue.put(request)
                }
                await queue.finish()
                return 0
            }
            for _ in 0..<max(workers, 1) {
                group.addTask {
                    var failures = 0
                    while let request = await queue.take() {
                        do {
                            _ = try await provider.generate(request, timeout: .seconds(300)) { _ in }
                        } catch {
                            failures += 1
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        return Outcome(makespan: ContinuousClock.now - start, failures: failures)
    }
}

/// A first-in, first-out queue that many tasks take from; `take` waits for an element and
/// returns nil once the queue is finished and empty.
actor JobQueue<Element: Sendable> {
    private var elements: [Element] = []
    private var takers: [CheckedContinuation<Element?, Never>] = []
    private var isFinished = false

    func put(_ element: Element) {
        if takers.isEmpty {
            elements.append(element)
        } else {
            takers.removeFirst().resume(returning: element)
        }
    }

    func finish() {
        isFinished = true
        for taker in takers { taker.resume(returning: nil) }
        takers = []
    }

    func take() async -> Element? {
        if !elements.isEmpty { return elements.removeFirst() }
        if isFinished { return nil }
        return await withCheckedContinuation { takers.append($0) }
    }
}
