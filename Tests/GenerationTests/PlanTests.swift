import Testing

@testable import Generation
@testable import Providers
@testable import Outlines
import Platform

/// The plan as a pure function: outlines, a previous manifest and the folder's files as hashes,
/// no disk and no network.
@Suite("Plan")
struct PlanTests {
    /// A folder as the plan sees it after `outline` was published with texts `version`: the
    /// manifest coursegen wrote and the hashes of the live files.
    struct Published {
        var manifest: Manifest
        var live: [String: String]
        /// Every key whose text is stored, with the hash of the file it renders to.
        var available: [ChapterKey: String]
    }

    static let settings = GenerationSettings()

    static func outline(_ chapters: [(String, [String])], level: String = "intermediate") -> Outline {
        Outline(
            title: "Practical Rust",
            level: level,
            chapters: chapters.map { Outline.Chapter(title: $0.0, points: $0.1) }
        )
    }

    static let base = outline([
        ("Getting started", ["Installing rustup"]),
        ("Ownership", ["Moves and copies", "Borrows"]),
        ("Error handling", ["The ? operator"]),
        ("Shipping", ["Release builds"]),
    ])

    static func chapters(_ outline: Outline, settings: GenerationSettings = settings) -> [Plan.Inputs.Chapter] {
        zip(outline.chapters, ChapterKey.all(settings: settings, outline: outline)).map {
            Plan.Inputs.Chapter(title: $0.title, key: $1)
        }
    }

    /// The hash a stored text renders to, standing in for real bytes: distinct per key.
    static func renderedHash(_ key: ChapterKey) -> String { sha256Hex(Array("rendered \(key.hex)".utf8)) }

    /// `outline` generated and published into an empty folder.
    static func published(_ outline: Outline, settings: GenerationSettings = settings) -> Published {
        let chapters = chapters(outline, settings: settings)
        let available = Dictionary(uniqueKeysWithValues: chapters.map { ($0.key, renderedHash($0.key)) })
        let plan = Plan.make(.init(chapters: chapters, previous: nil, live: [:], available: available))
        var live = [Publisher.summaryName: sha256Hex(plan.summary)]
        for chapter in plan.chapters { live[chapter.fileName] = chapter.entry.sha256 }
        let manifest = Manifest(
            outline: "course",
            source: "/inbox/course.md",
            folder: "/out/course",
            title: outline.title,
            outlineDigest: outline.digest,
            chapters: plan.chapters.map(\.entry),
            summarySha256: sha256Hex(plan.summary),
            usage: Usage(),
            requests: chapters.count,
            lastRun: .distantPast
        )
        return Published(manifest: manifest, live: live, available: available)
    }

    static func plan(
        _ outline: Outline,
        after published: Published,
        settings: GenerationSettings = settings,
        live: [String: String]? = nil,
        failed: [ChapterKey: Plan.Failure] = [:],
        force: Bool = false
    ) -> Plan {
        Plan.make(
            .init(
                chapters: chapters(outline, settings: settings),
                previous: published.manifest,
                live: live ?? published.live,
                available: published.available,
                failed: failed,
                force: force
            )
        )
    }

