import FakeGemini
import FakeServerKit
import Foundation
import TestSupport
import Testing

@testable import Generation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// The campaign of RELIABILITY.md, against the real binary: kills at random moments, an API that
/// misbehaves in every way Gemini does, and more. Each case checks that nothing published is
/// ever partial or lost and that nothing stored is paid for twice, and prints its figures.
@Suite(
    "Reliability campaign: kills and a misbehaving API",
    .serialized,
    .enabled(if: Campaign.isEnabled, Campaign.skipped)
)
struct ReliabilityTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// Latencies of 30 to 300 ms, a pure function of the prompt and the attempt: Gemini's 15 to
    /// 60 s, scaled down, so kills land before, during and after answers.
    static func latency(_ request: FakeGeminiServer.Request) -> Duration {
        let seed = request.prompt.utf8.reduce(UInt64(request.attempt)) { $0 &* 31 &+ UInt64($1) }
        return .milliseconds(30 + Campaign.draw(seed, 0, below: 270))
    }

    // MARK: - SIGKILL, again and again

    /// The requests of one killed run that were lost: every request in its window but the one
    /// each answer it stored came from. A request the server reads only after the next run has
    /// begun (the killed process sent it, a loaded server had not read it yet) falls in the next
    /// window and counts there as lost, which it is.
    static func lostRequests(asked: [String], storedBefore: Set<String>, storedAfter: Set<String>) -> Int {
        asked.count - Set(asked).intersection(storedAfter.subtracting(storedBefore)).count
    }

    /// Returns once `server` has seen every connection of a killed process close, so that every
    /// request it sent is counted (a loaded server may still be reading them when the kill
    /// returns).
    static func killedProcessCounted(by server: FakeGeminiServer) async throws {
        try await server.waitUntil { $0.openConnections == 0 }
    }

    @Test(
        "SIGKILL at random moments of generate, again and again: nothing partial is ever visible, nothing stored is asked for again"
    )
    func killLoopGenerate() async throws {
        let kills = Campaign.size(short: 6, long: 20)
        let chapters = 16
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { .success().after(Self.latency($0)) }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: chapters))
        let arguments = [
            "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--concurrency", "4",
        ]
        var lost = 0
        var repeated: [String] = []
        for kill in 0..<kills {
            let storedBefore = Campaign.storedPrompts(in: "\(temp.path)/state")
            let requestsBefore = server.statistics.requests.count
            let running = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
            // From the run's first request (however long the process takes to start on a loaded
            // machine), a random moment: before, during or after answers and publishes.
            if kill % 3 != 0 {
                try? await server.waitUntil(timeout: .seconds(5)) { $0.requests.count > requestsBefore }
            }
            try await Task.sleep(for: .milliseconds(Campaign.draw(7, kill, below: 400)))
            running.signal(SIGKILL)
            _ = await running.wait()
            try await Self.killedProcessCounted(by: server)
            let asked = server.statistics.requests.dropFirst(requestsBefore).compactMap(\.prompt)
            repeated += asked.filter { storedBefore.contains($0) }
            lost += Self.lostRequests(
                asked: asked,
                storedBefore: storedBefore,
                storedAfter: Campaign.storedPrompts(in: "\(temp.path)/state")
            )
        }
        let finalRun = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(finalRun.status == 0, "\(finalRun.standardError.suffix(1500))")
        #expect(repeated.isEmpty, "asked again for stored chapters: \(repeated)")
        let total = server.statistics.chapterRequestCount
        #expect(total <= chapters + lost, "\(total) requests for \(chapters) chapters, \(lost) lost to kills")
        let published = temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }
        #expect(published.count == chapters)
        for (index, name) in published.enumerated() {
            let text = temp.read("out/course/\(name)") ?? ""
            #expect(text.contains("Chapter to write: Chapter \(index + 1)\n"), "\(name)")
            #expect(text.hasSuffix(OutputMonitor.chapterEnding), "\(name) is whole")
        }
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        Campaign.report(
            "SIGKILL during generate",
            [
                ("kills", kills), ("chapters", chapters), ("requests", total), ("lost_in_flight", lost),
                ("published", published.count), ("asked_twice", repeated.count), ("reader_scans", seen.scans),
                ("violations", seen.violations.count),
            ]
        )
    }

    @Test(
        "SIGKILL at random moments of watch, with saves between: the final tree is the last outline's, nothing paid twice"
    )
    func killLoopWatch() async throws {
        let kills = Campaign.size(short: 6, long: 20)
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { .success().after(Self.latency($0)) }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        var marks = (1...8).map { "p\($0)" }
        func outline() -> String { watchedOutline(marks) }
        let course = try temp.write("inbox/course.md", outline())
        let arguments = [
            "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--debounce-ms", "50", "--settle", "0", "--concurrency", "4",
        ]
        var lost = 0
        var repeated: [String] = []
        for kill in 0..<kills {
            let storedBefore = Campaign.storedPrompts(in: "\(temp.path)/state")
            let requestsBefore = server.statistics.requests.count
            let daemon = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
            if kill % 2 == 1 {
                // A save while it runs: one chapter's points change.
                try await Task.sleep(for: .milliseconds(Campaign.draw(11, kill, below: 200)))
                marks[Campaign.draw(13, kill, below: marks.count)] += "x"
                try Save.inPlace(course, outline())
            }
            if kill % 3 != 0 {
                try? await server.waitUntil(timeout: .seconds(5)) { $0.requests.count > requestsBefore }
            }
            try await Task.sleep(for: .milliseconds(Campaign.draw(17, kill, below: 400)))
            daemon.signal(SIGKILL)
            _ = await daemon.wait()
            try await Self.killedProcessCounted(by: server)
            let asked = server.statistics.requests.dropFirst(requestsBefore).compactMap(\.prompt)
            repeated += asked.filter { storedBefore.contains($0) }
            lost += Self.lostRequests(
                asked: asked,
                storedBefore: storedBefore,
                storedAfter: Campaign.storedPrompts(in: "\(temp.path)/state")
            )
        }
        let requestsBefore = server.statistics.requests.count
        let storedBefore = Campaign.storedPrompts(in: "\(temp.path)/state")
        let daemon = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        try await daemon.waitForLines(containing: "outline published  outline=course")
        // A sentinel saved after the catch-up is handled after it.
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        let seen = await monitor.finishWatching()
        try await server.shutdown()
        let asked = server.statistics.requests.dropFirst(requestsBefore).compactMap(\.prompt)
        repeated += asked.filter { storedBefore.contains($0) }

        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(repeated.isEmpty, "asked again for stored chapters: \(repeated)")
        let published = temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }
        #expect(published.count == marks.count)
        for (index, name) in published.enumerated() {
            let text = temp.read("out/course/\(name)") ?? ""
            #expect(text.contains("- Point \(marks[index])\n"), "\(name) is the last outline's")
            #expect(text.hasSuffix(OutputMonitor.chapterEnding), "\(name) is whole")
        }
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        Campaign.report(
            "SIGKILL during watch",
            [
                ("kills", kills), ("saves", kills / 2), ("requests", server.statistics.chapterRequestCount - 1),
                ("lost_in_flight", lost), ("published", published.count), ("asked_twice", repeated.count),
                ("reader_scans", seen.scans), ("violations", seen.violations.count),
            ]
        )
    }

    // MARK: - The API misbehaving

    struct Misbehaviour: Sendable, CustomTestStringConvertible {
        var name: String
        var configuration: @Sendable () -> FakeGeminiServer.Configuration
        var flags: [String]
        /// Chapters (of 6) that must be published, and the exit status.
        var published: Int
        var status: Int32
        /// The most requests the run may make (of 6 chapters).
        var maximumRequests: Int
        /// What standard error must say.
        var says: String
        var chapters = 6
        var testDescription: String { name }
    }

    /// A server down for good holds the chapters for the circuit breaker's longest wait (10 min)
    /// once two of them failed: shrunk to 3 s here, so such a run ends in seconds.
    static let outageScale = "0.005"

    static let misbehaviours: [Misbehaviour] = [
        Misbehaviour(
            name: "half the attempts fail, of every kind",
            configuration: {
                let mix = FakeGeminiServer.FaultMix(
                    faults: [
                        .init(.status(code: 503), probability: 0.15),
                        .init(.status(code: 500), probability: 0.10),
                        .init(.rateLimited(retryDelay: "0.05s"), probability: 0.05),
                        .init(.emptyParts, probability: 0.05),
                        .init(.malformedJSON, probability: 0.05),
                        .init(.connectionReset, probability: 0.05),
                        .init(.htmlPage, probability: 0.05),
                    ],
                    seed: 5,
                    maxFailuresPerPrompt: 3,
                    latency: .milliseconds(20)
                )
                return .init(reply: { mix.reply(for: $0) })
            },
            flags: ["--max-attempts", "6"],
            published: 24,
            status: 0,
            maximumRequests: 24 * 4,
            says: "24 generated",
            chapters: 24
        ),
        Misbehaviour(
            name: "a server that accepts and never answers",
            configuration: { .init(unresponsive: true) },
            flags: ["--request-timeout", "1", "--max-attempts", "2"],
            published: 0,
            status: 1,
            maximumRequests: 0,
            says: "request timeout"
        ),
        Misbehaviour(
            name: "answers that hang after the headers",
            configuration: { .init(reply: { _ in .hang }) },
            flags: ["--request-timeout", "1", "--stall-timeout", "1", "--max-attempts", "2"],
            published: 0,
            status: 1,
            maximumRequests: 6 * 2,
            says: "Chapter 1"
        ),
        Misbehaviour(
            name: "a byte a second",
            configuration: { .init(reply: { _ in .success().trickled(every: .seconds(1)) }) },
            flags: ["--request-timeout", "2", "--max-attempts", "2"],
            published: 0,
            status: 1,
            maximumRequests: 6 * 2,
            says: "Chapter 1"
        ),
        Misbehaviour(
            name: "200 with an HTML page",
            configuration: { .init(reply: { _ in .htmlPage }) },
            flags: ["--max-attempts", "3"],
            published: 0,
            status: 1,
            maximumRequests: 6 * 3,
            says: "Chapter 1"
        ),
        Misbehaviour(
            name: "429 with RetryInfo 0s, then answers",
            configuration: {
                let mix = FakeGeminiServer.FaultMix(
                    faults: [.init(.rateLimited(retryDelay: "0s"), probability: 1)],
                    seed: 1,
                    maxFailuresPerPrompt: 2
                )
                return .init(reply: { mix.reply(for: $0) })
            },
            flags: ["--max-attempts", "6"],
            published: 6,
            status: 0,
            maximumRequests: 6 * 3,
            says: "6 generated"
        ),
        Misbehaviour(
            name: "429 without RetryInfo, then answers",
            configuration: {
                let mix = FakeGeminiServer.FaultMix(
                    faults: [.init(.rateLimited(retryDelay: nil), probability: 1)],
                    seed: 1,
                    maxFailuresPerPrompt: 1
                )
                return .init(reply: { mix.reply(for: $0) })
            },
            flags: ["--max-attempts", "6"],
            published: 6,
            status: 0,
            maximumRequests: 6 * 2,
            says: "6 generated"
        ),
        Misbehaviour(
            name: "the daily quota is spent",
            configuration: { .init(quota: QuotaPolicy(requestsPerDay: 2)) },
            flags: ["--concurrency", "1"],
            published: 2,
            status: 75,
            maximumRequests: 3,
            says: "daily"
        ),
    ]

    @Test(
        "the API misbehaving: what can be generated is, nothing malformed is published, requests stay bounded",
        arguments: misbehaviours
    )
    func misbehavingAPI(_ case: Misbehaviour) async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start(`case`.configuration())
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: `case`.chapters))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL]
                + `case`.flags,
            environment: ["GEMINI_API_KEY": key, "COURSEGEN_TEST_OUTAGE_SCALE": Self.outageScale],
            directory: temp.path
        )
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        let requests = server.statistics.chapterRequestCount
        let published = temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }
        #expect(result.status == `case`.status, "\(result.standardError.suffix(2000))")
        #expect(published.count == `case`.published, "\(published)")
        #expect(requests <= `case`.maximumRequests, "\(requests) requests")
        #expect(
            (result.standardOutput + result.standardError).contains(`case`.says),
            "\(result.standardError.suffix(2000))"
        )
        for name in published {
            let text = temp.read("out/course/\(name)") ?? ""
            #expect(text.contains("This is a fake chapter") && text.hasSuffix(OutputMonitor.chapterEnding), "\(name)")
        }
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        Campaign.report(
            "API: \(`case`.name)",
            [
                ("chapters", `case`.chapters), ("requests", requests), ("failed_attempts", requests - published.count),
                ("published", published.count), ("exit", result.status), ("violations", seen.violations.count),
            ]
        )
    }

    @Test("no server at the base URL: refused or unresolvable, a clear error after a bounded number of attempts")
    func unreachable() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 3))
        for (url, says) in [
            ("http://127.0.0.1:1", "cannot connect: Connection refused"),
            ("https://coursegen-test.invalid", "cannot resolve coursegen-test.invalid"),
        ] {
            let result = try await Binary.run(
                [
                    "generate", "course.md", "--output", "out", "--state", "state", "--base-url", url, "--max-attempts",
                    "2",
                ],
                environment: ["GEMINI_API_KEY": key, "COURSEGEN_TEST_OUTAGE_SCALE": Self.outageScale],
                directory: temp.path
            )
            #expect(result.status == 1, "\(url): \(result.standardError.suffix(1500))")
            #expect(result.standardError.contains(says), "\(result.standardError.suffix(1500))")
            #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.isEmpty)
            #expect(!result.standardError.contains(key))
            Campaign.report("API: no server at \(url)", [("chapters", 3), ("published", 0), ("exit", result.status)])
        }
    }

    @Test("watch with hung requests, then a 429 asking for an hour: it keeps taking saves, and SIGTERM ends it cleanly")
    func responsiveUnderPause() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.hasPrefix("Course: Paused") ? .rateLimited(retryDelay: "3600s") : .hang
        }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "50", "--settle", "0", "--stop-timeout", "1",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.waitUntil { $0.inFlight == 3 }
        // The quota says: wait an hour. Every submission waits; saves are still taken.
        try temp.write("inbox/paused.md", "# Paused\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "retrying")
        try temp.write("inbox/other.md", "# Other\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline=other")
        let requests = server.statistics.chapterRequestCount
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(!result.wasKilled && result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(requests == 4, "three hung, one 429, none for the outline saved during the pause")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.isEmpty)
        Campaign.report(
            "API: hung requests and a 429 for an hour, under watch",
            [("requests", requests), ("published", 0), ("sigterm_exit", result.status), ("killed", result.wasKilled)]
        )
    }
}

