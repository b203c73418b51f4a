import Providers
import Outlines
import Platform

/// What a run does with each chapter of an outline, and what the outline's folder holds once the
/// plan is published: a pure function of what the engine gathered beforehand, so that every rule
/// below is a row of a table test.
///
/// Per chapter, in outline order:
/// 1. Its previously published file was edited by someone (its bytes are not a file coursegen
///    wrote) and `--force` is off: the edit is kept, under the chapter's new file name if it moved;
///    no request.
/// 2. Its text is available (stored under its key): it is published.
/// 3. Otherwise it needs a request (unless the last run skipped it for its budget and this run
///    keeps such skips); until its text arrives (and for good if the request fails) its previous
///    version stays published, renumbered if needed; a chapter with no previous version has no
///    file yet.
///
/// A chapter is matched to its previous version by `ChapterIdentity`, never by position. Every
/// managed file in the folder (`NN-name.md`, `SUMMARY.md`) that coursegen did not write, and whose
/// bytes the new version does not carry over, is kept as `NAME.orig`: a hand edit replaced with
/// `--force`, a stray file. Nothing the author wrote is ever removed.
struct Plan: Sendable, Hashable {
    /// Everything the decision depends on.
    struct Inputs: Sendable {
        struct Chapter: Sendable {
            var title: String
            var key: ChapterKey
        }

        /// The outline's chapters, in order.
        var chapters: [Chapter]
        /// What was last published in the folder.
        var previous: Manifest?
        /// The managed files in the folder now (`NN-name.md`, `SUMMARY.md`): name -> SHA-256 of
        /// their bytes.
        var live: [String: String]
        /// Keys whose text is available -> SHA-256 of the file that text renders to for its
        /// chapter (a key belongs to one chapter: its title is in the key).
        var available: [ChapterKey: String]
        /// Keys whose request failed in this run, with why.
        var failed: [ChapterKey: Failure] = [:]
        /// Regenerate hand-edited chapters too (`--force`).
        var force = false
        /// Chapters the last run skipped for its budget stay skipped, without a request, while
        /// their key is the same (`Plan.keepsBudgetSkips` says when).
        var keepsBudgetSkips = false
    }

    /// Why a chapter's request failed, and whether trying again later may help.
    struct Failure: Sendable, Hashable {
        var message: String
        /// False when only the author can fix it (a blocked prompt, a refusal) or the
        /// configuration (a refused key): waiting will not help.
        var retryable: Bool
        /// Not sent because the run's budget would not cover it.
        var skippedForBudget = false
        /// How the failure was classified, kept in the manifest for the status page.
        var disposition: ProviderError.Disposition? = nil
    }

    /// What happens to a chapter.
    enum Action: Sendable, Hashable {
        /// Its text is available: publish it.
        case publish
        /// Its file was edited by hand: keep it. `entryChanged` when the chapter's outline entry
        /// changed since coursegen wrote the file (the edit then stands for a stale text).
        case keepHandEdit(entryChanged: Bool)
        /// Its text must be requested.
        case generate
        /// Its request failed in this run.
        case failed(String)
        /// Its request was not sent: the run's budget would not cover it.
        case skippedForBudget(String)
    }

    /// Where a published file's bytes come from.
    enum Source: Sendable, Hashable {
        /// The stored text of this key, rendered for its chapter.
        case body(ChapterKey)
        /// The file of this name now in the folder, as it is (a hand edit, or a previous version).
        case live(String)
    }

    struct Chapter: Sendable, Hashable {
        /// 1-based.
        var position: Int
        var title: String
        var key: ChapterKey
        /// `NN-slug.md` for its position.
        var fileName: String
        var action: Action
        /// What its file holds once the plan is published; nil when it has no file.
        var source: Source?
        /// True when the folder already holds exactly that file under that name: nothing to write.
        var isUnchanged: Bool
        /// Its manifest entry once the plan is published.
        var entry: Manifest.Chapter
    }

    var chapters: [Chapter]
    /// `SUMMARY.md`: every chapter in order, those without a file as mdBook drafts.
    var summary: [UInt8]
    /// Live files to keep as `NAME.orig` before they are replaced or removed.
    var backups: [String]
    /// Live chapter files the new version does not have (renumbered, retitled, removed). When
    /// there is any, the folder is exchanged as a whole, so no reader sees two numberings.
    var removals: [String]
    /// True when the folder's `SUMMARY.md` is already `summary`.
    var summaryIsUnchanged: Bool

    /// Chapters that need a request.
    var requests: [Chapter] { chapters.filter { $0.action == .generate } }

    /// Files the folder already holds exactly as planned: nothing to write.
    var unchanged: Set<String> {
        var names = Set(chapters.filter(\.isUnchanged).map(\.fileName))
        if summaryIsUnchanged { names.insert(Publisher.summaryName) }
        return names
    }

