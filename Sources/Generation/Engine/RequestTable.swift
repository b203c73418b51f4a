import Logging
import NIOConcurrencyHelpers
import Providers

/// The requests in flight in this process, one per chapter key, shared by every run that wants
/// that key. One table per process (it lives in the engine).
///
/// A run joins the keys it needs (starting a request for each key not already in flight) and
/// then waits. When a newer save of an outline supersedes a run, the newer run joins first and the
/// older one is cancelled: a request both want keeps going, a request only the older one wanted is
/// cancelled. Every answer is stored durably before any waiter sees it, so an answer that arrives
/// after everyone lost interest is still kept (it was paid for). Across the processes sharing a
/// state folder, `generating` does the same with a lock per key (`InFlightChapters`).
///
/// Requests are tasks of their own on purpose: their lifetime is the number of runs interested in
/// them, not the scope of any one run. The table keeps every one of them until it has ended, and
/// `cancelAll` waits for them.
actor RequestTable {
    /// A stored answer and the requests it took.
    struct Generated: Sendable {
        var body: BodyStore.Body
        var attempts: Int
        /// True when the answer was found in the store once the chapter's lock was taken
        /// (another process stored it meanwhile): this process paid nothing for it.
        var fromStore = false
    }

    typealias Outcome = Result<Generated, GenerationFailure>

    /// Does the work of one request: generate (within `spending`'s budget), then store. Nil when
    /// cancelled.
    typealias Perform =
        @Sendable (
            _ request: ChapterRequest, _ logger: Logger, _ spending: Spending?,
            _ onEvent: @escaping @Sendable (Scheduler.Event) -> Void
        ) async -> Outcome?

    private struct Flight {
        let id: UInt64
        /// Tickets of runs that joined and have neither collected the outcome nor left, with
        /// where each wants the request's events.
        let listeners: Listeners
        var waiters: [UInt64: CheckedContinuation<Outcome, any Error>] = [:]
        var outcome: Outcome?
        /// Set when nobody wants it any more; a later join starts a fresh request.
        var abandoned = false
    }

    struct Ticket: Sendable {
        let key: ChapterKey
        let id: UInt64
    }

    private let perform: Perform
    private var flights: [ChapterKey: Flight] = [:]
    /// Every request task that has not ended, abandoned ones included.
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var nextID: UInt64 = 0

    init(perform: @escaping Perform) {
        self.perform = perform
    }

    /// The real work of a request: take the chapter's lock in the state folder (`inflight`),
    /// waiting while another process asks for it; use the answer if the store has it by then;
    /// else generate through `scheduler`, then store the answer durably in `store` (on `io`)
    /// before anyone sees it, and release the lock. An answer the store cannot take (the state
    /// folder full or read-only) is kept in `unstored` and still handed to the runs, and no new
    /// attempt is sent until the store takes answers again: each would be paid and then lost.
    static func generating(
        through scheduler: Scheduler,
        into store: BodyStore,
        keeping unstored: UnstoredAnswers,
        claiming inflight: InFlightChapters,
        io: BlockingIO
    ) -> Perform {
        unstored.refuse(through: scheduler.stops)
        return { request, logger, spending, onEvent in
            let key = request.key
            let lookUp: @Sendable () -> BodyStore.Body? = { (try? store.body(for: key)) ?? unstored.body(for: key) }
            let claim: FileLock?
            let stored: BodyStore.Body?
            do {
                (claim, stored) = try await inflight.claim(key, logger: logger, lookingUp: lookUp)
            } catch is CancellationError {
                return nil
            } catch {
                // A state folder that takes no file takes no answer either: the request goes on
                // as before (its answer kept in memory), unguarded against another process.
                logger.warning(
                    "cannot mark the chapter as being asked for in the state folder; another coursegen process on it may ask for it too",
                    metadata: ["error": "\(error)"]
                )
                claim = nil
                stored = try? await io.run(lookUp)
            }
            // Stored meanwhile, by the process that held the lock or by one that has ended.
            if let stored {
                if let claim { await inflight.release(claim) }
                return .success(Generated(body: stored, attempts: 0, fromStore: true))
            }
            let outcome = await generate(
                request,
                through: scheduler,
                into: store,
                keeping: unstored,
                io: io,
                logger: logger,
                spending: spending,
                onEvent: onEvent
            )
            if let claim { await inflight.release(claim) }
            return outcome
        }
    }

    /// Generates `request` through `scheduler` and stores the answer (see `generating`).
    private static func generate(
        _ request: ChapterRequest,
        through scheduler: Scheduler,
        into store: BodyStore,
        keeping unstored: UnstoredAnswers,
        io: BlockingIO,
        logger: Logger,
        spending: Spending?,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) async -> Outcome? {
        // The answer is stored while its request still holds its slot in the scheduler: when the
        // state folder cannot take it, its refusal is in force before another request can go.
        let body = { @Sendable (response: ChapterResponse) in
            BodyStore.Body(
                key: request.key,
                text: response.text,
                usage: response.usage,
                model: request.model,
                modelVersion: response.modelVersion,
                tier: response.tier
            )
        }
        let kept = NIOLockedValueBox<BodyStore.Body?>(nil)
        let response: ChapterResponse
        do {
            response = try await scheduler.generate(
                request,
                logger: logger,
                spending: spending,
                keep: { response in
                    let answer = body(response)
                    kept.withLockedValue { $0 = answer }
                    await Self.store(answer, into: store, keeping: unstored, io: io, logger: logger)
                },
                onEvent: onEvent
            )
        } catch let failure as GenerationFailure {
            return .failure(failure)
        } catch {
            return nil
        }
        return .success(Generated(body: kept.withLockedValue { $0 } ?? body(response), attempts: response.attempts))
    }

    /// Stores `body` durably; one the state folder cannot take is kept in `unstored`, and no new
    /// attempt is sent until the store takes answers again (each would be paid and then lost).
    private static func store(
        _ body: BodyStore.Body,
        into store: BodyStore,
        keeping unstored: UnstoredAnswers,
        io: BlockingIO,
        logger: Logger
    ) async {
        do {
            try await io.run {
                try store.save(body)
                unstored.storeSucceeded(into: store)
            }
        } catch {
            let dropped = unstored.keep(body, failure: error)
            logger.error(
                "cannot store a generated chapter: it is kept in memory until the state folder takes it (a process that ends loses it), and no new request is sent until then",
                metadata: ["error": "\(error)", "kept_in_memory": "\(unstored.count)"]
            )
            if dropped > 0 {
                logger.warning(
                    "dropped the oldest answers kept in memory: they are asked again once the state folder takes answers",
                    metadata: ["dropped": "\(dropped)"]
                )
            }
        }
    }

    /// Registers interest in `request`'s key, starting the request if it is not in flight.
    /// `onEvent` receives the request's scheduler events until the ticket is done.
    /// - Parameter spending: the spending of the run that joins: a request it starts is sent
    ///   within its budget (a request already in flight keeps the budget of the run that started
    ///   it).
    func join(
        _ request: ChapterRequest,
        logger: Logger,
        spending: Spending? = nil,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) -> Ticket {
        register(
            request,
            startingIt: !isInFlight(request.key),
            logger: logger,
            spending: spending,
            onEvent: onEvent
        )
    }

    /// Registers interest in `request`'s key only if a request for it is in flight already (one
    /// an earlier version of the outline started); starts nothing.
    /// - Returns: nil when no request for the key is in flight.
    func joinIfInFlight(
        _ request: ChapterRequest,
        logger: Logger,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) -> Ticket? {
        guard isInFlight(request.key) else { return nil }
        return register(request, startingIt: false, logger: logger, spending: nil, onEvent: onEvent)
    }

    private func isInFlight(_ key: ChapterKey) -> Bool {
        flights[key].map { !$0.abandoned } ?? false
    }

    private func register(
        _ request: ChapterRequest,
        startingIt start: Bool,
        logger: Logger,
        spending: Spending?,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) -> Ticket {
        let id = makeID()
        if start {
            let flightID = makeID()
            let key = request.key
            let perform = self.perform
            // An abandoned request for the key may still be ending (storing an answer that came
            // anyway): it holds the chapter's lock in the state folder. The new one waits for it
            // here, not as if another process held the lock, then finds its answer in the store.
            let previous = flights[key].flatMap { $0.abandoned ? tasks[$0.id] : nil }
            let listeners = Listeners()
            tasks[flightID] = Task {
                await previous?.value
                // Each event reaches every listener where it happens, in the order it happens.
                let outcome = await perform(request, logger, spending) { listeners.send($0) }
                self.finish(key, flight: flightID, outcome: outcome)
            }
            flights[request.key] = Flight(id: flightID, listeners: listeners)
        }
        flights[request.key]!.listeners.add(id, onEvent)
        return Ticket(key: request.key, id: id)
    }

    /// Waits for the outcome of a joined request.
    /// - Throws: CancellationError when the waiting task is cancelled (the request itself is
    ///   cancelled too if no other run wants it).
    nonisolated func outcome(of ticket: Ticket) async throws -> Outcome {
        try await withTaskCancellationHandler {
            try await wait(ticket)
        } onCancel: {
            Task { await self.leave(ticket) }
        }
    }

    private func wait(_ ticket: Ticket) async throws -> Outcome {
        guard let flight = flights[ticket.key], flight.listeners.contains(ticket.id) else { throw CancellationError() }
        if Task.isCancelled {
            leave(ticket)
            throw CancellationError()
        }
        if let outcome = flight.outcome {
            endInterest(ticket)
            return outcome
        }
        return try await withCheckedThrowingContinuation { continuation in
            flights[ticket.key]!.waiters[ticket.id] = continuation
        }
    }

    /// A ticket's holder stops waiting (cancelled, or a run ending early).
    private func leave(_ ticket: Ticket) {
        guard var flight = flights[ticket.key] else { return }
        flight.waiters.removeValue(forKey: ticket.id)?.resume(throwing: CancellationError())
        flights[ticket.key] = flight
        endInterest(ticket)
    }

    private func endInterest(_ ticket: Ticket) {
        guard var flight = flights[ticket.key], flight.listeners.remove(ticket.id) else { return }
        if flight.listeners.isEmpty {
            if flight.outcome != nil {
                flights.removeValue(forKey: ticket.key)
                return
            }
            flight.abandoned = true
            tasks[flight.id]?.cancel()
        }
        flights[ticket.key] = flight
    }

    /// Gives up interest without waiting (a run that ends early).
    func release(_ tickets: [Ticket]) {
        for ticket in tickets { leave(ticket) }
    }

    private func finish(_ key: ChapterKey, flight id: UInt64, outcome: Outcome?) {
        tasks.removeValue(forKey: id)
        guard var flight = flights[key], flight.id == id else { return }
        guard let outcome else {
            for waiter in flight.waiters.values { waiter.resume(throwing: CancellationError()) }
            flights.removeValue(forKey: key)
            return
        }
        for (ticketID, waiter) in flight.waiters {
            waiter.resume(returning: outcome)
            flight.listeners.remove(ticketID)
        }
        flight.waiters = [:]
        flight.outcome = outcome
        if flight.listeners.isEmpty {
            flights.removeValue(forKey: key)
        } else {
            flights[key] = flight
        }
    }

    /// Cancels every request in flight and returns once each has ended (shutdown). An answer
    /// already being stored is stored first.
    func cancelAll() async {
        let running = Array(tasks.values)
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    /// Keys with a request that somebody still waits for.
    var wantedKeys: Set<ChapterKey> { Set(flights.filter { $0.value.outcome == nil && !$0.value.abandoned }.keys) }

    /// Request tasks that have not ended.
    var runningCount: Int { tasks.count }

    private func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }
}

/// Where a request's events go: the listeners of the runs that joined it, called in the order the
/// events happen, from where they happen (no task per event: a streamed chapter sends one per
/// chunk, and separate tasks delivered them out of order).
final class Listeners: Sendable {
    private let listeners = NIOLockedValueBox<[UInt64: @Sendable (Scheduler.Event) -> Void]>([:])

    func add(_ id: UInt64, _ listener: @escaping @Sendable (Scheduler.Event) -> Void) {
        listeners.withLockedValue { $0[id] = listener }
    }

    /// Removes `id`'s listener; false when it had none.
    @discardableResult
    func remove(_ id: UInt64) -> Bool {
        listeners.withLockedValue { $0.removeValue(forKey: id) != nil }
    }

    func contains(_ id: UInt64) -> Bool { listeners.withLockedValue { $0[id] != nil } }

    var isEmpty: Bool { listeners.withLockedValue { $0.isEmpty } }

    func send(_ event: Scheduler.Event) {
        for listener in listeners.withLockedValue({ Array($0.values) }) { listener(event) }
    }
}