@Suite(
    "Reliability campaign: the machine misbehaving",
    .serialized,
    .enabled(if: Campaign.isEnabled, Campaign.skipped)
)
struct MachineTests {
    let key = FakeGeminiServer.defaultAPIKey

    @Test("the state folder deleted under a running watch: it is made again, and the next save publishes in full")
    func stateDeleted() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "50", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        // As an admin would, with rm -rf, again until it succeeds: the daemon may be writing its
        // status into the folder at that moment ("Directory not empty").
        var removed = false
        for _ in 0..<20 where !removed {
            removed = try SpawnedProcess("/bin/rm", ["-rf", "\(temp.path)/state"]).waitUntilExit() == 0
        }
        #expect(removed)
        try Save.inPlace(course, watchedOutline(["a2", "b", "c"]))
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        let published = temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }
        #expect(published == ["01-chapter-1.md", "02-chapter-2.md", "03-chapter-3.md"], "\(temp.list("out/course"))")
        #expect(temp.read("out/course/01-chapter-1.md")?.contains("- Point a2") == true)
        #expect(FileManager.default.fileExists(atPath: "\(temp.path)/state/manifests"))
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        // The answers went with the folder: what the save needs is asked again, once.
        let requests = server.statistics.chapterRequestCount
        #expect(requests <= 3 + 3 + 1)
        Campaign.report(
            "State folder deleted under watch",
            [
                ("requests", requests), ("published", published.count), ("exit", result.status),
                ("violations", seen.violations.count),
            ]
        )
    }

    @Test("soak: outlines saved in turn under watch cost one request a save, and descriptors and memory stay level")
    func soak() async throws {
        let outlines = Campaign.size(short: 10, long: 50)
        let saves = Campaign.size(short: 60, long: 3_000)
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        var marks = Array(repeating: ["a", "b", "c"], count: outlines)
        for index in 0..<outlines {
            try temp.write("inbox/o\(index).md", watchedOutline(marks[index]))
        }
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "20", "--settle", "0",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published", count: outlines)
        // Warm up: every outline saved once, so every lazily made thing exists.
        var published = Array(repeating: 1, count: outlines)
        func save(_ index: Int, _ step: Int) async throws {
            marks[index][step % 3] = "s\(step)"
            try Save.inPlace("\(temp.path)/inbox/o\(index).md", watchedOutline(marks[index]))
            published[index] += 1
            try await daemon.waitForLines(containing: "outline published  outline=o\(index) ", count: published[index])
        }
        for index in 0..<outlines { try await save(index, index) }
        let before = Campaign.footprint(of: daemon.pid)
        let requestsBefore = server.statistics.chapterRequestCount
        let start = ContinuousClock.now
        for step in 0..<saves { try await save(step % outlines, outlines + step) }
        let elapsed = ContinuousClock.now - start
        let after = Campaign.footprint(of: daemon.pid)
        let requests = server.statistics.chapterRequestCount - requestsBefore
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(requests == saves, "each save edits one chapter: one request")
        // A leak grows with the saves (60, or 3,000); a connection or a file open at either
        // moment is one or two.
        #expect(
            after.descriptors <= before.descriptors + 2,
            "open descriptors \(before.descriptors) -> \(after.descriptors)"
        )
        Campaign.report(
            "Soak under watch",
            [
                ("outlines", outlines), ("saves", saves), ("requests", requests),
                ("fds_before", before.descriptors), ("fds_after", after.descriptors),
                ("rss_kib_before", before.residentKiB), ("rss_kib_after", after.residentKiB),
                (
                    "seconds",
                    String(
                        format: "%.1f",
                        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    )
                ),
            ]
        )
    }
}
