import Foundation
import Testing

/// The reliability campaign of RELIABILITY.md: its slow end-to-end suites (kill loops, a
/// misbehaving API, the machine misbehaving, full disks, a soak) run with
/// `COURSEGEN_RELIABILITY=short` (`scripts/reliability.sh`, which CI runs) or `long`
/// (`scripts/reliability.sh --long`); a plain `swift test` skips them and says so for each suite.
/// Each case prints one line of figures, `RELIABILITY | case | name=value ...`, which
/// `scripts/reliability.sh` collects.
enum Campaign {
    static let setting = ProcessInfo.processInfo.environment["COURSEGEN_RELIABILITY"]
    static let isLong = setting == "long"

    /// Whether the campaign's suites run: `COURSEGEN_RELIABILITY` is `short` or `long`.
    static let isEnabled = setting == "short" || setting == "long"

    /// Why a campaign suite was skipped, printed by the test run for each one.
    static let skipped: Comment = """
        SKIPPED: a slow end-to-end case of the reliability campaign; run it with \
        scripts/reliability.sh (COURSEGEN_RELIABILITY=short or long), as CI does
        """

    /// `short` by default, `long` on demand.
    static func size(short: Int, long: Int) -> Int { isLong ? long : short }

    static func report(_ name: String, _ figures: [(String, Any)]) {
        let text = figures.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        print("RELIABILITY | \(name) | \(text)")
    }

    /// A reproducible draw in 0..<bound for step `index` of case `seed`.
    static func draw(_ seed: UInt64, _ index: Int, below bound: Int) -> Int {
        var value = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return Int(value % UInt64(max(bound, 1)))
    }

    /// The prompts whose answers are in `state`'s store: the fake writes each prompt into its
    /// answer, between "It answers this prompt:" and "End of the fake chapter.".
    static func storedPrompts(in state: String) -> Set<String> {
        let store = "\(state)/store"
        var prompts: Set<String> = []
        let prefixes = (try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []
        for prefix in prefixes {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(store)/\(prefix)")) ?? []
            for name in names where name.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: "\(store)/\(prefix)/\(name)"),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let text = object["text"] as? String,
                    let start = text.range(of: "It answers this prompt:\n\n"),
                    let end = text.range(of: "\n\nEnd of the fake chapter.", options: .backwards)
                else { continue }
                prompts.insert(String(text[start.upperBound..<end.lowerBound]))
            }
        }
        return prompts
    }

    /// Open file descriptors and resident memory (KiB) of process `pid`.
    static func footprint(of pid: Int32) -> (descriptors: Int, residentKiB: Int) {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? -1
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? -1
        return (descriptors, rss)
    }
}
