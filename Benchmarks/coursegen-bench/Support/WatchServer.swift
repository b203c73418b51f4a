import FakeGemini
import FakeServerKit
import NIOConcurrencyHelpers

/// The fake Gemini server of the watch scenarios, in the benchmark's process (the daemon is the
/// other process): it answers at once while a scenario brings its outlines up to date, and after
/// the drawn, scaled latency once the scenario measures.
final class WatchServer: Sendable {
    let server: FakeGeminiServer
    private let timing: Timing

    private final class Timing: Sendable {
        let model = NIOLockedValueBox<LatencyModel?>(nil)
    }

    static func start(apiKey: String, quota: QuotaPolicy? = nil) async throws -> WatchServer {
        let timing = Timing()
        let server = try await FakeGeminiServer.start(
            FakeGeminiServer.Configuration(apiKey: apiKey, quota: quota) { request in
                guard let model = timing.model.withLockedValue({ $0 }) else { return .success() }
                return .success().timed(
                    by: model,
                    prompt: request.prompt,
                    attempt: request.attempt,
                    isStreaming: request.isStreaming
                )
            }
        )
        return WatchServer(server: server, timing: timing)
    }

    private init(server: FakeGeminiServer, timing: Timing) {
        self.server = server
        self.timing = timing
    }

    var baseURL: String { server.baseURL }

    /// From now on replies wait `model`'s latency (nil: answer at once).
    func answer(after model: LatencyModel?) {
        timing.model.withLockedValue { $0 = model }
    }

    /// Chapter requests (POSTs) that arrived at `instant` or later, in arrival order.
    func chapterRequests(since instant: ContinuousClock.Instant) -> [FakeGeminiServer.RecordedRequest] {
        server.statistics.requests.filter { $0.method == "POST" && $0.arrival >= instant }
    }

    func shutdown() async {
        try? await server.shutdown()
    }
}
