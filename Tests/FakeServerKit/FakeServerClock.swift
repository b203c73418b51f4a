import NIOConcurrencyHelpers

/// The time a fake server's quota window and scheduled storm follow, when a test moves it by hand
/// instead of letting the machine's clock run: a window then holds, or moves past, exactly when
/// the test says, however slowly a starved machine sends the requests. Instants stay
/// `ContinuousClock` instants (the server's statistics keep the real arrival times).
public final class FakeServerClock: Sendable {
    private let offset = NIOLockedValueBox(Duration.zero)
    private let origin: ContinuousClock.Instant

    /// A clock that stands still at the real instant it is made, until `advance(by:)`.
    public init() {
        origin = .now
    }

    /// The current instant: the origin plus every advance so far.
    public var now: ContinuousClock.Instant {
        origin + offset.withLockedValue { $0 }
    }

    /// Moves time forward by `duration`.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "time moves forward only")
        offset.withLockedValue { $0 += duration }
    }
}
