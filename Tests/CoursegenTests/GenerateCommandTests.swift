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

/// A Markdown outline of `count` chapters "Chapter 1"...
func outlineText(chapters count: Int, title: String = "End to End") -> String {
    var text = "# \(title)\n\nA course written by the end-to-end tests.\n"
    for index in 1...count { text += "\n## Chapter \(index)\n- Point \(index)\n" }
    return text
}

@Suite("coursegen generate, the real binary")
struct GenerateCommandTests {
    let key = FakeGeminiServer.defaultAPIKey

    @Test("generates every chapter, prints a summary, exits 0, and costs nothing the second time")
    func generateTwice() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success().after(.milliseconds(50)) }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: 5))
        let arguments = ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL]
        let first = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let second = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("course: 5 chapters in \(temp.path)/out/course (5 generated)"))
        #expect(second.status == 0)
        #expect(second.standardOutput.contains("(5 unchanged)"))
        #expect(server.statistics.chapterRequestCount == 5)
        #expect(
            temp.list("out/course") == (1...5).map { "0\($0)-chapter-\($0).md" } + ["STATUS.md", "SUMMARY.md", "book.toml"]
        )
        #expect(temp.read("out/course/STATUS.md")?.contains("Phase: `up-to-date`") == true)
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        #expect(!first.standardError.contains(key) && !first.standardOutput.contains(key))
    }

    @Test(
        "an outage of instant 503s holds the course until a probe finds the API back: no chapter spends its attempts, every one is published"
    )
    func outage() async throws {
        let chapters = 8
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        server.beginStorm(StormPolicy(fraction: 1, seed: 1))
        try temp.write("course.md", outlineText(chapters: chapters))
        let run = try Binary.start(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--log-level", "debug", "--concurrency", "2",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        // The outage lasts until coursegen finds the API down; its first probe comes seconds later,
        // or later still if this test is slow to see the opening (then more probes fail, each one
        // request, as they should).
        try await run.waitForLines(containing: "the API is unavailable")
        server.endStorm()
        let result = await run.wait()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError)")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == chapters)
        // Every chapter is answered once. The outage refused the breaker's failed probes, one at a
        // time, and at most three requests before it opened, however slowly the machine runs: two
        // failures from two chapters open it, and until the second is in only the first one's slot
        // is free (two in flight at most: --concurrency 2). Without the breaker each chapter spends
        // its six attempts, 48 requests here, and the course fails.
        let requests = server.statistics.requests.filter { $0.prompt != nil }
        let refused = requests.filter { $0.rejection == .storm }.count
        let failedProbes = run.lines(containing: "the API is still unavailable").count
        #expect(requests.count - refused == chapters, "\(requests.count - refused) answered for \(chapters) chapters")
        #expect(refused <= 3 + failedProbes, "\(refused) requests refused by the outage, \(failedProbes) failed probes")
        #expect(run.lines(containing: "the API is unavailable").count == 1, "\(result.standardError)")
        #expect(run.lines(containing: "the API answers again").count == 1, "\(result.standardError)")
    }

    @Test("a missing API key is a clear error before any request, naming every way to give one")
    func missingKey() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 2))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78)
        #expect(result.standardError.contains("no Gemini API key"))
        #expect(result.standardError.contains("GEMINI_API_KEY") && result.standardError.contains("--api-key-file"))
        #expect(server.statistics.chapterRequestCount == 0)
        #expect(temp.list("out").isEmpty)
    }

    @Test("an invalid outline exits 65 with FILE:LINE: what is wrong")
    func invalidOutline() async throws {
        let temp = try TemporaryFolder()
        try temp.write("broken.md", "# Course\n\n## Intro\n- a\n\n## intro\n- b\n")
        let generate = try await Binary.run(
            ["generate", "broken.md", "--output", "out", "--state", "state"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(generate.status == 65)
        #expect(generate.standardError.contains("broken.md:6:"), "\(generate.standardError)")
        let check = try await Binary.run(["check", "broken.md"], directory: temp.path)
        #expect(check.status == 65)
        #expect(check.standardError.contains("broken.md:6:"))
    }

    @Test("check prints the plan: course fields and numbered chapters with their points and files")
    func check() async throws {
        let temp = try TemporaryFolder()
        try temp.write(
            "course.yaml",
            "title: Kitchen\naudience: new staff\nchapters:\n  - title: Hygiene\n    points: [Wash hands]\n  - title: Temperatures\n"
        )
        let result = try await Binary.run(["check", "course.yaml"], directory: temp.path)
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("course.yaml: Kitchen"))
        #expect(result.standardOutput.contains("audience: new staff"))
        #expect(result.standardOutput.contains("1. Hygiene  -> 01-hygiene.md"))
        #expect(result.standardOutput.contains("- Wash hands"))
        #expect(result.standardOutput.contains("2. Temperatures  -> 02-temperatures.md"))
    }

    @Test("settings layer flag over COURSEGEN_* over the config file over the default")
    func settingsLayering() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 1))
        // The file names a model the server does not serve and a wrong URL; the environment fixes
        // the URL; the flag fixes the model.
        try temp.write("config.yaml", "model: gemini-nonexistent\nbase-url: http://127.0.0.1:9\noutput: out\n")
        let result = try await Binary.run(
            ["generate", "course.md", "--config", "config.yaml", "--state", "state", "--model", "gemini-3.1-pro-preview"],
            environment: ["GEMINI_API_KEY": key, "COURSEGEN_BASE_URL": server.baseURL],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(server.statistics.requestsByModel == ["gemini-3.1-pro-preview": 1])
        #expect(temp.list("out/course").contains("01-chapter-1.md"), "output came from the config file")
    }

    @Test("a typo in the config file is refused with its line and a suggestion")
    func configTypo() async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        try temp.write("config.yaml", "output: out\nrmp: 100\n")
        let result = try await Binary.run(
            ["generate", "course.md", "--config", "config.yaml", "--state", "state"],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        #expect(result.status == 78)
        #expect(
            result.standardError.contains("config.yaml:2: unknown key 'rmp' (did you mean 'rpm'?)"),
            "\(result.standardError)"
        )
    }

    @Test(
        "a bad value names where it came from and what is allowed; a bad flag is a usage error (64)",
        arguments: [
            ("--concurrency", "0", 64, "--concurrency '0' must be a whole number from 1 to 256"),
            ("--rpm", "lots", 64, "--rpm 'lots' must be a whole number from 1 to 1000000"),
            ("COURSEGEN_RPM", "lots", 78, "COURSEGEN_RPM 'lots' must be a whole number from 1 to 1000000"),
            ("COURSEGEN_TEMPERATURE", "9", 78, "COURSEGEN_TEMPERATURE '9' must be a number from 0 to 2"),
            ("--base-url", "http://example.com", 78, "plain http to a non-local host"),
            ("--model", "../../evil", 64, "--model '../../evil' must be a model name such as gemini-3.8-flash"),
            // A negative number is the flag's value, refused for what it is (not a "missing value").
            ("--rpm", "-1", 64, "--rpm '-1' must be a whole number from 1 to 1000000"),
            ("--max-attempts", "-3", 64, "--max-attempts '-3' must be"),
        ]
    )
    func badValues(flag: String, value: String, status: Int32, message: String) async throws {
        let temp = try TemporaryFolder()
        try temp.write("course.md", outlineText(chapters: 1))
        var arguments = ["generate", "course.md", "--output", "out", "--state", "state"]
        var environment = ["GEMINI_API_KEY": key]
        if flag.hasPrefix("--") { arguments += [flag, value] } else { environment[flag] = value }
        let result = try await Binary.run(arguments, environment: environment, directory: temp.path)
        #expect(result.status == status)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test("the key is read from --api-key-file and from $CREDENTIALS_DIRECTORY, and never printed")
    func keyFiles() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 1))
        try temp.write("key.txt", "\(key)\n")
        chmod("\(temp.path)/key.txt", 0o600)
        try temp.write("credentials/gemini-api-key", key)
        let viaFile = try await Binary.run(
            [
                "generate", "course.md", "--output", "a", "--state", "s1", "--base-url", server.baseURL,
                "--api-key-file", "key.txt",
            ],
            directory: temp.path
        )
        let viaCredentials = try await Binary.run(
            ["generate", "course.md", "--output", "b", "--state", "s2", "--base-url", server.baseURL],
            environment: ["CREDENTIALS_DIRECTORY": "\(temp.path)/credentials"],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(viaFile.status == 0, "\(viaFile.standardError)")
        #expect(viaCredentials.status == 0, "\(viaCredentials.standardError)")
        #expect(
            viaCredentials.standardError.contains("readable by every user"),
            "the credential file is 0644 here: warned"
        )
        for output in [viaFile, viaCredentials] {
            #expect(!output.standardError.contains(key) && !output.standardOutput.contains(key))
        }
    }

    @Test("failed chapters exit 1 after publishing the rest, naming each failure")
    func partialFailure() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.contains("Chapter to write: Chapter 2\n")
                ? .status(code: 400, message: "Chapter two is not allowed") : .success()
        }
        try temp.write("course.md", outlineText(chapters: 3))
        let result = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 1)
        #expect(
            result.standardOutput.contains(
                "chapter 2 \"Chapter 2\" failed: HTTP 400: INVALID_ARGUMENT: Chapter two is not allowed"
            ),
            "\(result.standardOutput)"
        )
        #expect(
            temp.list("out/course") == ["01-chapter-1.md", "03-chapter-3.md", "STATUS.md", "SUMMARY.md", "book.toml"]
        )
        #expect(temp.read("out/course/STATUS.md")?.contains("Chapter 2 \"Chapter 2\"") == true)
    }

    @Test("kill -9 mid-run, then rerun: only the chapters not yet stored are requested again")
    func killAndResume() async throws {
        let temp = try TemporaryFolder()
        let chapters = 12
        // Chapters 1-5 answer one after another; 6-12 are held until the rerun, so the first
        // run is still waiting for them when it is killed.
        let held = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { request in
            let number = Int(
                request.prompt.split(separator: "Chapter to write: Chapter ").last!.prefix { $0.isNumber }
            )!
            return number <= 5 ? .success().after(.milliseconds(40 * number)) : .success().held(by: held)
        }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: chapters))
        let arguments = [
            "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
            "--concurrency", "12",
        ]
        let running = try Binary.start(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        try await running.waitForLines(containing: "chapter generated", count: 5)
        running.signal(SIGKILL)
        let killed = await running.wait()
        #expect(killed.wasKilled)
        try await ReliabilityTests.killedProcessCounted(by: server)
        let stored = Self.storedBodies(in: "\(temp.path)/state")
        let firstRun = server.statistics.chapterRequestCount
        // Five answered; each is stored before anything else happens to it, but the kill may
        // come before the last ones are.
        #expect(stored >= 1 && stored <= 5, "killed with \(stored) chapters stored")
        // Chapters are published as they arrive: what was published before the kill is whole,
        // and no more than what was stored.
        let published = temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }
        #expect(published.count <= stored, "\(published)")

        held.open()
        let resumed = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let seen = await monitor.finishWatching()
        try await server.shutdown()
        #expect(resumed.status == 0, "\(resumed.standardError)")
        // Issue 3's bound: at most N - k + (requests in flight when killed); here exactly the
        // chapters that were not stored.
        let again = server.statistics.chapterRequestCount - firstRun
        #expect(again == chapters - stored)
        #expect(again <= chapters - stored + (firstRun - stored))
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == chapters)
        #expect(seen.violations.isEmpty, "\(seen.violations)")
    }

    @Test("answers that arrive while a publish is under way go out together in the next one, not one publish each")
    func arrivalsCoalesce() async throws {
        let temp = try TemporaryFolder()
        let chapters = 24
        let server = try await FakeGeminiServer.start { _ in .success() }
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        try temp.write("course.md", outlineText(chapters: chapters))
        let hold = "\(temp.path)/release-publish"
        let running = try Binary.start(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--concurrency", "\(chapters)", "--log-level", "debug",
            ],
            environment: ["GEMINI_API_KEY": key, "COURSEGEN_TEST_HOLD_FIRST_PUBLISH": hold],
            directory: temp.path
        )
        // The first chapter's publish is held while every other answer arrives and is stored.
        try await waitForFile("\(hold).held")
        try await running.waitForLines(containing: "chapter generated", count: chapters)
        FileManager.default.createFile(atPath: hold, contents: nil)
        let result = await running.wait()
        let seen = await monitor.finishWatching()
        try await server.shutdown()

        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(temp.list("out/course").filter { ChapterFile.isChapterFileName($0) }.count == chapters)
        // One held publish, the rest together, and the last that records the run: far fewer
        // than one per chapter (timing may split the rest once or twice more, never 23 times).
        let publishes = result.standardError.split(separator: "\n").filter { $0.contains("folder published") }.count
        #expect(publishes >= 2 && publishes <= 6, "\(publishes) publishes for \(chapters) chapters")
        #expect(seen.violations.isEmpty, "\(seen.violations)")
    }

    @Test("--concurrency above 8 reaches a plain-HTTP server: the client's pool does not cap it")
    func concurrencyAboveEight() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { _ in .success().held(by: gate) }
        try temp.write("course.md", outlineText(chapters: 20))
        let running = try Binary.start(
            [
                "generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--concurrency", "16",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.waitUntil { $0.inFlight == 16 }
        gate.open()
        let result = await running.wait()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(server.statistics.maxInFlight == 16)
    }

    static func storedBodies(in state: String) -> Int {
        let store = "\(state)/store"
        return ((try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []).reduce(0) { count, prefix in
            count
                + (((try? FileManager.default.contentsOfDirectory(atPath: "\(store)/\(prefix)")) ?? []).filter {
                    $0.hasSuffix(".json")
                }.count)
        }
    }

    @Test("status and gc read the state the runs left")
    func statusAndGC() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", outlineText(chapters: 2))
        _ = try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.shutdown()
        let text = try await Binary.run(["status", "--state", "state"], directory: temp.path)
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("course: End to End\n  up-to-date, 2 chapters, 2 up to date"))
        let json = try await Binary.run(["status", "--state", "state", "--json"], directory: temp.path)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
        #expect(decoded?.first?["upToDate"] as? Int == 2)
        let gc = try await Binary.run(["gc", "--state", "state"], directory: temp.path)
        #expect(gc.status == 0)
        #expect(gc.standardOutput.contains("Removed 0 unused chapter bodies"))
    }
}
