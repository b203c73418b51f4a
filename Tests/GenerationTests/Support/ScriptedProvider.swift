import NIOConcurrencyHelpers
import TestSupport

@testable import Generation
@testable import Providers
@testable import Outlines

/// An in-process provider for scheduler tests: answers as a script says, takes simulated time on
/// a manual clock, and records every submission.
final class ScriptedProvider: ChapterProvider, Sendable {
    struct Submission: Sendable {
        var prompt: String
        var attempt: Int
        var at: Duration
        var maxOutputTokens: Int
    }

    typealias Script = @Sendable (_ prompt: String, _ attempt: Int) -> Result<ChapterResponse, ProviderError>
    /// What an attempt reports while its answer arrives (`onProgress`), once its latency has passed.
    typealias Reports = @Sendable (_ prompt: String, _ attempt: Int) -> [ChapterProgress]

    private struct State {
        var submissions: [Submission] = []
        var attempts: [String: Int] = [:]
        var inFlight = 0
        var maxInFlight = 0
        var finished = 0
        var verifications = 0
    }

    private let clock: ManualClock
    private let latency: Duration
    private let script: Script
    private let reports: Reports
    /// What the key and model check answers: nil accepts.
    private let verdict: ProviderError?
    /// How long the key and model check takes, on `clock`.
    private let verifyLatency: Duration
    private let state = NIOLockedValueBox(State())

    init(
        clock: ManualClock,
        latency: Duration = .zero,
        verdict: ProviderError? = nil,
        verifyLatency: Duration = .zero,
        reports: @escaping Reports = { _, _ in [] },
        script: @escaping Script = { prompt, _ in
            .success(.init(text: "Text for \(prompt)", usage: Usage(promptTokens: 10, outputTokens: 100)))
        }
    ) {
        self.clock = clock
        self.reports = reports
        self.latency = latency
        self.verdict = verdict
        self.verifyLatency = verifyLatency
        self.script = script
    }

    /// Key and model checks made.
    var verifications: Int { state.withLockedValue { $0.verifications } }

    func verify(model: String, timeout: Duration) async throws {
        state.withLockedValue { $0.verifications += 1 }
        if verifyLatency > .zero { try await clock.sleep(for: verifyLatency) }
        if let verdict { throw verdict }
    }

    var submissions: [Submission] { state.withLockedValue { $0.submissions } }
    var maxInFlight: Int { state.withLockedValue { $0.maxInFlight } }
    var inFlight: Int { state.withLockedValue { $0.inFlight } }

    func generate(
        _ request: ChapterRequest,
        timeout: Duration,
        onProgress: @escaping @Sendable (ChapterProgress) -> Void
    ) async throws -> ChapterResponse {
        let attempt = state.withLockedValue { state in
            state.attempts[request.prompt, default: 0] += 1
            let attempt = state.attempts[request.prompt]!
            state.submissions.append(
                Submission(
                    prompt: request.prompt,
                    attempt: attempt,
                    at: clock.now.offset,
                    maxOutputTokens: request.maxOutputTokens
                )
            )
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            return attempt
        }
        defer { state.withLockedValue { $0.inFlight -= 1 } }
        if latency > .zero { try await clock.sleep(for: latency) }
        for report in reports(request.prompt, attempt) { onProgress(report) }
        return try script(request.prompt, attempt).get()
    }
}

extension ChapterRequest {
    /// A request whose prompt is `name`, for tests that only care about scheduling.
    static func named(_ name: String, tokens: Int = 100) -> ChapterRequest {
        let outline = Outline(title: "Test", chapters: [Outline.Chapter(title: name)])
        var request = ChapterRequest(settings: GenerationSettings(), outline: outline, index: 0)
        request.prompt = name
        request.systemInstruction = String(repeating: "x", count: max(max(tokens - 8, 0) * 4 - name.utf8.count, 0))
        return request
    }
}
