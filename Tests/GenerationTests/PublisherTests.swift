import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Generation

@Suite("Publisher")
struct PublisherTests {
    let files = FileSystem.posix

    /// A version of the folder for `titles`; chapter files of the live folder that it lacks are
    /// its removals, as a plan would say.
    func plan(_ titles: [String], tag: String = "v1", backups: [String] = [], folder: String? = nil)
        -> Publisher.Version
    {
        let chapters = titles.enumerated().map { index, title in
            (
                ChapterFile.name(position: index + 1, count: titles.count, title: title),
                ChapterFile.render(title: title, body: "Body of \(title) (\(tag)).\nEND")
            )
        }
        let names = Set(chapters.map(\.0))
        let live = folder.map { (try? files.entries(of: $0)) ?? [] } ?? []
        return Publisher.Version(
            chapters: chapters,
            summary: ChapterFile.summary(zip(titles, chapters.map(\.0)).map { ($0, $1) }),
            bookConfiguration: ChapterFile.bookConfiguration(title: "Course"),
            backups: backups,
            removals: live.filter { ChapterFile.isChapterFileName($0) && !names.contains($0) }.sorted()
        )
    }

    @Test("the first publish creates the folder with chapters, SUMMARY.md and book.toml")
    func firstPublish() throws {
        let temp = try TemporaryFolder()
        let publisher = Publisher(folder: "\(temp.path)/out/course")
        try files.makeDirectory("\(temp.path)/out")
        let result = try publisher.publish(plan(["Intro", "Ownership"]))
        #expect(temp.list("out/course") == ["01-intro.md", "02-ownership.md", "SUMMARY.md", "book.toml"])
        #expect(temp.read("out/course/02-ownership.md") == "# Ownership\n\nBody of Ownership (v1).\nEND\n")
        #expect(result.swappedFolder)
        // The staging area holds nothing once done.
        #expect(temp.list("out/.coursegen-staging") == [])
    }

    @Test("book.toml follows the course's title while it holds what coursegen wrote; an edited one is kept", arguments: [false, true])
    func bookTitleFollows(edited: Bool) throws {
        let temp = try TemporaryFolder()
        let folder = "\(temp.path)/course"
        let publisher = Publisher(folder: folder)
        _ = try publisher.publish(plan(["Intro"]))
        if edited { try temp.write("course/book.toml", "[book]\ntitle = \"Mine\"\n") }
        let before = temp.read("course/book.toml")
        var next = plan(["Intro"])
        next.previousBookConfiguration = next.bookConfiguration
        next.bookConfiguration = ChapterFile.bookConfiguration(title: "Renamed course")
        _ = try publisher.publish(next)
        if edited {
            #expect(temp.read("course/book.toml") == before)
        } else {
            #expect(temp.read("course/book.toml") == String(decoding: next.bookConfiguration, as: UTF8.self))
        }
    }

    @Test("a changed chapter is replaced alone; unchanged files are not rewritten")
    func perFile() throws {
        let temp = try TemporaryFolder()
        let folder = "\(temp.path)/course"
        let publisher = Publisher(folder: folder)
        _ = try publisher.publish(plan(["Intro", "Ownership"]))
        let before = files.identity(of: "\(folder)/01-intro.md")
        var next = plan(["Intro", "Ownership"])
        next.chapters[1].bytes = ChapterFile.render(title: "Ownership", body: "New text.")
        next.unchanged = ["01-intro.md", "SUMMARY.md"]
        let result = try publisher.publish(next)
        #expect(!result.swappedFolder)
        #expect(files.identity(of: "\(folder)/01-intro.md")! == before!)
        #expect(temp.read("course/02-ownership.md") == "# Ownership\n\nNew text.\n")
    }

