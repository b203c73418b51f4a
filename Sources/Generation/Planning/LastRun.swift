import Outlines
import Providers
/// Decisions taken from the manifest of a folder's last run alone, beside `Plan.make` and as
/// pure: whether the folder is already exactly up to date (the daemon then runs nothing), and
/// whether the chapters the last run skipped for its budget stay skipped (an input of the plan).
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

    /// Whether the chapters the last run (`previous`) skipped for its budget stay skipped
    /// (`Inputs.keepsBudgetSkips`): not when this run retries them (a save or a command-line run),
    /// nor when the budget or the price changed since. The same budget and price would skip them
    /// again: the daemon's own retries must not spend a fresh budget on them each time.
    static func keepsBudgetSkips(_ previous: Manifest?, retrying: Bool, budget: Double?, price: Price?) -> Bool {
        guard let previous, !retrying else { return false }
        return previous.budget == budget && previous.price == price
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
