import FakeGemini
import FakeServerKit
import Foundation
import Platform
import Synchronization
import TestSupport
import Testing

@testable import Generation
@testable import Providers

@Suite("Gemini's Batch API: the wire, the poll schedule, the engine's jobs")
struct BatchTests {
    static func key(_ digit: Character) -> ChapterKey { ChapterKey(digest: String(repeating: digit, count: 64)) }

    // MARK: - Pure decisions

    @Test(
        "a job's state reads both spellings, BATCH_STATE_* and JOB_STATE_*",
        arguments: [
            ("BATCH_STATE_PENDING", BatchJobState.pending), ("JOB_STATE_PENDING", .pending),
            ("BATCH_STATE_RUNNING", .running), ("JOB_STATE_RUNNING", .running),
            ("BATCH_STATE_SUCCEEDED", .succeeded), ("JOB_STATE_SUCCEEDED", .succeeded),
            ("BATCH_STATE_FAILED", .failed), ("JOB_STATE_FAILED", .failed),
            ("BATCH_STATE_CANCELLED", .cancelled), ("JOB_STATE_CANCELLED", .cancelled),
            ("BATCH_STATE_EXPIRED", .expired), ("JOB_STATE_EXPIRED", .expired),
            ("JOB_STATE_QUEUED", .pending), ("BATCH_STATE_UNSPECIFIED", .unknown), ("SOMETHING_NEW", .unknown),
        ]
    )
    func states(wire: String, state: BatchJobState) {
        #expect(BatchJobState(wire: wire) == state)
    }

    @Test("only succeeded, failed, cancelled and expired jobs are finished")
    func finished() {
        #expect(BatchJobState.allCases.filter(\.isFinished) == [.succeeded, .failed, .cancelled, .expired])
    }

    @Test(
        "polls start 10 s apart and double, at most every 5 minutes",
        arguments: [(0, 10), (1, 20), (2, 40), (3, 80), (4, 160), (5, 300), (6, 300), (40, 300), (-1, 10)]
    )
    func pollSchedule(poll: Int, seconds: Int64) {
        #expect(BatchPolling().delay(beforePoll: poll) == .seconds(seconds))
    }

    @Test(
        "inline requests are split into jobs under the size limit, in order",
        arguments: [
            ([Int](), 10, [Range<Int>]()),
            ([3, 3, 3], 10, [0..<3]),
            ([4, 4, 4], 10, [0..<2, 2..<3]),
            ([11, 1], 10, [0..<1, 1..<2]),
            ([1, 11, 1], 10, [0..<1, 1..<2, 2..<3]),
            ([5, 5, 5, 5], 10, [0..<2, 2..<4]),
        ]
    )
    func groups(sizes: [Int], limit: Int, groups: [Range<Int>]) {
        #expect(GeminiBatchWire.groups(sizes: sizes, limit: limit) == groups)
    }

    static func answer(_ text: String, finish: String = "STOP") -> String {
        """
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "\(text)"}]}, "finishReason": "\(finish)"}],
         "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 20}, "modelVersion": "m"}
        """
    }

    @Test("results are matched by the key in their metadata, else by position, and classified as streamed answers are")
    func matching() throws {
        let keys = [Self.key("a"), Self.key("b"), Self.key("c"), Self.key("d")]
        let body = """
            {"name": "batches/x", "metadata": {"state": "BATCH_STATE_SUCCEEDED"}, "done": true,
             "response": {"inlinedResponses": {"inlinedResponses": [
               {"response": \(Self.answer("for b")), "metadata": {"key": "\(keys[1].hex)"}},
               {"response": \(Self.answer("second, unkeyed"))},
               {"response": \(Self.answer("for a")), "metadata": {"key": "\(keys[0].hex)"}},
               {"response": \(Self.answer("cut", finish: "MAX_TOKENS"))},
               {"error": {"code": 13, "message": "Internal error"}, "metadata": {"key": "\(keys[2].hex)"}}
             ]}}}
            """
        let job = try GeminiBatchWire.classify(status: 200, body: Array(body.utf8), keys: keys).get()
        #expect(job.name == "batches/x" && job.state == .succeeded)
        #expect(try job.results[keys[0]]?.get().text == "for a")
        #expect(try job.results[keys[1]]?.get().text == "for b")
        #expect(try job.results[keys[0]]?.get().tier == .batch)
        #expect(try job.results[keys[0]]?.get().usage == Usage(promptTokens: 10, outputTokens: 20))
        // Position 3 is d's place: its MAX_TOKENS answer fails as a streamed one would.
        guard case .failure(let cut)? = job.results[keys[3]] else { Issue.record("d has no failure"); return }
        #expect(cut.disposition == .retryWithLargerBudget)
        guard case .failure(let failedInside)? = job.results[keys[2]] else { Issue.record("c has no failure"); return }
        #expect(failedInside.disposition == .retry && failedInside.message.contains("Internal error"))
        // The unkeyed answer at position 1 belongs to b, who has its own: it is dropped.
        #expect(job.results.count == 4)
    }

