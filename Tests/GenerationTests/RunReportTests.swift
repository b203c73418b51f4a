import Foundation
import Testing

@testable import Generation
import Outlines
import Platform
import Providers

/// A run's results and its report, as pure functions: what the requests brought (`RunState.take`),
/// the report built from the last plan and those results, the manifest a publish records. No
/// disk, no network.
@Suite("Run report")
struct RunReportTests {
    static let price = Price(inputPerMillion: 1, outputPerMillion: 10, thinkingPerMillion: 10)
    static let chapters = PlanTests.chapters(PlanTests.base)
    static var key: ChapterKey { chapters[1].key }

    static func run(budget: Double? = nil) -> RunState {
        RunState(
            job: Engine.Job(
                outlinePath: "/inbox/course.md",
                outline: PlanTests.base,
                name: "course",
                outputFolder: "/out/course",
                settings: GenerationSettings(),
                cost: CostPolicy(prices: PriceTable([GenerationSettings.defaultModel: price]), budget: budget)
            ),
            outline: PlanTests.base,
            chapters: chapters
        )
    }

    // MARK: - Outcomes

    struct OutcomeRow: Sendable, CustomTestStringConvertible {
        var name: String
        var action: Plan.Action
        var hasFile = true
        var generated = false
        var unchangedAtStart = false
        var failure: ProviderError? = nil
        var outcome: RunReport.Chapter.Outcome
        var testDescription: String { name }
    }

    static let outcomeRows: [OutcomeRow] = [
        OutcomeRow(name: "published, paid for in this run", action: .publish, generated: true, outcome: .generated),
        OutcomeRow(
            name: "published, paid for, its file right at the start too",
            action: .publish,
            generated: true,
            unchangedAtStart: true,
            outcome: .generated
        ),
        OutcomeRow(
            name: "published, its file right at the start",
            action: .publish,
            unchangedAtStart: true,
            outcome: .unchanged
        ),
        OutcomeRow(name: "published from the store", action: .publish, outcome: .reused),
        OutcomeRow(name: "a hand edit kept", action: .keepHandEdit(entryChanged: true), outcome: .handEdited),
        OutcomeRow(
            name: "failed, its previous version kept",
            action: .failed("HTTP 500: gave up"),
            failure: ProviderError(.retry, "gave up", httpStatus: 500),
            outcome: .failed("HTTP 500: gave up", keptPrevious: true)
        ),
        OutcomeRow(
            name: "failed, nothing published before",
            action: .failed("HTTP 400: no"),
            hasFile: false,
            failure: ProviderError(.fatal, "no", httpStatus: 400),
            outcome: .failed("HTTP 400: no", keptPrevious: false)
        ),
        OutcomeRow(
            name: "skipped for the budget",
            action: .skippedForBudget("not sent"),
            hasFile: false,
            outcome: .skippedForBudget("not sent", keptPrevious: false)
        ),
        OutcomeRow(
            name: "still to generate: coursegen stopped",
            action: .generate,
            outcome: .interrupted(keptPrevious: true)
        ),
    ]

    @Test(
        "each chapter's outcome is what the last plan did with it, told apart by what the run did",
        arguments: outcomeRows
    )
    func outcome(row: OutcomeRow) {
        var run = Self.run()
        if row.generated { run.generated.insert(Self.key) }
        if row.unchangedAtStart { run.unchangedAtStart.insert(Self.key) }
        if let failure = row.failure {
            run.failed[Self.key] = GenerationFailure(attempts: 3, error: failure, usage: Usage())
        }
        var plan = PlanTests.plan(PlanTests.base, after: PlanTests.published(PlanTests.base))
        plan.chapters[1].action = row.action
        plan.chapters[1].source = row.hasFile ? .body(Self.key) : nil
        let chapter = RunReport(plan: plan, run: run).chapters[1]
        #expect(chapter.outcome == row.outcome)
        #expect(chapter.file == (row.hasFile ? "02-ownership.md" : nil))
        #expect(chapter.failure == row.failure)
        #expect(chapter.position == 2 && chapter.title == "Ownership")
    }

    @Test(
        "the report's totals are the run's: tokens, their cost at the run's price and each answer's tier, its budget and backups"
    )
    func totals() {
        var run = Self.run(budget: 0.5)
        let (standard, flex) = (
            Usage(promptTokens: 1000, outputTokens: 2000, thinkingTokens: 100), Usage(promptTokens: 500, outputTokens: 700)
        )
        for (index, (usage, tier)) in [(standard, BillingTier.standard), (flex, .flex)].enumerated() {
            let key = Self.chapters[index].key
            let body = BodyStore.Body(key: key, text: "Text.", usage: usage, model: "m", modelVersion: nil, tier: tier)
            _ = run.take(.success(RequestTable.Generated(body: body, attempts: 1)), for: key)
        }
        #expect(run.spent == standard + flex)
        run.backups = ["02-ownership.md": "02-ownership.md.orig"]
        let report = RunReport(
            plan: PlanTests.plan(PlanTests.base, after: PlanTests.published(PlanTests.base)),
            run: run
        )
        #expect(report.outline == "course" && report.folder == "/out/course")
        #expect(report.usage == run.spent)
        #expect(report.cost == CostEstimate(standard, at: Self.price) + CostEstimate(flex, at: Self.price, tier: .flex))
        #expect(report.cost.dollars < CostEstimate(run.spent, at: Self.price).dollars)
        #expect(report.budget == 0.5)
        #expect(report.backups == run.backups)
        #expect(report.chapters.map(\.outcome) == [.generated, .generated, .reused, .reused])
    }

    // MARK: - Results

