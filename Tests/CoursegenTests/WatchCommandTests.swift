import FakeGemini
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Saves a file the way editors and tools do, replaying their system calls.
enum Save {
    /// vim outside /tmp: probe file `4913`, the original renamed to `name~`, a new file written,
    /// the backup deleted (the swap file exists meanwhile).
    static func vim(_ path: String, _ text: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let swap = "\(folder)/.\(name).swp"
        try Data("swap".utf8).write(to: URL(fileURLWithPath: swap))
        let probe = "\(folder)/4913"
        close(open(probe, O_CREAT | O_WRONLY | O_EXCL, 0o644))
        unlink(probe)
        rename(path, "\(path)~")
        try write(path, text, flags: O_CREAT | O_WRONLY | O_TRUNC, chunks: 1)
        unlink("\(path)~")
        unlink(swap)
    }

    /// VS Code, `cp`, `>`: truncate and write in place, here in several chunks.
    static func inPlace(_ path: String, _ text: String) throws {
        try write(path, text, flags: O_WRONLY | O_TRUNC | O_CREAT, chunks: 3)
    }

    /// JetBrains, `sed -i`, rsync, os.replace: a temporary name, then a rename onto the real one.
    static func replace(_ path: String, _ text: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.\((path as NSString).lastPathComponent).Xa81Zq"
        try write(temporary, text, flags: O_CREAT | O_WRONLY | O_EXCL, chunks: 2)
        rename(temporary, path)
    }

    private static func write(_ path: String, _ text: String, flags: Int32, chunks: Int) throws {
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw BinaryError("cannot open \(path)") }
        let bytes = Array(text.utf8)
        let size = (bytes.count + chunks - 1) / chunks
        for start in stride(from: 0, to: bytes.count, by: size) {
            let chunk = Array(bytes[start..<min(start + size, bytes.count)])
            _ = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
        fsync(fd)
        close(fd)
    }
}

/// A three-chapter outline whose chapter points carry `marks`.
func watchedOutline(_ marks: [String] = ["a", "b", "c"]) -> String {
    var text = "# Watched Course\n"
    for (index, mark) in marks.enumerated() { text += "\n## Chapter \(index + 1)\n- Point \(mark)\n" }
    return text
}

@Suite("coursegen watch, the real binary", .serialized)
struct WatchCommandTests {
    let key = FakeGeminiServer.defaultAPIKey

