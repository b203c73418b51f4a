import Providers
import Testing

@testable import Generation

/// The scheduler's retry step as a pure function: an attempt's outcome, its number, the request's
/// output budget and the configuration in; what the scheduler does next out. No clock, no
/// provider: the backoff's random number is a parameter.
@Suite("Retry step")
struct RetryStepTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var outcome: RetryStep.Outcome
        var attempt = 1
        var maxOutputTokens = 8_192
        /// The backoff's random number.
        var unit = 0.5
        var step: RetryStep

        var testDescription: String { name }
    }

    /// Six attempts; backoff ceilings of 2, 4, 8, 16, 32 s after attempts 1 to 5.
    static let configuration = Scheduler.Configuration(
        maximumAttempts: 6,
        backoff: Backoff(initial: .seconds(2), maximum: .seconds(60))
    )

    static let unavailable = ProviderError(.retry, "UNAVAILABLE", httpStatus: 503, overloaded: true)
    static let rateLimited = ProviderError(.retry, "RESOURCE_EXHAUSTED", httpStatus: 429, retryDelay: .seconds(30))
    static let cutOff = ProviderError(.retryWithLargerBudget, "MAX_TOKENS", httpStatus: 200)

    static let rows: [Row] = [
        Row(
            name: "an answer succeeds",
            outcome: .answered(ChapterResponse(text: "ok", usage: Usage())),
            step: .succeed
        ),
        Row(
            name: "a failure only the author can fix fails at once, attempts left or not",
            outcome: .failed(ProviderError(.fatal, "INVALID_ARGUMENT", httpStatus: 400)),
            step: .fail(exhausted: false)
        ),
        Row(name: "coursegen stopping fails it, unsent", outcome: .failed(.interrupted), step: .fail(exhausted: false)),
        Row(
            name: "a refused key stops every submission",
            outcome: .failed(ProviderError(.stopEverything, "API key not valid", httpStatus: 400)),
            step: .stop(.refused)
        ),
        Row(
            name: "a daily quota stops every submission",
            outcome: .failed(ProviderError(.dailyQuotaExhausted, "per day", httpStatus: 429)),
            step: .stop(.dailyQuota)
        ),
        Row(
            name: "a 503 waits a random part of the backoff's ceiling",
            outcome: .failed(unavailable),
            attempt: 2,
            step: .retry(after: .seconds(2), pauseAll: false, raiseBudget: nil)
        ),
        Row(
            name: "full jitter: the random number may make the wait zero",
            outcome: .failed(unavailable),
            attempt: 3,
            unit: 0,
            step: .retry(after: .zero, pauseAll: false, raiseBudget: nil)
        ),
        Row(
            name: "the ceiling doubles with each attempt",
            outcome: .failed(unavailable),
            attempt: 5,
            unit: 1,
            step: .retry(after: .seconds(32), pauseAll: false, raiseBudget: nil)
        ),
        Row(
            name: "the last attempt gives up on what might pass with time",
            outcome: .failed(unavailable),
            attempt: 6,
            step: .fail(exhausted: true)
        ),
        Row(
            name: "a Retry-After on a 503 is the least this request waits",
            outcome: .failed(ProviderError(.retry, "UNAVAILABLE", httpStatus: 503, retryDelay: .seconds(20))),
            step: .retry(after: .seconds(20), pauseAll: false, raiseBudget: nil)
        ),
        Row(
            name: "a Retry-After shorter than the backoff does not shorten it",
            outcome: .failed(ProviderError(.retry, "UNAVAILABLE", httpStatus: 503, retryDelay: .milliseconds(100))),
            attempt: 3,
            unit: 1,
            step: .retry(after: .seconds(8), pauseAll: false, raiseBudget: nil)
        ),
        Row(
            name: "a 429 pauses every submission for its RetryInfo delay, without jitter",
            outcome: .failed(rateLimited),
            step: .retry(after: .seconds(30), pauseAll: true, raiseBudget: nil)
        ),
        Row(
            name: "a 429 without a delay pauses every submission for the backoff's ceiling",
            outcome: .failed(ProviderError(.retry, "RESOURCE_EXHAUSTED", httpStatus: 429)),
            attempt: 3,
            unit: 0,
            step: .retry(after: .seconds(8), pauseAll: true, raiseBudget: nil)
        ),
        Row(
            name: "a 429 on the last attempt gives up",
            outcome: .failed(rateLimited),
            attempt: 6,
            step: .fail(exhausted: true)
        ),
        Row(
            name: "an answer cut off while thinking is asked again with twice the output budget",
            outcome: .failed(cutOff),
            step: .retry(after: .seconds(1), pauseAll: false, raiseBudget: 16_384)
        ),
        Row(
            name: "the larger budget never passes the output token limit",
            outcome: .failed(cutOff),
            maxOutputTokens: 40_000,
            step: .retry(after: .seconds(1), pauseAll: false, raiseBudget: GenerationSettings.outputTokenLimit)
        ),
        Row(
            name: "a failed probe is the breaker's try, not the chapter's: no attempt is counted, even the last",
            outcome: .probeFailed(unavailable, nextProbeIn: .seconds(6)),
            attempt: 6,
            step: .probeAgain(after: .seconds(6))
        ),
        Row(
            name: "a probe refused for the key still stops everything",
            outcome: .probeFailed(
                ProviderError(.stopEverything, "PERMISSION_DENIED", httpStatus: 403),
                nextProbeIn: .seconds(3)
            ),
            step: .stop(.refused)
        ),
        Row(
            name: "a probe failing for the author's reason fails the chapter",
            outcome: .probeFailed(ProviderError(.fatal, "INVALID_ARGUMENT", httpStatus: 400), nextProbeIn: .seconds(3)),
            step: .fail(exhausted: false)
        ),
    ]

    @Test("each outcome leads to the step the table says", arguments: rows)
    func decide(row: Row) {
        var request = ChapterRequest.named("chapter")
        request.maxOutputTokens = row.maxOutputTokens
        let step = RetryStep.decide(
            row.outcome,
            attempt: row.attempt,
            of: request,
            under: Self.configuration,
            unit: row.unit
        )
        #expect(step == row.step)
    }

    @Test("the random number is drawn only when a backoff is computed")
    func drawsOnlyForARetry() {
        let request = ChapterRequest.named("chapter")
        var draws = 0
        let draw = { () -> Double in
            draws += 1
            return 0.5
        }
        for row in Self.rows {
            draws = 0
            _ = RetryStep.decide(
                row.outcome,
                attempt: row.attempt,
                of: request,
                under: Self.configuration,
                unit: draw()
            )
            let retried = if case .retry = row.step { true } else { false }
            #expect(draws == (retried ? 1 : 0), "\(row.name)")
        }
    }
}