    // MARK: - The request-count table of the README

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var outline: Outline
        var settings = PlanTests.settings
        var requests: Int
        /// Whether the numbering changes (a file name disappears): the folder is swapped whole.
        var swaps: Bool
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no change", outline: base, requests: 0, swaps: false),
        Row(
            name: "one chapter's points",
            outline: outline([
                ("Getting started", ["Installing rustup"]),
                ("Ownership", ["Moves and copies", "Borrows and lifetimes"]),
                ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
            ]),
            requests: 1,
            swaps: false
        ),
        Row(
            name: "one chapter's title",
            outline: outline([
                ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows"]),
                ("Error handling", ["The ? operator"]), ("Shipping a tool", ["Release builds"]),
            ]),
            requests: 1,
            swaps: true
        ),
        Row(
            name: "two chapters swapped",
            outline: outline([
                ("Getting started", ["Installing rustup"]), ("Error handling", ["The ? operator"]),
                ("Ownership", ["Moves and copies", "Borrows"]), ("Shipping", ["Release builds"]),
            ]),
            requests: 0,
            swaps: true
        ),
        Row(
            name: "a chapter inserted",
            outline: outline([
                ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows"]),
                ("Error handling", ["The ? operator"]), ("Testing", ["cargo test"]), ("Shipping", ["Release builds"]),
            ]),
            requests: 1,
            swaps: true
        ),
        Row(
            name: "a chapter deleted",
            outline: outline([
                ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows"]),
                ("Shipping", ["Release builds"]),
            ]),
            requests: 0,
            swaps: true
        ),
        Row(
            name: "a course-level field",
            outline: outline(
                [
                    ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows"]),
                    ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
                ],
                level: "beginner"
            ),
            requests: 4,
            swaps: false
        ),
        Row(
            name: "the model",
            outline: base,
            settings: GenerationSettings(model: "gemini-2.5-pro"),
            requests: 4,
            swaps: false
        ),
        Row(
            name: "a generation setting",
            outline: base,
            settings: GenerationSettings(thinkingLevel: .low),
            requests: 4,
            swaps: false
        ),
    ]

    @Test("each change to the outline asks for exactly the requests the README's table says", arguments: rows)
    func requestCounts(row: Row) {
        let plan = Self.plan(row.outline, after: Self.published(Self.base), settings: row.settings)
        #expect(plan.requests.count == row.requests)
        #expect(!plan.removals.isEmpty == row.swaps)
        #expect(plan.backups.isEmpty)
        // Until their text arrives, chapters being generated keep their previous version.
        for chapter in plan.requests {
            let previous = Self.base.chapters.contains {
                ChapterIdentity(title: $0.title) == ChapterIdentity(title: chapter.title)
            }
            #expect((chapter.source != nil) == previous, "\(chapter.title)")
            #expect(chapter.entry.state == .pending)
        }
    }

    @Test("an unchanged outline over an unchanged folder writes nothing")
    func unchanged() {
        let plan = Self.plan(Self.base, after: Self.published(Self.base))
        #expect(plan.chapters.allSatisfy { $0.action == .publish && $0.isUnchanged })
        #expect(plan.removals.isEmpty && plan.backups.isEmpty)
        #expect(plan.hashes == Self.published(Self.base).live)
    }

    @Test("a first run over an empty folder requests every chapter and publishes nothing yet")
    func firstRun() {
        let chapters = Self.chapters(Self.base)
        let plan = Plan.make(.init(chapters: chapters, previous: nil, live: [:], available: [:]))
        #expect(plan.requests.count == 4)
        #expect(plan.files.isEmpty)
        // SUMMARY.md lists every chapter as an mdBook draft until its text arrives.
        #expect(plan.summary == ChapterFile.summary(Self.base.chapters.map { ($0.title, nil) }))
    }

    @Test("a renumbering moves every file to its new name and carries its text")
    func renumbering() {
        let published = Self.published(Self.base)
        let moved = Self.rows.first { $0.name == "two chapters swapped" }!.outline
        let plan = Self.plan(moved, after: published)
        #expect(
            plan.files.map(\.name) == [
                "01-getting-started.md", "02-error-handling.md", "03-ownership.md", "04-shipping.md",
            ]
        )
        #expect(plan.removals == ["02-ownership.md", "03-error-handling.md"])
        #expect(plan.chapters.map(\.isUnchanged) == [true, false, false, true])
        #expect(plan.chapters.allSatisfy { $0.action == .publish })
    }

    // MARK: - Hand edits

    /// `published` with the file of chapter `position` edited by someone.
    static func edited(_ published: Published, file: String) -> [String: String] {
        var live = published.live
        live[file] = sha256Hex(Array("my own careful words".utf8))
        return live
    }

    @Test("a hand-edited chapter is kept without a request, under its new number when moved")
    func handEditKept() {
        let published = Self.published(Self.base)
        let live = Self.edited(published, file: "02-ownership.md")
        // Unchanged outline: kept, the entry did not change.
        var plan = Self.plan(Self.base, after: published, live: live)
        #expect(plan.chapters[1].action == .keepHandEdit(entryChanged: false))
        #expect(plan.chapters[1].source == .live("02-ownership.md"))
        #expect(plan.chapters[1].isUnchanged)
        #expect(plan.requests.isEmpty && plan.backups.isEmpty)
        // Its entry changes and it moves: still no request; the edit moves with it.
        let changed = Self.outline([
            ("Getting started", ["Installing rustup"]), ("Error handling", ["The ? operator"]),
            ("Ownership", ["Moves and copies", "Borrows and lifetimes"]), ("Shipping", ["Release builds"]),
        ])
        plan = Self.plan(changed, after: published, live: live)
        #expect(plan.requests.isEmpty)
        #expect(plan.chapters[2].action == .keepHandEdit(entryChanged: true))
        #expect(plan.chapters[2].fileName == "03-ownership.md")
        #expect(plan.chapters[2].source == .live("02-ownership.md"))
        // The manifest keeps the hash coursegen wrote, so the file stays recognised as edited.
        #expect(plan.chapters[2].entry.sha256 == published.live["02-ownership.md"])
        #expect(plan.chapters[2].entry.state == .handEdited)
        #expect(plan.backups.isEmpty)
    }

    @Test("with --force a hand-edited chapter is requested, kept until its text arrives, then backed up")
    func handEditForced() {
        let published = Self.published(Self.base)
        let live = Self.edited(published, file: "02-ownership.md")
        let changed = Self.outline([
            ("Getting started", ["Installing rustup"]), ("Ownership", ["Moves and copies", "Borrows and lifetimes"]),
            ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
        ])
        let before = Self.plan(changed, after: published, live: live, force: true)
        #expect(before.requests.map(\.title) == ["Ownership"])
        #expect(before.chapters[1].source == .live("02-ownership.md"))
        #expect(before.backups.isEmpty)

        var arrived = published
        let key = Self.chapters(changed)[1].key
        arrived.available[key] = Self.renderedHash(key)
        let after = Self.plan(changed, after: arrived, live: live, force: true)
        #expect(after.chapters[1].action == .publish)
        #expect(after.backups == ["02-ownership.md"])
    }

    @Test("a stray NN-name.md file coursegen did not write is backed up, never lost")
    func strayFile() {
        let published = Self.published(Self.base)
        var live = published.live
        live["07-my-extra.md"] = sha256Hex(Array("# Mine".utf8))
        let plan = Self.plan(Self.base, after: published, live: live)
        #expect(plan.backups == ["07-my-extra.md"])
        #expect(plan.removals == ["07-my-extra.md"])
    }

    @Test("a live file identical to what would be written is not backed up, manifest or not")
    func identicalFileNotBackedUp() {
        var published = Self.published(Self.base)
        let live = published.live
        published.manifest.chapters = []
        published.manifest.summarySha256 = nil
        let plan = Plan.make(
            .init(chapters: Self.chapters(Self.base), previous: nil, live: live, available: published.available)
        )
        #expect(plan.backups.isEmpty)
        #expect(plan.chapters.allSatisfy { $0.isUnchanged })
    }

    // MARK: - Failures

    @Test("a failed chapter keeps its previous version, renumbered; one without a version has no file")
    func failures() {
        let published = Self.published(Self.base)
        let changed = Self.outline([
            ("Getting started", ["Installing rustup"]), ("Testing", ["cargo test"]),
            ("Ownership", ["Moves and copies", "Borrows and lifetimes"]), ("Error handling", ["The ? operator"]),
            ("Shipping", ["Release builds"]),
        ])
        let keys = Self.chapters(changed).map(\.key)
        let plan = Self.plan(
            changed,
            after: published,
            failed: [
                keys[1]: .init(message: "HTTP 400: no", retryable: false),
                keys[2]: .init(message: "HTTP 500: gave up", retryable: true),
            ]
        )
        #expect(plan.chapters[1].action == .failed("HTTP 400: no"))
        #expect(plan.chapters[1].source == nil)
        #expect(plan.chapters[1].entry.state == .failed)
        #expect(plan.chapters[2].action == .failed("HTTP 500: gave up"))
        #expect(plan.chapters[2].source == .live("02-ownership.md"))
        #expect(plan.chapters[2].fileName == "03-ownership.md")
        #expect(plan.chapters[2].entry.publishedKey == published.manifest.chapters[1].publishedKey)
        #expect(plan.chapters[2].entry.error == "HTTP 500: gave up")
        #expect(plan.chapters[1].entry.retryable == false && plan.chapters[2].entry.retryable == true)
        // SUMMARY.md links only files that exist; a chapter without one is a draft.
        let summary = String(decoding: plan.summary, as: UTF8.self)
        #expect(summary.contains("- [Testing]()\n"))
        #expect(summary.contains("(03-ownership.md)"))
    }

    @Test(
        "a chapter moved and edited in the same save is requested once, its old text shown meanwhile under its new number"
    )
    func movedAndEdited() {
        let published = Self.published(Self.base)
        let changed = Self.outline([
            ("Ownership", ["Moves, copies and clones", "Borrows"]), ("Getting started", ["Installing rustup"]),
            ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
        ])
        let plan = Self.plan(changed, after: published)
        #expect(plan.requests.map(\.title) == ["Ownership"])
        #expect(plan.chapters[0].fileName == "01-ownership.md")
        #expect(plan.chapters[0].source == .live("02-ownership.md"))
        #expect(plan.removals == ["01-getting-started.md", "02-ownership.md"])
        #expect(plan.chapters[1].fileName == "02-getting-started.md")
        #expect(plan.chapters[1].source == .body(Self.chapters(changed)[1].key))
    }

    @Test("a chapter is matched to its previous version by identity: case and spacing of its title do not matter")
    func identity() {
        let published = Self.published(Self.base)
        var live = published.live
        live["02-ownership.md"] = sha256Hex(Array("edited".utf8))
        let respaced = Self.outline([
            ("Getting started", ["Installing rustup"]), ("  OWNERSHIP ", ["Moves and copies", "Borrows"]),
            ("Error handling", ["The ? operator"]), ("Shipping", ["Release builds"]),
        ])
        let plan = Self.plan(respaced, after: published, live: live)
        #expect(plan.chapters[1].action == .keepHandEdit(entryChanged: true))
    }
}

extension Plan {
    /// SHA-256 of every file the plan publishes (chapters and `SUMMARY.md`), by name.
    var hashes: [String: String] {
        var hashes = [Publisher.summaryName: sha256Hex(summary)]
        for chapter in chapters where chapter.source != nil {
            hashes[chapter.fileName] = chapter.entry.sha256
        }
        return hashes
    }
}
