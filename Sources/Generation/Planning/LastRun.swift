/// Decisions taken from the manifest of a folder's last run alone, beside `Plan.make` and as
/// pure: whether the folder is already exactly up to date (the daemon then runs nothing).
extension Plan {
    /// True when `previous` records `outline`, under `settings`, brought up to date: HTML
    /// published as `settings.allowHTML` says, under the sanitizer's current rules (an upgrade
    /// that changes them republishes), nothing failed, pending or skipped for the budget, and
    /// every chapter's file in place (`isFile`, by name in the folder): a save that changed no
    /// parsed field needs no work at all.
    static func isUpToDate(
        _ previous: Manifest?,
        outline: Outline,
        settings: GenerationSettings,
        isFile: (String) -> Bool
    ) -> Bool {
        guard let previous, previous.describes(outline, settings: settings),
            previous.htmlAllowed == settings.allowHTML, previous.sanitizerVersion == ChapterSanitizer.version
        else { return false }
        return previous.chapters.allSatisfy { chapter in
            ![.failed, .pending, .skippedForBudget].contains(chapter.state) && chapter.file.map(isFile) == true
        }
    }
}

extension Manifest {
    /// True when this manifest was written for `outline` under `settings`: the same parsed
    /// outline, the same key for every chapter.
    func describes(_ outline: Outline, settings: GenerationSettings) -> Bool {
        outlineDigest == outline.digest
            && chapters.map(\.key) == ChapterKey.all(settings: settings, outline: outline).map(\.hex)
    }
}
