import FakeServerKit
import Foundation
import Platform

// Scenarios 5 and 8: an author's saves under `coursegen watch` (the release binary), each
// changing one chapter. The outline is brought up to date with instant answers first; the saves
// then get the scaled Gemini latency. Publication is seen as the daemon's next STATUS= line saying
// the course is up to date, which it sends right after the folder is published.

/// One save and what followed it.
struct EditTiming: Sendable {
    /// Save (the rename onto the outline) to the first chapter request's arrival at the server.
    var toFirstRequest: Duration
    /// Save to the status saying the course is up to date again.
    var toPublished: Duration
    /// The latency the server drew for the request.
    var latency: Duration
    var requests: Int
}

extension WatchRig {
    /// Saves `edits` versions of a `chapters`-chapter outline, each changing one more chapter
    /// (`editedChapters[k]`), and times each one.
    func timeEdits(
        title: String,
        chapters: Int,
        editedChapters: [Int],
        latency: LatencyModel
    ) async throws -> [EditTiming] {
        let path = "\(daemon.inbox)/\(title.lowercased().replacingOccurrences(of: " ", with: "-")).md"
        try BenchOutline.save(BenchOutline.markdown(title: title, chapters: chapters), to: path)
        _ = try await daemon.upToDate(1, timeout: .seconds(300))
        server.answer(after: latency)
        var revisions: [Int: Int] = [:]
        var timings: [EditTiming] = []
        for (number, chapter) in editedChapters.enumerated() {
            revisions[chapter] = number + 1
            let after = daemon.notify.count
            let saved = ContinuousClock.now
            try BenchOutline.save(
                BenchOutline.markdown(title: title, chapters: chapters, revisions: revisions),
                to: path
            )
            let generating = try await daemon.generating(after: after, timeout: .seconds(30))
            let published = try await daemon.upToDate(1, after: generating.index, timeout: .seconds(60))
            let requests = server.chapterRequests(since: saved)
            guard let first = requests.first, let prompt = first.prompt else {
                throw BenchError("the edit of chapter \(chapter) was published without a request")
            }
            timings.append(
                EditTiming(
                    toFirstRequest: first.arrival - saved,
                    toPublished: published.received - saved,
                    latency: latency.latency(prompt: prompt, attempt: first.attempt ?? 1),
                    requests: requests.count
                )
            )
        }
        return timings
    }
}

/// The median of `values` (the mean of the middle two for an even count); zero for none.
func median(_ values: [Duration]) -> Duration {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .zero }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

extension Scenario {
    /// The daemon's debounce in these scenarios (its default), in milliseconds.
    static let debounceMilliseconds = 300
    static let debounce = Duration.milliseconds(debounceMilliseconds)

    static let incremental = Scenario(id: "5", title: "One chapter edited in a 240-chapter outline, under watch") {
        context in
        if let reason = context.skipReason(chapters: 240) {
            return [
                .notRun(
                    "5",
                    "requests per one-chapter edit of a 240-chapter outline",
                    reason,
                    unit: .count,
                    target: .exactly(1)
                )
            ]
        }
        let rig = try await WatchRig.start(
            context,
            name: "incremental",
            arguments: context.watchLimits(requestsPerMinute: QuotaTier.tier1.requestsPerMinute)
                + ["--debounce-ms", "\(Scenario.debounceMilliseconds)"]
        )
        let timings = try await rig.using { rig in
            try await rig.timeEdits(
                title: "Incremental 240",
                chapters: 240,
                editedChapters: [37, 120, 200, 1, 240],
                latency: try LatencyModel(spec: context.chapterLatencySpec(seed: 5))
            )
        }
        let published = median(timings.map(\.toPublished))
        let own = median(timings.map { $0.toPublished - Scenario.debounce - $0.latency })
        return [
            Figure(
                "5",
                "requests per one-chapter edit of a 240-chapter outline (most of \(timings.count) edits)",
                Double(timings.map(\.requests).max() ?? 0),
                .count,
                target: .exactly(1)
            ),
            Figure(
                "5",
                "save → published, 240 chapters (median of \(timings.count))",
                published.milliseconds,
                .milliseconds,
                detail: "debounce \(Scenario.debounce.millisecondsText) + the chapter's drawn latency (median "
                    + "\(median(timings.map(\.latency)).millisecondsText) at this scale) + coursegen's own time"
            ),
            Figure(
                "5",
                "coursegen's own time in it: parse, 240 keys, plan, request, publish (median)",
                own.milliseconds,
                .milliseconds
            ),
        ]
    }

    static let saveToRequest = Scenario(id: "8", title: "Save to first request and to publication, under watch") {
        context in
        let rig = try await WatchRig.start(
            context,
            name: "save",
            arguments: context.watchLimits(requestsPerMinute: QuotaTier.tier1.requestsPerMinute)
                + ["--debounce-ms", "\(Scenario.debounceMilliseconds)"]
        )
        let timings = try await rig.using { rig in
            try await rig.timeEdits(
                title: "Save to request",
                chapters: 3,
                editedChapters: Array(repeating: [1, 2, 3], count: 4).flatMap { $0 },
                latency: try LatencyModel(spec: context.chapterLatencySpec(seed: 8))
            )
        }
        let toRequest = median(timings.map(\.toFirstRequest))
        let published = median(timings.map(\.toPublished))
        let settle =
            WatchDaemon.settleArguments.isEmpty
            ? "without --settle (watch has no settle delay yet)" : WatchDaemon.settleArguments.joined(separator: " ")
        return [
            Figure(
                "8",
                "save → first request − debounce, \(settle) (median of \(timings.count))",
                (toRequest - Scenario.debounce).milliseconds,
                .milliseconds,
                target: .below(20),
                detail: "save → first request \(toRequest.millisecondsText) with --debounce-ms "
                    + "\(Scenario.debounceMilliseconds); slowest "
                    + "\((timings.map(\.toFirstRequest).max() ?? .zero).millisecondsText)"
            ),
            Figure(
                "8",
                "save → published, one chapter of 3 (median)",
                published.milliseconds,
                .milliseconds,
                detail: "of which debounce \(Scenario.debounce.millisecondsText) and the chapter's latency (median "
                    + "\(median(timings.map(\.latency)).millisecondsText)); coursegen's own time "
                    + "\(median(timings.map { $0.toPublished - Scenario.debounce - $0.latency }).millisecondsText)"
            ),
        ]
    }
}