    @Test("the output is read under metadata.output too, and nothing before the job succeeded")
    func outputInMetadata() throws {
        let keys = [Self.key("a")]
        let done = """
            {"name": "batches/x", "metadata": {"state": "JOB_STATE_SUCCEEDED",
              "output": {"inlinedResponses": {"inlinedResponses": [{"response": \(Self.answer("hello"))}]}}}}
            """
        #expect(
            try GeminiBatchWire.classify(status: 200, body: Array(done.utf8), keys: keys).get().results[keys[0]]?.get()
                .text == "hello"
        )
        let running = #"{"name": "batches/x", "metadata": {"state": "BATCH_STATE_RUNNING"}}"#
        let job = try GeminiBatchWire.classify(status: 200, body: Array(running.utf8), keys: keys).get()
        #expect(job.state == .running && job.results.isEmpty)
        let failed =
            #"{"name": "batches/x", "metadata": {"state": "BATCH_STATE_FAILED"}, "done": true, "error": {"code": 13, "message": "the job broke"}}"#
        let broken = try GeminiBatchWire.classify(status: 200, body: Array(failed.utf8), keys: keys).get()
        #expect(broken.state == .failed && broken.message == "the job broke")
        #expect(broken.endedWithout(key: keys[0]).message.contains("the job broke"))
        #expect(broken.endedWithout(key: keys[0]).disposition == .retry)
    }

    @Test("the list of jobs finds a job by its display name, page after page")
    func list() throws {
        let page =
            #"{"operations": [{"name": "batches/a", "metadata": {"displayName": "x 1"}}, {"name": "batches/b", "metadata": {"displayName": "x 2"}}], "nextPageToken": "t"}"#
        let found = try GeminiBatchWire.classifyList(status: 200, body: Array(page.utf8), displayName: "x 2").get()
        #expect(found.name == "batches/b" && found.next == "t")
        let missing = try GeminiBatchWire.classifyList(
            status: 200,
            body: Array(#"{"operations": []}"#.utf8),
            displayName: "x"
        ).get()
        #expect(missing.name == nil && missing.next == nil)
    }

    @Test("a create's body is python-genai's shape: batch.inputConfig.requests.requests[] of {request, metadata.key}")
    func createBody() throws {
        let request = ChapterRequest(
            key: Self.key("e"),
            model: "gemini-3.8-flash",
            systemInstruction: "sys",
            prompt: "write",
            temperature: nil,
            maxOutputTokens: 100,
            thinkingBudget: nil
        )
        let data = try JSONEncoder().encode(GeminiBatchWire.Create([request], displayName: "course"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let batch = try #require(json["batch"] as? [String: Any])
        #expect(batch["displayName"] as? String == "course")
        let inputConfig = try #require(batch["inputConfig"] as? [String: Any])
        let requests = try #require((inputConfig["requests"] as? [String: Any])?["requests"] as? [[String: Any]])
        #expect((requests[0]["metadata"] as? [String: String]) == ["key": Self.key("e").hex])
        // The same GenerateContentRequest a streamed chapter sends (no thought summaries asked).
        let streamed = try JSONSerialization.jsonObject(with: JSONEncoder().encode(GeminiWire.Request(request)))
        #expect(NSDictionary(dictionary: requests[0]["request"] as! [String: Any]).isEqual(streamed))
    }

    @Test("the status page counts chapters in a batch job as in flight, with when their job was submitted")
    func statusPage() {
        var status = CourseStatus(outline: "c", source: "c.md", folder: "out/c", phase: .generating)
        status.chapters = 20
        status.progress = .init(
            ready: 17,
            writing: 0,
            words: 0,
            retrying: 0,
            requested: 0,
            inBatch: 3,
            batchSubmitted: Date(timeIntervalSince1970: 1_796_652_120)
        )
        #expect(
            StatusPage.headline(status).contains(
                "17 of 20 chapters ready, 3 of 20 in a batch job, submitted 2026-12-07 14:02 UTC"
            )
        )
    }

    @Test("the engine's progress counts the chapters of a job as in a batch until each has its answer")
    func progress() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(running: .milliseconds(30))
        let harness = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let seen = Mutex<[Engine.Progress]>([])
        let path = try harness.temp.write("inbox/course.md", Self.outline(3))
        _ = try await harness.engine.run(
            Engine.Job(
                outlinePath: path,
                name: "course",
                outputFolder: "\(harness.output)/course",
                settings: harness.settings,
                batchOver: 1
            ),
            onProgress: { progress in seen.withLock { $0.append(progress) } }
        )
        try await harness.shutdown()
        let progress = seen.withLock { $0 }
        #expect(progress.contains { $0.inBatch == 3 && $0.batchSubmitted != nil && $0.requested == 0 })
        #expect(progress.last?.inBatch == 0 && progress.last?.ready == 3)
    }

    // MARK: - The engine against the fake's jobs

    static let fastPolls = Scheduler.Configuration(
        backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200)),
        batchPolling: BatchPolling(first: .milliseconds(5), maximum: .milliseconds(20))
    )

    static func outline(_ chapters: Int) -> String {
        "# Batched\n\nA course.\n" + (1...chapters).map { "\n## Chapter \($0)\n- Point \($0)\n" }.joined()
    }

    @Test("a run over the threshold is one job and no generateContent request; every chapter is published")
    func oneJob() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(pending: .milliseconds(20), running: .milliseconds(20))
        let harness = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let server = harness.server as! FakeGeminiServer
        let report = try await harness.generate(Self.outline(6), batchOver: 3)
        try await harness.shutdown()

        #expect(report.isComplete)
        #expect(server.batches.createdCount == 1)
        let paths = server.statistics.requests.map(\.path)
        #expect(paths.filter { $0.hasSuffix(":batchGenerateContent") }.count == 1)
        #expect(
            paths.allSatisfy { $0.hasSuffix(":batchGenerateContent") || $0.contains("/batches/") || !$0.contains(":") }
        )
        #expect(harness.files().filter { ChapterFile.isChapterFileName($0) }.count == 6)
        // Finished with: no record is left to poll.
        #expect(try StateDirectory(path: harness.state).batchJobs().isEmpty)
    }

    @Test("a run under the threshold streams as before")
    func underThreshold() async throws {
        let harness = try await EngineHarness(scheduler: Self.fastPolls)
        let server = harness.server as! FakeGeminiServer
        let report = try await harness.generate(Self.outline(2), batchOver: 3)
        try await harness.shutdown()
        #expect(report.isComplete)
        #expect(server.batches.createdCount == 0)
    }

    @Test("a job named in the state folder is polled again, never created twice")
    func resumes() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(held: true)
        let first = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let server = first.server as! FakeGeminiServer
        // The first run polls a held job; it is cancelled (as a killed process would stop).
        let run = Task { try await first.generate(Self.outline(4), batchOver: 1) }
        while server.batches.pollCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
        run.cancel()
        _ = try? await run.value
        let records = try StateDirectory(path: first.state).batchJobs()
        #expect(records.map(\.name) == server.batches.names)
        #expect(records.first?.keys.count == 4)

        // A second engine on the same state folder and server finds the record.
        server.batches.release()
        let second = try EngineHarness(reusingServer: server, folders: first, scheduler: Self.fastPolls)
        let report = try await second.generate(Self.outline(4), batchOver: 1)
        try await second.shutdown()
        try await first.httpClient.shutdown()
        #expect(report.isComplete)
        #expect(server.batches.createdCount == 1)
        #expect(try StateDirectory(path: first.state).batchJobs().isEmpty)
    }

    @Test(
        "a create whose answer is lost leaves its record; the next run finds the job by its display name and creates none"
    )
    func lostCreateAnswer() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(cutsFirstCreateAnswer: true)
        let harness = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let server = harness.server as! FakeGeminiServer
        let first = try await harness.generate(Self.outline(3), batchOver: 1)
        #expect(first.failedChapters.count == 3)
        let kept = try StateDirectory(path: harness.state).batchJobs()
        #expect(kept.count == 1 && kept.first?.name == "")

        let second = try await harness.generate(Self.outline(3), batchOver: 1)
        try await harness.shutdown()
        #expect(second.isComplete)
        #expect(server.batches.createdCount == 1)
        #expect(server.statistics.requests.contains { $0.method == "GET" && $0.path == "/v1beta/batches" })
        #expect(try StateDirectory(path: harness.state).batchJobs().isEmpty)
    }

    @Test("a create refused by the API leaves no record: the next run creates the job")
    func refusedCreate() async throws {
        let harness = try await EngineHarness(
            scheduler: Self.fastPolls,
            server: FakeGeminiServer.Configuration(apiKey: "another")
        )
        let report = try await harness.generate(Self.outline(2), batchOver: 1)
        try await harness.shutdown()
        #expect(report.failedChapters.count == 2)
        #expect(try StateDirectory(path: harness.state).batchJobs().isEmpty)
    }

    @Test(
        "under a budget, a new job takes the chapters whose most fits all together; the others are skipped for budget",
        arguments: [(0.40, 0), (0.41, 1), (0.85, 2), (1.65, 4)]
    )
    func budget(budget: Double, inJob: Int) async throws {
        // Input free, output $100 per million: each chapter may cost $0.8192 streamed
        // (BudgetTests), $0.4096 at the batch price.
        let harness = try await EngineHarness(scheduler: Self.fastPolls, reply: BudgetTests.answer)
        let server = harness.server as! FakeGeminiServer
        let report = try await harness.generate(
            Self.outline(4),
            cost: BudgetTests.policy(budget: budget),
            batchOver: 1
        )
        try await harness.shutdown()
        #expect(server.batches.createdCount == (inJob > 0 ? 1 : 0))
        #expect(report.skippedChapters.count == 4 - inJob)
        #expect(report.failedChapters.isEmpty)
        #expect(harness.files().filter { ChapterFile.isChapterFileName($0) }.count == inJob)
    }

    @Test(
        "a job that fails leaves its chapters failed with the job's message, retryable; one failed request fails only its chapter"
    )
    func failures() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(end: .failed(message: "the batch broke"))
        let harness = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let report = try await harness.generate(Self.outline(3), batchOver: 1)
        try await harness.shutdown()
        #expect(report.failedChapters.count == 3)
        #expect(report.failedChapters.allSatisfy { "\($0.outcome)".contains("the batch broke") })

        let one = try await EngineHarness(scheduler: Self.fastPolls) { request in
            request.prompt.contains("Chapter to write: Chapter 2") ? .status(code: 500) : .success()
        }
        let partial = try await one.generate(Self.outline(3), batchOver: 1)
        try await one.shutdown()
        #expect(partial.failedChapters.map(\.position) == [2])
        #expect(one.files().filter { ChapterFile.isChapterFileName($0) }.count == 2)
    }

    @Test("results without metadata are matched by position")
    func byPosition() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.batchSchedule = .init(dropsMetadata: true)
        let harness = try await EngineHarness(scheduler: Self.fastPolls, server: configuration)
        let report = try await harness.generate(Self.outline(3), batchOver: 1)
        try await harness.shutdown()
        #expect(report.isComplete)
        for number in 1...3 {
            let file = try #require(harness.files().first { $0.hasPrefix("0\(number)-") })
            #expect(harness.chapter(file)?.contains("Chapter to write: Chapter \(number)") == true)
        }
    }
}
