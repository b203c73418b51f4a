import Testing

@testable import Generation

/// What a folder's last manifest decides before a run: whether the folder is exactly up to date.
/// Pure, like `Plan.make`: a manifest and the names of the files present, no disk.
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
            settings: GenerationSettings(temperature: 0.3),
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
}