    func startWatching(_ temp: TemporaryFolder, server: FakeGeminiServer, output: String = "out", extra: [String] = [])
        throws -> Binary.Running
    {
        try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", output, "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0",
            ] + extra,
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
    }

    @Test(
        "startup catches up, then each save (vim, in place, cp, rename) is exactly one regeneration; touch and identical rewrites are none",
        arguments: [[], ["--watch-mode", "poll", "--poll-interval", "0.1"]]
    )
    func oneRegenerationPerSave(mode: [String]) async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", watchedOutline())
        let monitor = OutputMonitor(root: "\(temp.path)/out")
        let daemon = try startWatching(temp, server: server, extra: mode)

        try await daemon.waitForLines(containing: "outline published  outline=course", count: 1)
        #expect(server.statistics.chapterRequestCount == 3)

        try Save.vim(course, watchedOutline(["a2", "b", "c"]))
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        #expect(server.statistics.chapterRequestCount == 4)

        try Save.inPlace(course, watchedOutline(["a2", "b2", "c"]))
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 3)
        #expect(server.statistics.chapterRequestCount == 5)

        let outside = try temp.write("elsewhere/course.md", watchedOutline(["a2", "b2", "c2"]))
        try SpawnedProcess("/bin/cp", [outside, course]).waitUntilExit()
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 4)
        #expect(server.statistics.chapterRequestCount == 6)

        try Save.replace(course, watchedOutline(["a3", "b2", "c2"]))
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 5)
        #expect(server.statistics.chapterRequestCount == 7)

        // A touch, a chmod and an identical rewrite change nothing. A second outline saved last is
        // reported after them (the watcher reports in order), so once it is published every
        // earlier event has been handled.
        utime(course, nil)
        chmod(course, 0o600)
        try Save.inPlace(course, watchedOutline(["a3", "b2", "c2"]))
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        #expect(daemon.lines(containing: "outline published  outline=course").count == 5)
        #expect(server.statistics.chapterRequestCount == 8)
        #expect(temp.read("out/course/01-chapter-1.md")?.contains("- Point a3") == true)

        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        let seen = await monitor.finishWatching()
        try await server.shutdown()
        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(seen.violations.isEmpty, "\(seen.violations)")
        #expect(!result.standardError.contains(key))
    }

    @Test(
        "a save during generation supersedes it: unchanged chapters keep going, changed ones are cancelled, the newest is published"
    )
    func supersede() async throws {
        let temp = try TemporaryFolder()
        let gate = FakeGeminiServer.Gate()
        let server = try await FakeGeminiServer.start { request in
            request.prompt.contains("-slow") ? .success().held(by: gate) : .success()
        }
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try startWatching(temp, server: server)
        try await daemon.waitForLines(containing: "outline published  outline=course")

        // Version 1 changes chapters 1 and 2; both answers are held.
        try Save.inPlace(course, watchedOutline(["a-slow", "b-slow", "c"]))
        try await server.waitUntil { $0.inFlight == 2 }
        // Version 2 changes chapter 1 again and keeps chapter 2 as in version 1.
        try Save.inPlace(course, watchedOutline(["a-new", "b-slow", "c"]))
        // The request only version 1 wanted is cancelled (its connection closed).
        try await server.waitUntil { statistics in
            statistics.requests.contains { $0.prompt?.contains("Point a-slow") == true && $0.disposition == .abandoned }
        }
        gate.open()
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        #expect(result.status == 0)
        let byPrompt = server.statistics.requestsByPrompt
        #expect(
            byPrompt.filter { $0.key.contains("Point b-slow") }.values.reduce(0, +) == 1,
            "chapter 2's request was shared, not repeated"
        )
        #expect(temp.read("out/course/01-chapter-1.md")?.contains("Point a-new") == true)
        #expect(temp.read("out/course/02-chapter-2.md")?.contains("Point b-slow") == true)
        #expect(daemon.lines(containing: "a newer save supersedes the run in progress").count == 1)
        #expect(
            daemon.lines(containing: "outline published  outline=course").count == 2,
            "the superseded run published nothing"
        )
    }

    @Test("a bad outline gets one FILE:LINE error, keeps what was published, and the next save is picked up")
    func badOutlineWhileWatching() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try startWatching(temp, server: server)
        try await daemon.waitForLines(containing: "outline published  outline=course")
        let before = temp.list("out/course")

        try Save.inPlace(course, "# Watched Course\n\n## Chapter 1\n- a\n\n## \n")
        try await daemon.waitForLines(containing: "course.md:6:")
        #expect(daemon.lines(containing: "course.md:6:").first?.contains("error") == true)
        #expect(temp.list("out/course") == before)

        try Save.inPlace(course, watchedOutline(["a", "b", "c", "d"]))
        try await daemon.waitForLines(containing: "outline published  outline=course", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(temp.list("out/course").contains("04-chapter-4.md"))
    }

    @Test("subfolders publish under the same path; an output folder inside the inbox is not watched")
    func subfoldersAndOutputInsideInbox() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/team-a/course.md", watchedOutline())
        let daemon = try startWatching(temp, server: server, output: "inbox/generated")
        try await daemon.waitForLines(containing: "outline published  outline=team-a/course")
        #expect(temp.list("inbox/generated/team-a/course").contains("01-chapter-1.md"))
        // The daemon's own writes went into the inbox; a sentinel saved after them is the next
        // and only thing published.
        try temp.write("inbox/sentinel.md", "# Sentinel\n\n## Only\n- one\n")
        try await daemon.waitForLines(containing: "outline published  outline=sentinel")
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(daemon.lines(containing: "outline published").count == 2)
        #expect(server.statistics.chapterRequestCount == 4)
    }

    @Test("a renamed outline is published under its new name with no request; a removed one's chapters stay")
    func renameAndRemove() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        let course = try temp.write("inbox/course.md", watchedOutline())
        let daemon = try startWatching(temp, server: server)
        try await daemon.waitForLines(containing: "outline published  outline=course")
        rename(course, "\(temp.path)/inbox/renamed.md")
        try await daemon.waitForLines(containing: "outline published  outline=renamed")
        try await daemon.waitForLines(containing: "outline removed from the inbox")
        unlink("\(temp.path)/inbox/renamed.md")
        try await daemon.waitForLines(containing: "outline removed from the inbox", count: 2)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()
        #expect(result.status == 0)
        #expect(server.statistics.chapterRequestCount == 3)
        #expect(temp.list("out/renamed").contains("03-chapter-3.md"))
        #expect(temp.list("out/course").contains("03-chapter-3.md"), "published chapters stay")
    }

    @Test(
        "an idle daemon uses no CPU",
        .disabled(
            if: TestTime.scale > 1,
            "under a sanitizer (COURSEGEN_TEST_TIME_SCALE > 1) the sanitizer's own background thread uses CPU"
        )
    )
    func idleIsIdle() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("inbox/course.md", watchedOutline())
        let daemon = try startWatching(temp, server: server)
        try await daemon.waitForLines(containing: "outline published  outline=course")
        // Let the HTTP client's idle connection close (the server closes it on shutdown).
        try await server.shutdown()
        let before = try Self.cpuTicks(of: daemon.pid)
        // Showing that nothing happens takes waiting: two seconds with no event at all, in
        // which a polling loop or a periodic timer would show up in the process's CPU time.
        try await Task.sleep(for: .seconds(2))
        let after = try Self.cpuTicks(of: daemon.pid)
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        #expect(result.status == 0)
        #expect(after - before <= 1, "used \(after - before) clock ticks while idle")
    }

    /// User plus system CPU time of `pid`, in clock ticks, from /proc.
    static func cpuTicks(of pid: pid_t) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }
}