    /// The published files in outline order, with where their bytes come from.
    var files: [(name: String, source: Source)] {
        chapters.compactMap { chapter in chapter.source.map { (chapter.fileName, $0) } }
    }

    static func make(_ inputs: Inputs) -> Plan {
        let previous = inputs.previous
        let earlierByIdentity = Dictionary(
            (previous?.chapters ?? []).map { (ChapterIdentity(title: $0.title), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let count = inputs.chapters.count
        var chapters: [Chapter] = []
        for (index, chapter) in inputs.chapters.enumerated() {
            let name = ChapterFile.name(position: index + 1, count: count, title: chapter.title)
            let earlier = earlierByIdentity[ChapterIdentity(title: chapter.title)]
            // What is published for it now, if anything, and whether someone edited it.
            let earlierCopy = earlier.flatMap { earlier -> (file: String, hash: String, edited: Bool)? in
                guard let file = earlier.file, let hash = inputs.live[file] else { return nil }
                return (file, hash, !(previous?.wrote(hash) ?? false))
            }
            var entry = Manifest.Chapter(title: chapter.title, key: chapter.key.hex, state: .upToDate)
            let action: Action
            var source: Source? = nil

            if let earlier, let earlierCopy, earlierCopy.edited, !inputs.force {
                action = .keepHandEdit(entryChanged: earlier.publishedKey != chapter.key.hex)
                source = .live(earlierCopy.file)
                entry.sha256 = earlier.sha256
                entry.publishedKey = earlier.publishedKey
                entry.state = .handEdited
            } else if let hash = inputs.available[chapter.key] {
                action = .publish
                source = .body(chapter.key)
                entry.sha256 = hash
                entry.publishedKey = chapter.key.hex
            } else {
                let keptSkip = earlier.flatMap { earlier -> Failure? in
                    guard inputs.keepsBudgetSkips, earlier.state == .skippedForBudget, earlier.key == chapter.key.hex
                    else { return nil }
                    let message = earlier.error ?? "not sent: the run's budget would not cover it"
                    return Failure(message: message, retryable: false, skippedForBudget: true)
                }
                if let failure = inputs.failed[chapter.key] ?? keptSkip, failure.skippedForBudget {
                    action = .skippedForBudget(failure.message)
                    entry.state = .skippedForBudget
                    entry.error = failure.message
                } else if let failure = inputs.failed[chapter.key] {
                    action = .failed(failure.message)
                    entry.state = .failed
                    entry.error = failure.message
                    entry.retryable = failure.retryable
                    entry.disposition = failure.disposition
                } else {
                    action = .generate
                    entry.state = .pending
                }
                if let earlier, let earlierCopy {
                    // The previous version stays published (renumbered if needed) until the new
                    // text arrives.
                    source = .live(earlierCopy.file)
                    entry.sha256 = earlierCopy.edited ? earlier.sha256 : earlierCopy.hash
                    entry.publishedKey = earlier.publishedKey
                    if earlierCopy.edited { entry.state = .handEdited }
                }
            }
            if source != nil { entry.file = name }
            let publishedHash: String? =
                switch source {
                case .body(let key): inputs.available[key]
                case .live(let file): inputs.live[file]
                case nil: nil
                }
            chapters.append(
                Chapter(
                    position: index + 1,
                    title: chapter.title,
                    key: chapter.key,
                    fileName: name,
                    action: action,
                    source: source,
                    isUnchanged: publishedHash != nil && inputs.live[name] == publishedHash,
                    entry: entry
                )
            )
        }

        let summary = ChapterFile.summary(
            chapters.map { ($0.title, $0.source == nil ? nil : $0.fileName) }
        )
        // Bytes the new version carries: a live file holding any of them loses nothing when it
        // is replaced.
        var carried = Set([sha256Hex(summary)])
        for chapter in chapters {
            switch chapter.source {
            case .body(let key): if let bytes = inputs.available[key] { carried.insert(bytes) }
            case .live(let file): if let bytes = inputs.live[file] { carried.insert(bytes) }
            case nil: break
            }
        }
        let backups = inputs.live.filter { _, hash in
            !(previous?.wrote(hash) ?? false) && !carried.contains(hash)
        }.keys.sorted()
        let names = Set(chapters.filter { $0.source != nil }.map(\.fileName))
        let removals = inputs.live.keys.filter { $0 != Publisher.summaryName && !names.contains($0) }.sorted()
        return Plan(
            chapters: chapters,
            summary: summary,
            backups: backups,
            removals: removals,
            summaryIsUnchanged: inputs.live[Publisher.summaryName] == sha256Hex(summary)
        )
    }
}
