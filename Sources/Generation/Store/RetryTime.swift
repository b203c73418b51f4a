public import Foundation

/// When the daemon tries an outline's failed chapters again, and how many tries of them failed
/// in a row. Kept in the manifest (`Manifest.retry`), so a restart continues the schedule.
public struct RetryTime: Codable, Sendable, Hashable {
    public var at: Date
    public var failedTries: Int

    public init(at: Date, failedTries: Int) {
        self.at = at
        self.failedTries = failedTries
    }
}
