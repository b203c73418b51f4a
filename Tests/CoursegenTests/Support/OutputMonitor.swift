import Foundation
import NIOConcurrencyHelpers
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Watches an output tree from a thread of its own for as long as a test runs, reading every
/// chapter file it can find as fast as it can, and records anything a reader must never see:
/// a temporary file, an empty or partial chapter or status page, or two numberings in one folder.
final class OutputMonitor: Sendable {
    private let root: String
    private let stop = Atomic(false)
    private let state = NIOLockedValueBox((violations: [String](), scans: 0))
    /// How many times a status page was read whole.
    private let pages = NIOLockedValueBox(0)
    private let done: AsyncStream<Void>
    private let finish: AsyncStream<Void>.Continuation

    /// Every chapter the fake server writes ends with this line.
    static let chapterEnding = "End of the fake chapter.\n"

    init(root: String) {
        self.root = root
        (done, finish) = AsyncStream<Void>.makeStream()
        let thread = Thread { [self] in
            while !stop.load(ordering: .relaxed) { scan() }
            finish.finish()
        }
        thread.start()
    }

    private func scan() {
        let manager = FileManager.default
        for folder in (try? manager.contentsOfDirectory(atPath: root)) ?? [] where !folder.hasPrefix(".") {
            // One version of the folder: everything is read through one descriptor of it, so a
            // folder exchanged meanwhile is still the one being looked at.
            let directory = open("\(root)/\(folder)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { continue }
            defer { close(directory) }
            let summary = Self.read("SUMMARY.md", in: directory)
            // The status page is whole or absent: its last line is the footer.
            if let page = Self.read("STATUS.md", in: directory) {
                let text = String(decoding: page, as: UTF8.self)
                let lastLine = text.dropLast().split(separator: "\n").last ?? ""
                if !text.hasPrefix("# Status of ") || !text.hasSuffix("._\n")
                    || !lastLine.hasPrefix("_Written by coursegen")
                {
                    record("partial status page \(folder)/STATUS.md: \(page.count) bytes")
                }
                pages.withLockedValue { $0 += 1 }
            }
            guard let names = Self.names(in: directory) else { continue }
            var numbers: [Int: String] = [:]
            for name in names {
                if name.hasPrefix(".") || name.contains(".tmp") {
                    record("temporary file \(folder)/\(name)")
                }
                guard let hyphen = name.firstIndex(of: "-"), name.hasSuffix(".md"), let number = Int(name[..<hyphen])
                else { continue }
                if let other = numbers[number] { record("two files numbered \(number): \(other), \(name)") }
                numbers[number] = name
                guard let data = Self.read(name, in: directory) else { continue }  // replaced meanwhile
                let text = String(decoding: data, as: UTF8.self)
                if !text.hasPrefix("# ") || !text.hasSuffix(Self.chapterEnding) {
                    record("partial chapter \(folder)/\(name): \(data.count) bytes")
                }
            }
            // SUMMARY.md never links a file that is not there (drafts, `()`, link nothing). Files
            // only come and go by whole-folder exchange, and a chapter is renamed in before
            // SUMMARY.md names it: what this SUMMARY.md links is in this listing.
            if let summary {
                for link in Self.links(in: String(decoding: summary, as: UTF8.self)) where !names.contains(link) {
                    record("SUMMARY.md of \(folder) links \(link), which is not there")
                }
            }
        }
        state.withLockedValue { $0.scans += 1 }
    }

    /// The file `name` in the folder open as `directory`, nil if it is not there.
    private static func read(_ name: String, in directory: Int32) -> Data? {
        let file = openat(directory, name, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        return FileHandle(fileDescriptor: file, closeOnDealloc: true).readDataToEndOfFile()
    }

    /// The names in the folder open as `directory`.
    private static func names(in directory: Int32) -> Set<String>? {
        let copy = dup(directory)
        guard copy >= 0, let listing = fdopendir(copy) else { return nil }
        defer { closedir(listing) }
        var names: Set<String> = []
        while let entry = readdir(listing) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.insert(name) }
        }
        return names
    }

    /// The link destinations of a SUMMARY.md, `- [Title](file)`, drafts (`()`) left out.
    static func links(in summary: String) -> [String] {
        summary.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("- ["), line.hasSuffix(")"), let open = line.range(of: "](", options: .backwards)
            else { return nil }
            let destination = String(line[open.upperBound..<line.index(before: line.endIndex)])
            return destination.isEmpty ? nil : destination
        }
    }

    private func record(_ violation: String) {
        state.withLockedValue { if $0.violations.count < 20 { $0.violations.append(violation) } }
    }

    /// How many times it has read a whole status page so far.
    var pagesRead: Int { pages.withLockedValue { $0 } }

    /// Stops watching and returns what it saw that it should not have, and how many scans it made.
    func finishWatching() async -> (violations: [String], scans: Int) {
        stop.store(true, ordering: .relaxed)
        for await _ in done {}
        return state.withLockedValue { ($0.violations, $0.scans) }
    }
}
