import AsyncHTTPClient
import FakeGemini
import FakeServerKit
import Foundation
import Generation
import TestSupport
import Testing

@testable import coursegen_bench
import Providers
import Platform

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The benchmark's helpers")
struct BenchSupportTests {
    /// The latency model draws from (seed, prompt, attempt) alone: the benchmark replicates the
    /// server's draws if the server's prompt is the request's and every first request is attempt 1.
    @Test("the server sees each request's prompt as the benchmark builds it, as a first attempt")
    func promptsAreReplicable() async throws {
        let spec = "gemini-flash:scale=0.001,seed=7"
        let server = try await FakeGeminiServer.start(
            FakeGeminiServer.Configuration(latency: try LatencyModel(spec: spec))
        )
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let outline = try BenchOutline.parse(BenchOutline.markdown(title: "Replicable", chapters: 2))
            let requests = BenchOutline.requests(for: outline)
            let provider = try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(FakeGeminiServer.defaultAPIKey)!,
                httpClient: httpClient
            )
            // The timeout is only a hang guard: what is checked is what the server saw.
            for request in requests { _ = try await provider.generate(request, timeout: TestTime.hangGuard) { _ in } }
            let recorded = server.statistics.requests
            #expect(recorded.map(\.prompt) == requests.map(\.prompt))
            #expect(recorded.map(\.attempt) == [1, 1])
        } catch {
            try await httpClient.shutdown()
            try await server.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        try await server.shutdown()
    }

    @Test("an edit of one chapter's points changes that chapter's key and no other")
    func oneChapterEdits() throws {
        let original = try BenchOutline.parse(BenchOutline.markdown(title: "Edits", chapters: 5))
        let edited = try BenchOutline.parse(BenchOutline.markdown(title: "Edits", chapters: 5, revisions: [3: 1]))
        let before = BenchOutline.requests(for: original).map(\.key)
        let after = BenchOutline.requests(for: edited).map(\.key)
        #expect(zip(before, after).map { $0 != $1 } == [false, false, true, false, false])
    }

    @Test("different course titles give different prompts for the same chapter")
    func titlesSeparatePrompts() throws {
        let first = try BenchOutline.parse(BenchOutline.markdown(title: "Scale 1", chapters: 1))
        let second = try BenchOutline.parse(BenchOutline.markdown(title: "Scale 2", chapters: 1))
        #expect(BenchOutline.requests(for: first)[0].prompt != BenchOutline.requests(for: second)[0].prompt)
    }

    @Test("the job queue hands elements out in order, to takers waiting or not, and nil once finished")
    func jobQueue() async {
        let queue = JobQueue<Int>()
        async let waiting = queue.take()
        await queue.put(1)
        await queue.put(2)
        await queue.put(3)
        #expect(await waiting == 1)
        #expect(await queue.take() == 2)
        await queue.finish()
        #expect(await queue.take() == 3)
        #expect(await queue.take() == nil)
    }

    @Test("the notify listener stamps READY=1 and STATUS= lines and finds them after a position")
    func notifyListener() async throws {
        let folder = NSTemporaryDirectory() + "coursegen-bench-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try NotifyListener(path: "\(folder)/notify")
        try send("STATUS=Watching /in: 0 courses up to date\n", to: listener.address)
        try send("READY=1\nSTATUS=Watching /in: 0 courses up to date\n", to: listener.address)
        let ready = try await listener.ready()
        #expect(ready.index == 1)
        let position = listener.count
        try send("STATUS=Generating a: 1/2 chapters\n", to: listener.address)
        try send("STATUS=Watching /in: 1 course up to date\n", to: listener.address)
        let done = try await listener.status(after: position) { $0.hasSuffix(": 1 course up to date") }
        #expect(done.index == 3)
        #expect(done.received >= ready.received)
        #expect(listener.messages.map { $0.value(of: "STATUS") ?? "" }.count == 4)
        await listener.close()
    }

    @Test("a waiter on the listener gives up when its task is cancelled")
    func notifyListenerCancellation() async throws {
        let folder = NSTemporaryDirectory() + "coursegen-bench-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try NotifyListener(path: "\(folder)/notify")
        await #expect(throws: BenchError.self) {
            try await within(.milliseconds(50), "a READY=1 nobody sends") { try await listener.ready() }
        }
        await listener.close()
    }

    @Test("timing a spawned program measures until it exits, and a failing one is an error")
    func spawn() throws {
        #expect(try timedSpawn("/bin/true", []) > .zero)
        #expect(throws: BenchError.self) { try timedSpawn("/bin/false", []) }
    }

    /// Sends one datagram to the socket at `path`, as sd_notify does.
    private func send(_ text: String, to path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bytes = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard sent == bytes.count else { throw BenchError("sendto: \(errno)") }
    }
}
