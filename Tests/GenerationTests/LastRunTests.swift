import Testing

@testable import Generation
import Outlines
import Platform
import Providers

/// What a folder's last manifest decides before a run: whether the folder is exactly up to date,
/// and whether the chapters its run skipped for the budget stay skipped. Pure, like `Plan.make`:
/// a manifest and the names of the files present, no disk.
@Suite("Last run")
struct LastRunTests {
    static let base = PlanTests.base

    /// `base` brought up to date under the default settings, as coursegen records it.
    static let upToDate: Manifest = {
        var manifest = PlanTests.published(base).manifest
        manifest.htmlAllowed = false
        manifest.sanitizerVersion = ChapterSanitizer.version
        return manifest
    }()

    static func upToDate(_ change: (inout Manifest) -> Void) -> Manifest {
        var manifest = upToDate
        change(&manifest)
        return manifest
    }

    // MARK: - Up to date

    struct UpToDateRow: Sendable, CustomTestStringConvertible {
        var name: String
        var manifest: Manifest? = LastRunTests.upToDate
        var outline = LastRunTests.base
        var settings = GenerationSettings()
        /// Chapter files not in the folder.
        var missing: Set<String> = []
        var upToDate: Bool
        var testDescription: String { name }
    }

    static let upToDateRows: [UpToDateRow] = [
        UpToDateRow(name: "exactly as published", upToDate: true),
        UpToDateRow(
            name: "a hand-edited chapter, in place",
            manifest: upToDate { $0.chapters[1].state = .handEdited },
            upToDate: true
        ),
        UpToDateRow(name: "nothing published yet", manifest: nil, upToDate: false),
        UpToDateRow(
            name: "a field of the outline changed",
            outline: PlanTests.outline(
                base.chapters.map { ($0.title, $0.points) },
                level: "beginner"
            ),
            upToDate: false
        ),
        UpToDateRow(
            name: "a setting in the key changed",
            settings: GenerationSettings(thinkingLevel: .low),
            upToDate: false
        ),
        UpToDateRow(name: "another outline digest", manifest: upToDate { $0.outlineDigest = "other" }, upToDate: false),
        UpToDateRow(name: "HTML allowed now", settings: GenerationSettings(allowHTML: true), upToDate: false),
        UpToDateRow(
            name: "published before HTML was sanitized",
            manifest: upToDate { $0.htmlAllowed = nil },
            upToDate: false
        ),
        UpToDateRow(
            name: "published under older sanitizer rules",
            manifest: upToDate { $0.sanitizerVersion = ChapterSanitizer.version - 1 },
            upToDate: false
        ),
        UpToDateRow(name: "a chapter failed", manifest: upToDate { $0.chapters[1].state = .failed }, upToDate: false),
        UpToDateRow(name: "a chapter pending", manifest: upToDate { $0.chapters[1].state = .pending }, upToDate: false),
        UpToDateRow(
            name: "a chapter skipped for the budget",
            manifest: upToDate { $0.chapters[1].state = .skippedForBudget },
            upToDate: false
        ),
        UpToDateRow(
            name: "a chapter without a file",
            manifest: upToDate { $0.chapters[1].file = nil },
            upToDate: false
        ),
        UpToDateRow(name: "a chapter's file removed", missing: ["02-ownership.md"], upToDate: false),
    ]