    @Test("a reorder swaps the whole folder and keeps every file coursegen does not own")
    func reorderKeepsForeignFiles() throws {
        let temp = try TemporaryFolder()
        let folder = "\(temp.path)/course"
        let publisher = Publisher(folder: folder)
        _ = try publisher.publish(plan(["Intro", "Ownership", "Testing"]))
        try temp.write("course/book.toml", "[book]\ntitle = \"Mine\"\n")
        try temp.write("course/notes.txt", "my notes")
        try temp.write("course/book/index.html", "<html>")
        let result = try publisher.publish(plan(["Testing", "Intro", "Ownership"], folder: folder))
        #expect(result.swappedFolder)
        #expect(
            temp.list("course") == [
                "01-testing.md", "02-intro.md", "03-ownership.md", "SUMMARY.md", "book", "book.toml", "notes.txt",
            ]
        )
        #expect(temp.read("course/01-testing.md")?.hasPrefix("# Testing\n") == true)
        #expect(temp.read("course/book.toml") == "[book]\ntitle = \"Mine\"\n")
        #expect(temp.read("course/book/index.html") == "<html>")
        // Only the replaced version is left, for readers that were listing it.
        #expect(temp.list(".coursegen-staging").allSatisfy { $0.hasPrefix("course.retired.") })
    }

    @Test("replaced versions are kept for readers for a while, then removed with other leftovers")
    func leftovers() throws {
        let temp = try TemporaryFolder()
        let publisher = Publisher(folder: "\(temp.path)/course")
        let now = Date()
        let recent = Int(now.timeIntervalSince1970) - 10
        let old = Int(now.timeIntervalSince1970) - Int(Publisher.retiredVersionLifetime) - 10
        for name in ["course.retired.\(recent).1", "course.retired.\(old).2", "course.99", "other.retired.\(old).3"] {
            try temp.write(".coursegen-staging/\(name)/01-a.md", "x")
        }
        try publisher.removeLeftovers(now: now)
        #expect(temp.list(".coursegen-staging") == ["course.retired.\(recent).1", "other.retired.\(old).3"])
    }

    @Test("a file named for backup is kept as NAME.orig, never overwritten")
    func backups() throws {
        let temp = try TemporaryFolder()
        let folder = "\(temp.path)/course"
        let publisher = Publisher(folder: folder)
        _ = try publisher.publish(plan(["Intro"]))
        try temp.write("course/01-intro.md", "# Intro\n\nMy careful edit.\n")
        try temp.write("course/01-intro.md.orig", "an older backup")
        let result = try publisher.publish(plan(["Intro"], tag: "v2", backups: ["01-intro.md"]))
        #expect(result.backups == ["01-intro.md": "01-intro.md.orig-2"])
        #expect(temp.read("course/01-intro.md.orig-2") == "# Intro\n\nMy careful edit.\n")
        #expect(temp.read("course/01-intro.md.orig") == "an older backup")
        #expect(temp.read("course/01-intro.md")?.contains("(v2)") == true)
    }

    @Test("publishing into a path that is a file fails with a clear error and changes nothing")
    func notAFolder() throws {
        let temp = try TemporaryFolder()
        try temp.write("course", "I am a file")
        #expect(throws: FileError.self) { try Publisher(folder: "\(temp.path)/course").publish(plan(["Intro"])) }
        #expect(temp.read("course") == "I am a file")
    }

    @Test("a reader never sees a partial, empty or temporary file, nor two numberings mixed")
    func readersSeeOnlyWholeVersions() async throws {
        let temp = try TemporaryFolder()
        let folder = "\(temp.path)/course"
        let publisher = Publisher(folder: folder)
        // Versions alternate between two orders (renumbering: whole-folder swaps) and edits of
        // one chapter (per-file replacement), with bodies large enough to be written in pieces.
        let orders = [["Intro", "Ownership", "Testing", "Shipping"], ["Shipping", "Testing", "Intro", "Ownership"]]
        let validNameSets = Set(
            orders.map { order in
                Set(
                    order.enumerated().map { ChapterFile.name(position: $0 + 1, count: order.count, title: $1) } + [
                        "SUMMARY.md", "book.toml",
                    ]
                )
            }
        )
        _ = try publisher.publish(plan(orders[0]))

        let stop = Atomic(false)
        let violations = Locked([String]())
        let observations = Atomic(0)
        @Sendable func read() {
            while !stop.load(ordering: .relaxed) {
                guard let names = try? files.entries(of: folder) else { continue }
                if !validNameSets.contains(Set(names)) {
                    violations.withLockedValue { $0.append("names \(names.sorted())") }
                }
                for name in names where name.hasSuffix(".md") {
                    // A file swapped away meanwhile cannot be read: that is fine.
                    guard let bytes = try? files.read("\(folder)/\(name)") else { continue }
                    let text = String(decoding: bytes, as: UTF8.self)
                    if name != "SUMMARY.md" && !(text.hasPrefix("# ") && text.hasSuffix("END\n")) {
                        violations.withLockedValue { $0.append("\(name): \(text.prefix(40))…\(text.suffix(10))") }
                    }
                }
                observations.add(1, ordering: .relaxed)
            }
        }
        async let readerDone: Void = withCheckedContinuation { done in
            Thread {
                read()
                done.resume()
            }.start()
        }
        let filler = String(repeating: "lorem ipsum ", count: 2_000)
        for round in 0..<40 {
            var next = plan(orders[round % 2], tag: "round \(round) \(filler)", folder: folder)
            if round % 3 == 0 { next.chapters[0].bytes = ChapterFile.render(title: "Edited", body: "\(round)\nEND") }
            _ = try publisher.publish(next)
            await Task.yield()
        }
        stop.store(true, ordering: .relaxed)
        await readerDone
        #expect(violations.value.isEmpty, "\(violations.value.prefix(5))")
        #expect(observations.load(ordering: .relaxed) > 0)
    }
}