    static func answer(fromStore: Bool) -> RequestTable.Outcome {
        .success(
            RequestTable.Generated(
                body: BodyStore.Body(
                    key: key,
                    text: "Text.",
                    usage: Usage(promptTokens: 10, outputTokens: 20),
                    model: "gemini-2.5-flash",
                    modelVersion: nil
                ),
                attempts: 2,
                fromStore: fromStore
            )
        )
    }

    static func failure(_ disposition: ProviderError.Disposition, skippedForBudget: Bool = false)
        -> RequestTable.Outcome
    {
        .failure(
            GenerationFailure(
                attempts: 1,
                error: ProviderError(disposition, "no"),
                usage: Usage(promptTokens: 5),
                skippedForBudget: skippedForBudget
            )
        )
    }

    struct TakeRow: Sendable, CustomTestStringConvertible {
        var name: String
        var outcome: RequestTable.Outcome
        var end: ProgressTracker.End
        var counted: String?
        var generated = false
        var failed = false
        var text = false
        var spent: Usage
        var requests: Int
        var testDescription: String { name }
    }

    static let takeRows: [TakeRow] = [
        TakeRow(
            name: "an answer this run paid for",
            outcome: answer(fromStore: false),
            end: .ready,
            counted: "generated",
            generated: true,
            text: true,
            spent: Usage(promptTokens: 10, outputTokens: 20),
            requests: 2
        ),
        TakeRow(
            name: "an answer another process stored meanwhile",
            outcome: answer(fromStore: true),
            end: .ready,
            text: true,
            spent: Usage(),
            requests: 0
        ),
        TakeRow(
            name: "a failure",
            outcome: failure(.fatal),
            end: .failed,
            counted: "failed",
            failed: true,
            spent: Usage(promptTokens: 5),
            requests: 1
        ),
        TakeRow(
            name: "not sent for the budget",
            outcome: failure(.fatal, skippedForBudget: true),
            end: .skippedForBudget,
            counted: "skipped_for_budget",
            failed: true,
            spent: Usage(promptTokens: 5),
            requests: 1
        ),
        TakeRow(
            name: "stopped: not a failure of the chapter",
            outcome: failure(.interrupted),
            end: .interrupted,
            spent: Usage(promptTokens: 5),
            requests: 1
        ),
    ]

    @Test("each request's outcome counts once: its text, its failure, what it spent", arguments: takeRows)
    func take(row: TakeRow) {
        var run = Self.run()
        let (end, counted) = run.take(row.outcome, for: Self.key)
        #expect(end == row.end)
        #expect(counted == row.counted)
        #expect(run.generated.contains(Self.key) == row.generated)
        #expect((run.failed[Self.key] != nil) == row.failed)
        #expect((run.folder.texts[Self.key] != nil) == row.text)
        #expect(run.spent == row.spent)
        #expect(run.requestsMade == row.requests)
    }

    @Test("an answer's text is rendered for its chapter, sanitized, with the tokens it took")
    func answerRendered() {
        var run = Self.run()
        _ = run.take(Self.answer(fromStore: false), for: Self.key)
        let text = run.folder.texts[Self.key]
        #expect(text?.bytes == ChapterFile.render(title: "Ownership", body: "Text.", allowHTML: false).bytes)
        #expect(text?.hash == text.map { sha256Hex($0.bytes) })
        #expect(text?.usage == Usage(promptTokens: 10, outputTokens: 20))
    }

    // MARK: - Manifest

    @Test("a publish's manifest counts totals from the run's start and knows the replaced files until the swap")
    func manifest() {
        let published = PlanTests.published(PlanTests.base)
        var run = Self.run()
        run.folder.previous = published.manifest
        run.begin(now: Date(timeIntervalSince1970: 1000))
        _ = run.take(Self.answer(fromStore: false), for: Self.key)
        let plan = PlanTests.plan(PlanTests.base, after: published)
        let manifest = run.manifest(for: plan, now: Date(timeIntervalSince1970: 2000))
        #expect(manifest.requests == published.manifest.requests + 2)
        #expect(manifest.usage == Usage(promptTokens: 10, outputTokens: 20))
        #expect(manifest.lastRun == Date(timeIntervalSince1970: 2000))
        #expect(manifest.lastGenerated == Date(timeIntervalSince1970: 2000))
        #expect(Set(manifest.transitionalHashes) == published.manifest.allHashes)
        #expect(
            manifest.chapters
                == plan.chapters.map(\.entry).enumerated().map { index, entry in
                    var entry = entry
                    if index == 1 {
                        entry.usage = Usage(promptTokens: 10, outputTokens: 20)
                        entry.cost = CostEstimate(Usage(promptTokens: 10, outputTokens: 20), at: Self.price)
                    }
                    return entry
                }
        )
        #expect(manifest.takenOver == nil)
        #expect(manifest.sanitizerVersion == ChapterSanitizer.version && manifest.htmlAllowed == false)
    }

    @Test("an outline taking over another outline file's folder counts its costs from zero, and says since when")
    func takeOver() {
        var previous = PlanTests.published(PlanTests.base).manifest
        previous.source = "/inbox/course.yaml"
        previous.requests = 7
        var run = Self.run()
        run.folder.previous = previous
        run.begin(now: Date(timeIntervalSince1970: 1000))
        let manifest = run.manifest(
            for: PlanTests.plan(PlanTests.base, after: PlanTests.published(PlanTests.base)),
            now: Date()
        )
        #expect(run.baseline == nil)
        #expect(manifest.requests == 0)
        #expect(
            manifest.takenOver == Manifest.TakeOver(from: "/inbox/course.yaml", at: Date(timeIntervalSince1970: 1000))
        )
    }
}
