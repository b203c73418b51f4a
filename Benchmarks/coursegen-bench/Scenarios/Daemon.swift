import FakeServerKit
import Foundation
import Generation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

// Scenarios 6 and 7: the daemon at scale and at rest, measured from /proc and from the fake
// server's own counters.

/// Scenario 6's size and limits.
struct ScaleParameters: Sendable {
    var outlines = 1000
    var chaptersPerOutline = 10
    var concurrency = 64
    /// The quota at real time; the server enforces it per scaled window and the daemon's --rpm is
    /// set to it.
    var requestsPerMinute = 150
}

extension Scenario {
    static let scale = Scenario(id: "6", title: "Many outlines × 10 chapters dropped into the inbox at once") {
        context in
        let parameters = ScaleParameters(outlines: context.scaleOutlines)
        let chapters = parameters.outlines * parameters.chaptersPerOutline
        let window = Duration.seconds(60 * context.timeScale)
        let rig = try await WatchRig.start(
            context,
            name: "scale",
            arguments: context.watchLimits(
                concurrency: parameters.concurrency,
                requestsPerMinute: parameters.requestsPerMinute
            ),
            quota: QuotaPolicy(requestsPerWindow: parameters.requestsPerMinute, window: window)
        )
        return try await rig.using { rig in
            let latency = try LatencyModel(spec: context.chapterLatencySpec(seed: 6))
            rig.server.answer(after: latency)
            // Written beside the inbox, on the same file system, then renamed in one after another.
            let staging = "\(rig.folder)/staging"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            var latencies: [Duration] = []
            var prompts: Set<String> = []
            for number in 1...parameters.outlines {
                let text = BenchOutline.markdown(title: "Scale \(number)", chapters: parameters.chaptersPerOutline)
                try Data(text.utf8).write(to: URL(fileURLWithPath: "\(staging)/course-\(number).md"))
                for request in BenchOutline.requests(for: try BenchOutline.parse(text)) {
                    latencies.append(latency.latency(prompt: request.prompt, attempt: 1))
                    prompts.insert(request.prompt)
                }
            }
            guard let before = rig.daemon.child.times() else { throw BenchError("the daemon is gone") }
            let after = rig.daemon.notify.count
            let dropped = ContinuousClock.now
            for number in 1...parameters.outlines {
                guard rename("\(staging)/course-\(number).md", "\(rig.daemon.inbox)/course-\(number).md") == 0 else {
                    throw BenchError("cannot move outline \(number) into the inbox")
                }
            }
            let done = try await rig.daemon.upToDate(parameters.outlines, after: after, timeout: .seconds(900))
            let makespan = done.received - dropped
            guard let end = rig.daemon.child.times(), let memory = rig.daemon.child.status() else {
                throw BenchError("the daemon is gone")
            }
            let statistics = rig.server.server.statistics
            let chapterRequests = statistics.chapterRequestCount
            let ideal = Schedules.ideal(
                latencies: latencies,
                slots: parameters.concurrency,
                requestsPerMinute: context.scaledRequestsPerMinute(parameters.requestsPerMinute)
            )
            let cpu = Double(end.totalTicks - before.totalTicks) / Double(sysconf(Int32(_SC_CLK_TCK)))
            let sawPrompts = Set(statistics.requestsByPrompt.keys) == prompts
            let label = "\(parameters.outlines) × \(parameters.chaptersPerOutline)"
            return [
                Figure(
                    "6",
                    "makespan / ideal, \(label) chapters, concurrency \(parameters.concurrency), "
                        + "\(parameters.requestsPerMinute) RPM",
                    makespan / ideal.value,
                    .ratio,
                    target: .atMost(1.5),
                    detail: "\(makespan.text) against an ideal of \(ideal.value.text) (quota bound "
                        + "\(ideal.quotaBound.text), \(parameters.concurrency) slots \(ideal.slotBound.text))"
                        + (sawPrompts ? "" : "; WARNING: the server saw other prompts than the ideal was computed for")
                ),
                Figure(
                    "6",
                    "peak resident memory of the daemon (VmHWM), \(label)",
                    Double(memory.peakResidentBytes) / 1e6,
                    .megabytes,
                    detail: "\(memory.threads) threads at the end"
                ),
                Figure(
                    "6",
                    "CPU per chapter (daemon's user + system)",
                    cpu / Double(chapters) * 1000,
                    .milliseconds,
                    detail: String(format: "%.1f s of CPU for %d chapters", cpu, chapters)
                ),
                Figure(
                    "6",
                    "most requests in flight at the server",
                    Double(statistics.maxInFlight),
                    .count,
                    target: .atMost(Double(parameters.concurrency))
                ),
                Figure(
                    "6",
                    "most requests the server admitted in one quota window",
                    Double(statistics.maxAdmittedPerWindow),
                    .count,
                    target: .atMost(Double(parameters.requestsPerMinute)),
                    detail: "the server's sliding window is 60 s × the scale; \(statistics.rateLimitedCount) 429s"
                ),
                Figure(
                    "6",
                    "chapter requests for \(chapters) chapters",
                    Double(chapterRequests),
                    .count,
                    target: .exactly(Double(chapters))
                ),
            ]
        }
    }

