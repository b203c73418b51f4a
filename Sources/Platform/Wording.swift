public import Foundation

/// `count` and `noun`, in the plural unless it is one: "1 chapter", "3 chapters", "0 chapters".
public func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
}

/// A time for log fields: ISO 8601 with the machine's UTC offset, to the second
/// (`2026-12-07T04:47:00+01:00`), so a line read elsewhere, or later, is not ambiguous.
public func logTime(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone.current))
}
