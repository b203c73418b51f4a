import Foundation
import Synchronization
import TestSupport

/// Watches an output tree from a thread of its own for as long as a test runs, reading every
/// chapter file it can find as fast as it can, and records anything a reader must never see:
/// a temporary file, an empty or partial chapter, or two numberings in one folder.
final class OutputMonitor: Sendable {
    private let root: String
    private let stop = Atomic(false)
    private let state = Mutex((violations: [String](), scans: 0))
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
            let path = "\(root)/\(folder)"
            guard let names = try? manager.contentsOfDirectory(atPath: path) else { continue }
            var numbers: [Int: String] = [:]
            for name in names {
                if name.hasPrefix(".") || name.contains(".tmp") {
                    record("temporary file \(folder)/\(name)")
                }
                guard let hyphen = name.firstIndex(of: "-"), name.hasSuffix(".md"), let number = Int(name[..<hyphen])
                else { continue }
                if let other = numbers[number] { record("two files numbered \(number): \(other), \(name)") }
                numbers[number] = name
                guard let data = manager.contents(atPath: "\(path)/\(name)") else { continue }  // replaced meanwhile
                let text = String(decoding: data, as: UTF8.self)
                if !text.hasPrefix("# ") || !text.hasSuffix(Self.chapterEnding) {
                    record("partial chapter \(folder)/\(name): \(data.count) bytes")
                }
            }
        }
        state.withLock { $0.scans += 1 }
    }

    private func record(_ violation: String) {
        state.withLock { if $0.violations.count < 20 { $0.violations.append(violation) } }
    }

    /// Stops watching and returns what it saw that it should not have, and how many scans it made.
    func finishWatching() async -> (violations: [String], scans: Int) {
        stop.store(true, ordering: .relaxed)
        for await _ in done {}
        return state.withLock { ($0.violations, $0.scans) }
    }
}
