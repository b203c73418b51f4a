import NIOConcurrencyHelpers

/// A one-way latch that holds replies back until a test opens it, so a test decides the order in
/// which requests finish instead of racing latencies.
///
/// `let gate = Gate()`, reply with `.success().held(by: gate)`, wait until the requests are in
/// flight, then `gate.open()`. Opening is permanent.
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var nextToken: UInt64 = 0
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Whether ``open()`` has been called.
    public var isOpen: Bool {
        state.withLockedValue { $0.isOpen }
    }

    /// Releases every reply held by this gate, and lets later ones through at once.
    public func open() {
        let waiters = state.withLockedValue { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter() }
    }

    /// Runs `action` when the gate opens.
    ///
    /// - Returns: A token for ``cancel(_:)``, or nil when the gate is already open, in which
    ///   case `action` was not stored and the caller proceeds itself.
    package func whenOpen(_ action: @escaping @Sendable () -> Void) -> UInt64? {
        state.withLockedValue { state in
            guard !state.isOpen else { return nil }
            state.nextToken += 1
            state.waiters[state.nextToken] = action
            return state.nextToken
        }
    }

    /// Forgets the action registered under `token` (its connection closed).
    package func cancel(_ token: UInt64) {
        _ = state.withLockedValue { $0.waiters.removeValue(forKey: token) }
    }
}
