import NIOConcurrencyHelpers
import Providers

/// Answers that arrived but could not be written to the state folder (full, read-only, gone),
/// kept in memory so that none is paid for twice.
///
/// While one is unstored, no new request is sent (`refusal`, one of the scheduler's
/// `SubmissionStops`): its answer could not be kept either. Every run first tries to store them
/// (`store(into:)`), and uses them meanwhile; the first that is stored lifts the refusal. They
/// live as long as the process: the daemon keeps them until space is back; a one-shot `generate`
/// loses those it holds when it ends (at most the answers that were in flight when the folder
/// filled).
final class UnstoredAnswers: Sendable {
    /// The most kept in memory; older answers are dropped beyond it (each is at most the
    /// provider's answer limit, 1 MiB by default).
    static let byteLimit = 64 << 20

    private struct State {
        /// By key (hex).
        var bodies: [String: BodyStore.Body] = [:]
        /// Keys in the order they were kept: the oldest is dropped first.
        var order: [String] = []
        var bytes = 0
        /// Why the last store failed; nil once one succeeds. The scheduler's stops follow it.
        var failure: String? { didSet { stops?.stateFolder(refuses: refusal) } }
        var stops: SubmissionStops? { didSet { stops?.stateFolder(refuses: refusal) } }

        var refusal: ProviderError? {
            failure.map {
                ProviderError(
                    .retry,
                    "not sent: the state folder cannot keep answers (\($0)); "
                        + "free space there or fix it, and the next save or retry sends it"
                )
            }
        }
    }

    private let state = NIOLockedValueBox(State())

    /// Keeps `body`, which `failure` kept out of the store.
    /// - Returns: how many older answers were dropped to stay within `byteLimit`.
    @discardableResult
    func keep(_ body: BodyStore.Body, failure: any Error) -> Int {
        state.withLockedValue { state in
            state.failure = "\(failure)"
            if let old = state.bodies.updateValue(body, forKey: body.key) {
                state.bytes -= old.text.utf8.count
                state.order.removeAll { $0 == body.key }
            }
            state.order.append(body.key)
            state.bytes += body.text.utf8.count
            var dropped = 0
            while state.bytes > Self.byteLimit, state.order.count > 1 {
                let oldest = state.order.removeFirst()
                state.bytes -= state.bodies.removeValue(forKey: oldest)?.text.utf8.count ?? 0
                dropped += 1
            }
            return dropped
        }
    }

    /// The answer kept for `key`, if any.
    func body(for key: ChapterKey) -> BodyStore.Body? {
        state.withLockedValue { $0.bodies[key.hex] }
    }

    var count: Int { state.withLockedValue { $0.bodies.count } }

    /// Why a new request must not be sent now: the state folder could not keep the last answer.
    /// Nil when answers are being stored. Its disposition lets the daemon try again later.
    var refusal: ProviderError? { state.withLockedValue { $0.refusal } }

    /// Sets and lifts the refusal in `stops` (the scheduler's) from now on.
    func refuse(through stops: SubmissionStops) {
        state.withLockedValue { $0.stops = stops }
    }

    /// A store succeeded: answers are being kept again. Tries to store the ones held, oldest
    /// first (blocking file work: run it on `BlockingIO`).
    func storeSucceeded(into store: BodyStore) {
        state.withLockedValue { $0.failure = nil }
        try? self.store(into: store)
    }

    /// Stores the answers held, oldest first, forgetting each once stored; the refusal is lifted
    /// when they all are (blocking file work: run it on `BlockingIO`).
    /// - Throws: the first store's failure; the answers not stored stay held.
    func store(into store: BodyStore) throws(FileError) {
        let held = state.withLockedValue { state in state.order.compactMap { state.bodies[$0] } }
        for body in held {
            do {
                try store.save(body)
            } catch {
                state.withLockedValue { $0.failure = "\(error)" }
                throw error
            }
            state.withLockedValue { state in
                guard state.bodies[body.key] == body else { return }
                state.bodies.removeValue(forKey: body.key)
                state.order.removeAll { $0 == body.key }
                state.bytes -= body.text.utf8.count
            }
        }
        state.withLockedValue { if $0.bodies.isEmpty { $0.failure = nil } }
    }
}
