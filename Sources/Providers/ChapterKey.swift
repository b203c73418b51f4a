/// The identity of a chapter's generated text: a SHA-256 over a canonical encoding of everything
/// that shapes its request, and nothing else (made by `ChapterKey(settings:outline:index:)`; see
/// there what is in it). Where its answer is stored.
public struct ChapterKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    /// A key made from a digest computed by its maker: 64 lowercase hex digits.
    package init(digest hex: String) {
        self.hex = hex
    }

    /// A key read back from state; nil unless `hex` is 64 lowercase hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.hex = hex
    }

    public var description: String { hex }

    /// The first 12 hex digits, enough to tell keys apart in a log line.
    public var short: String { String(hex.prefix(12)) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.hex < rhs.hex }
}