    @Test(
        "a folder is up to date only when its manifest records this outline under these settings, complete, every file in place",
        arguments: upToDateRows
    )
    func isUpToDate(row: UpToDateRow) {
        let present = Set(row.manifest?.chapters.compactMap(\.file) ?? []).subtracting(row.missing)
        #expect(
            Plan.isUpToDate(row.manifest, outline: row.outline, settings: row.settings, isFile: present.contains)
                == row.upToDate
        )
    }

    @Test("a manifest describes an outline only with the same digest and the same key for every chapter")
    func describes() {
        let manifest = Self.upToDate
        #expect(manifest.describes(Self.base, settings: GenerationSettings()))
        #expect(!manifest.describes(Self.base, settings: GenerationSettings(model: "gemini-2.5-pro")))
        var reordered = manifest
        reordered.chapters.swapAt(0, 1)
        #expect(!reordered.describes(Self.base, settings: GenerationSettings()))
    }

    // MARK: - Budget skips

    struct KeepRow: Sendable, CustomTestStringConvertible {
        var name: String
        var previousBudget: Double? = 1
        var previousPrice: Price? = KeepRow.price
        var hasPrevious = true
        var retrying = false
        var budget: Double? = 1
        var price: Price? = KeepRow.price
        var keeps: Bool
        var testDescription: String { name }

        static let price = Price(inputPerMillion: 1, outputPerMillion: 10, thinkingPerMillion: 10)
    }

    static let keepRows: [KeepRow] = [
        KeepRow(name: "the daemon's retry, same budget and price", keeps: true),
        KeepRow(name: "a save (or a command-line run)", retrying: true, keeps: false),
        KeepRow(name: "a higher budget", budget: 2, keeps: false),
        KeepRow(name: "no budget any more", budget: nil, keeps: false),
        KeepRow(
            name: "another price",
            price: Price(inputPerMillion: 0.5, outputPerMillion: 5, thinkingPerMillion: 5),
            keeps: false
        ),
        KeepRow(name: "no price any more", price: nil, keeps: false),
        KeepRow(name: "nothing published before", hasPrevious: false, keeps: false),
    ]

    @Test(
        "the chapters a run skipped for its budget stay skipped, unless a save retries them or the budget or price changed",
        arguments: keepRows
    )
    func keepsBudgetSkips(row: KeepRow) {
        var previous = Self.upToDate
        previous.budget = row.previousBudget
        previous.price = row.previousPrice
        let keeps = Plan.keepsBudgetSkips(
            row.hasPrevious ? previous : nil,
            retrying: row.retrying,
            budget: row.budget,
            price: row.price
        )
        #expect(keeps == row.keeps)
    }

    /// `base` with chapter 2's points changed: the last run wanted its new key, and skipped it
    /// for the budget, keeping its earlier text published.
    static let changed = PlanTests.outline([
        ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows and lifetimes"]),
        ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
    ])

    static var wanted: ChapterKey { PlanTests.chapters(changed)[1].key }

    static let skipMessage = "not sent: it could cost $0.03 and $0.01 of the budget is left"

    struct SkipRow: Sendable, CustomTestStringConvertible {
        var name: String
        var keeps = true
        /// The entry's key in the last manifest (nil: the key this outline wants).
        var skippedKey: String? = nil
        var message: String? = LastRunTests.skipMessage
        var available = false
        var failedNow: Plan.Failure? = nil
        var action: Plan.Action
        var testDescription: String { name }
    }

    static let skipRows: [SkipRow] = [
        SkipRow(
            name: "kept: no request, its message, its earlier text still published",
            action: .skippedForBudget(skipMessage)
        ),
        SkipRow(name: "not kept: requested", keeps: false, action: .generate),
        SkipRow(name: "kept, its text available since: published", available: true, action: .publish),
        SkipRow(
            name: "kept, but its entry changed since: requested",
            skippedKey: String(repeating: "0", count: 64),
            action: .generate
        ),
        SkipRow(
            name: "kept, without a message: the usual one",
            message: nil,
            action: .skippedForBudget("not sent: the run's budget would not cover it")
        ),
        SkipRow(
            name: "kept, and skipped again in this run: this run's message",
            failedNow: Plan.Failure(message: "not sent: $0.00 left", retryable: false, skippedForBudget: true),
            action: .skippedForBudget("not sent: $0.00 left")
        ),
    ]

    @Test("a kept budget skip is a plan input: the chapter is skipped again without a request", arguments: skipRows)
    func keptSkip(row: SkipRow) {
        var published = PlanTests.published(Self.base)
        published.manifest.chapters[1].key = row.skippedKey ?? Self.wanted.hex
        published.manifest.chapters[1].state = .skippedForBudget
        published.manifest.chapters[1].error = row.message
        if row.available { published.available[Self.wanted] = PlanTests.renderedHash(Self.wanted) }
        var inputs = Plan.Inputs(
            chapters: PlanTests.chapters(Self.changed),
            previous: published.manifest,
            live: published.live,
            available: published.available,
            failed: row.failedNow.map { [Self.wanted: $0] } ?? [:]
        )
        inputs.keepsBudgetSkips = row.keeps
        let plan = Plan.make(inputs)
        let chapter = plan.chapters[1]
        #expect(chapter.action == row.action)
        #expect(plan.requests.count == (row.action == .generate ? 1 : 0))
        if case .skippedForBudget(let message) = row.action {
            #expect(chapter.entry.state == .skippedForBudget && chapter.entry.error == message)
            #expect(chapter.source == .live("02-ownership.md"))
        }
    }
}
