import AsyncHTTPClient
import FakeGemini
import FakeServerKit
import Foundation
import TestSupport
import Testing

/// One sample of a Prometheus text exposition: `name{label="value",...} number`.
struct Sample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// The samples of `text`, comments skipped. Label values here hold no quotes or commas.
    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                return Sample(name: String(series), labels: [:], value: value)
            }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",")
            {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }
}

extension [Sample] {
    /// The sum of the samples named `name` whose labels include `labels`.
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }
}

@Suite("coursegen watch --metrics-listen, the real binary", .serialized)
struct MetricsEndpointTests {
    let key = FakeGeminiServer.defaultAPIKey

    @Test("the endpoint is scraped after a run with faults, and its counters match what the fake server saw")
    func countersMatchTheServer() async throws {
        let temp = try TemporaryFolder()
        // Chapter 2's first attempt is overloaded, chapter 3's is rate limited; every answer
        // reports the same usage.
        let server = try await FakeGeminiServer.start { request in
            if request.attempt == 1, request.prompt.contains("Chapter to write: Chapter 2\n") {
                return .status(code: 503)
            }
            if request.attempt == 1, request.prompt.contains("Chapter to write: Chapter 3\n") {
                return .rateLimited(retryDelay: "0.2s")
            }
            return .success(usage: .init(promptTokenCount: 700, candidatesTokenCount: 1000, thoughtsTokenCount: 24))
        }
        try temp.write("inbox/course.md", watchedOutline(["a", "b", "c", "d"]))
        let daemon = try Binary.start(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--debounce-ms", "100", "--settle", "0", "--metrics-listen", "127.0.0.1:0",
                "--prices", "{gemini-3.8-flash: {input: 1, output: 10}}",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await daemon.waitForLines(containing: "outline published  outline=course")
        let listening = try #require(daemon.lines(containing: "serving metrics").first)
        let port = try #require(
            listening.split(separator: " ").first { $0.hasPrefix("address=") }.flatMap { $0.split(separator: ":").last }
        )

        // The client is shut down whatever happens: one left running at deinit stops the
        // whole test process in a debug build.
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let scraped: Result<(HTTPClientResponse, String, HTTPClientResponse), any Error>
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"),
                timeout: .seconds(30)
            )
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            let missing = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/other"),
                timeout: .seconds(30)
            )
            scraped = .success((response, body, missing))
        } catch {
            scraped = .failure(error)
        }
        try await client.shutdown()
        let (response, body, missing) = try scraped.get()
        let statistics = server.statistics
        daemon.signal(SIGTERM)
        let result = await daemon.wait()
        try await server.shutdown()

        #expect(response.status == .ok)
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(missing.status == .notFound)
        let samples = Sample.parse(body)
        // Every chapter request the server saw, by the status it answered.
        let chapterRequests = statistics.requests.filter { $0.prompt != nil }
        #expect(chapterRequests.count == statistics.chapterRequestCount)
        #expect(samples.sum("coursegen_requests_total") == Double(statistics.chapterRequestCount))
        for status in Set(chapterRequests.compactMap(\.disposition.status)) {
            let count = chapterRequests.filter { $0.disposition.status == status }.count
            #expect(
                samples.sum("coursegen_requests_total", ["status": "\(status)"]) == Double(count),
                "status \(status)"
            )
        }
        #expect(statistics.chapterRequestCount == 6)
        #expect(samples.sum("coursegen_requests_total", ["outcome": "success"]) == 4)
        #expect(samples.sum("coursegen_requests_total", ["outcome": "retry"]) == 2)
        #expect(samples.sum("coursegen_retries_total") == 2)
        #expect(samples.sum("coursegen_rate_limited_total") == Double(statistics.rateLimitedCount))
        #expect(samples.sum("coursegen_rate_limit_pause_seconds_total") > 0)
        #expect(samples.sum("coursegen_chapters_total", ["outcome": "generated"]) == 4)
        #expect(samples.sum("coursegen_chapters_total", ["outcome": "failed"]) == 0)
        // Tokens as the answers reported them: four successes (errors report none).
        #expect(samples.sum("coursegen_tokens_total", ["kind": "input"]) == 4 * 700)
        #expect(samples.sum("coursegen_tokens_total", ["kind": "output"]) == 4 * 1000)
        #expect(samples.sum("coursegen_tokens_total", ["kind": "thinking"]) == 4 * 24)
        // $1 per million input, $10 per million output and thinking.
        let cost = samples.sum("coursegen_estimated_cost_usd_total")
        #expect(abs(cost - 4 * (700 * 1 + 1024 * 10) / 1_000_000) < 1e-9)
        #expect(samples.sum("coursegen_chapter_duration_seconds_count") == 4)
        #expect(samples.sum("coursegen_requests_in_flight") == 0)
        #expect(samples.sum("coursegen_in_flight_limit") >= 1)
        #expect(samples.sum("coursegen_outlines_watched") == 1)

        #expect(result.status == 0, "\(result.standardError.suffix(1500))")
        #expect(!result.standardError.contains(key))
    }

    @Test("an address already taken stops the daemon at start with a clear message and the configuration exit status")
    func takenAddress() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try FileManager.default.createDirectory(atPath: "\(temp.path)/inbox", withIntermediateDirectories: true)
        // The fake server's own port is taken.
        let result = try await Binary.run(
            [
                "watch", "--inbox", "inbox", "--output", "out", "--state", "state", "--base-url", server.baseURL,
                "--metrics-listen", "127.0.0.1:\(server.port)",
            ],
            environment: ["GEMINI_API_KEY": key],
            directory: temp.path
        )
        try await server.shutdown()
        #expect(result.status == 78)
        // In plain words, without the library's internals (`bind(descriptor:ptr:bytes:)`).
        #expect(
            result.standardError.contains("cannot serve metrics on 127.0.0.1:\(server.port): address already in use"),
            "\(result.standardError)"
        )
        #expect(!result.standardError.contains("descriptor"))
    }
}