    static let idle = Scenario(id: "7", title: "An idle daemon over 500 up-to-date outlines") { context in
        let outlines = 500
        let limits = context.watchLimits(concurrency: 32, requestsPerMinute: 10_000)

        // The baseline: the same daemon with an empty inbox.
        let empty = try await WatchRig.start(context, name: "idle-empty", arguments: limits, watchdog: true)
        let emptyMemory = try await empty.using { rig in try await rig.settledMemory() }

        let server = try await WatchServer.start(apiKey: context.apiKey)
        do {
            let figures = try await idleFigures(
                context,
                server: server,
                outlines: outlines,
                limits: limits,
                empty: emptyMemory
            )
            await server.shutdown()
            return figures
        } catch {
            await server.shutdown()
            throw error
        }
    }

    /// Scenario 7 after its baseline: `outlines` outlines brought up to date by a first daemon
    /// with instant answers, then a second daemon timed from its start to READY (its start-up scan
    /// finds everything up to date) and watched while idle.
    private static func idleFigures(
        _ context: BenchContext,
        server: WatchServer,
        outlines: Int,
        limits: [String],
        empty: ProcFS.Status
    ) async throws -> [Figure] {
        let folder = try context.makeFolder("idle")
        let first = try WatchDaemon(
            binary: context.coursegen,
            folder: folder,
            baseURL: server.baseURL,
            apiKey: context.apiKey,
            arguments: limits
        )
        do {
            _ = try await first.ready()
            for number in 1...outlines {
                let text = BenchOutline.markdown(title: "Idle \(number)", chapters: 2)
                try BenchOutline.save(text, to: "\(first.inbox)/course-\(number).md")
            }
            _ = try await first.upToDate(outlines, timeout: .seconds(600))
            await first.stop()
        } catch {
            await first.stop()
            throw error
        }

        let daemon = try WatchDaemon(
            binary: context.coursegen,
            folder: folder,
            baseURL: server.baseURL,
            apiKey: context.apiKey,
            arguments: limits,
            watchdog: true
        )
        let requestsBefore = server.server.statistics.requestCount
        do {
            let ready = try await daemon.ready()
            let startToReady = ready - daemon.child.started
            let settled = try await daemon.settledMemory()
            guard let cpuBefore = daemon.child.times() else { throw BenchError("the daemon is gone") }
            let pingsBefore = daemon.notify.messages.filter { $0.value(of: "WATCHDOG") == "1" }.count
            try await Task.sleep(for: .seconds(context.idleSeconds))
            guard let cpuAfter = daemon.child.times(), let memory = daemon.child.status() else {
                throw BenchError("the daemon is gone")
            }
            let pings = daemon.notify.messages.filter { $0.value(of: "WATCHDOG") == "1" }.count - pingsBefore
            let requests = server.server.statistics.requestCount - requestsBefore
            await daemon.stop()
            let ticks = cpuAfter.totalTicks - cpuBefore.totalTicks
            let perOutline = Double(settled.anonymousBytes - empty.anonymousBytes) / Double(outlines)
            return [
                Figure(
                    "7",
                    "resident memory, idle over \(outlines) outlines",
                    Double(memory.residentBytes) / 1e6,
                    .megabytes,
                    target: .below(30),
                    detail: String(
                        format: "%.1f MB anonymous + %.1f MB file-backed (code and libraries); %d threads",
                        Double(memory.anonymousBytes) / 1e6,
                        Double(memory.fileBytes) / 1e6,
                        memory.threads
                    )
                ),
                Figure(
                    "7",
                    "anonymous memory per watched outline",
                    perOutline / 1000,
                    .kilobytes,
                    target: .below(20),
                    detail: String(
                        format: "RssAnon %.1f MB with %d outlines, %.1f MB with none, %d s after READY",
                        Double(settled.anonymousBytes) / 1e6,
                        outlines,
                        Double(empty.anonymousBytes) / 1e6,
                        WatchDaemon.settleSeconds
                    )
                ),
                Figure(
                    "7",
                    "CPU over \(context.idleSeconds) s idle",
                    Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK))),
                    .seconds,
                    target: .exactly(0),
                    detail: "\(ticks) clock ticks of 10 ms; \(pings) watchdog pings (WatchdogSec=30s) and "
                        + "\(requests) requests meanwhile"
                ),
                Figure(
                    "7",
                    "start → READY over \(outlines) up-to-date outlines",
                    startToReady.milliseconds,
                    .milliseconds
                ),
            ]
        } catch {
            await daemon.stop()
            throw error
        }
    }
}

extension WatchDaemon {
    /// How long after READY memory is read: the start-up scan's allocations have been freed.
    static let settleSeconds = 5

    /// Memory `settleSeconds` after READY=1.
    func settledMemory() async throws -> ProcFS.Status {
        let ready = try await ready()
        try await Task.sleep(until: ready + .seconds(Self.settleSeconds))
        guard let status = child.status() else { throw BenchError("the daemon is gone") }
        return status
    }
}

extension WatchRig {
    func settledMemory() async throws -> ProcFS.Status {
        try await daemon.settledMemory()
    }
}
