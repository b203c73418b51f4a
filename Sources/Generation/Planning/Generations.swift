import Logging

/// Requests in flight, one per chapter key, shared by every run that wants that key.
///
/// A run joins the keys it needs (starting a request for each key not already in flight) and
/// then waits. When a newer save of an outline supersedes a run, the newer run joins first and the
/// older one is cancelled: a request both want keeps going, a request only the older one wanted is
/// cancelled. Every answer is stored durably before any waiter sees it.
///
/// Requests are unstructured tasks on purpose: their lifetime is the number of runs interested in
/// them, not the scope of any one run. `cancelAll` ends them at shutdown.
actor Generations {
    /// A stored answer and the requests it took.
    struct Generated: Sendable {
        var body: BodyStore.Body
        var attempts: Int
    }

    typealias Outcome = Result<Generated, GenerationFailure>

    private struct Flight {
        let id: UInt64
        let task: Task<Void, Never>
        /// Tickets of runs that joined and have neither collected the outcome nor left.
        var tickets: Set<UInt64> = []
        var waiters: [UInt64: CheckedContinuation<Outcome, any Error>] = [:]
        var outcome: Outcome?
        /// Set when nobody wants it any more; a later join starts a fresh request.
        var abandoned = false
    }

    struct Ticket: Sendable {
        let key: ChapterKey
        let id: UInt64
    }

    private let scheduler: Scheduler
    private let store: BodyStore
    private var flights: [ChapterKey: Flight] = [:]
    private var nextID: UInt64 = 0

    init(scheduler: Scheduler, store: BodyStore) {
        self.scheduler = scheduler
        self.store = store
    }

    /// Registers interest in `request`'s key, starting the request if it is not in flight.
    func join(
        _ request: ChapterRequest,
        logger: Logger,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) -> Ticket {
        let id = makeID()
        if flights[request.key] == nil || flights[request.key]!.abandoned {
            let flightID = makeID()
            let task = Task {
                let outcome = await Self.perform(
                    request,
                    scheduler: scheduler,
                    store: store,
                    logger: logger,
                    onEvent: onEvent
                )
                self.finish(request.key, flight: flightID, outcome: outcome)
            }
            flights[request.key] = Flight(id: flightID, task: task)
        }
        flights[request.key]!.tickets.insert(id)
        return Ticket(key: request.key, id: id)
    }

    /// Generates and stores one chapter; nil when cancelled.
    private static func perform(
        _ request: ChapterRequest,
        scheduler: Scheduler,
        store: BodyStore,
        logger: Logger,
        onEvent: @escaping @Sendable (Scheduler.Event) -> Void
    ) async -> Outcome? {
        let response: ChapterResponse
        do {
            response = try await scheduler.generate(request, logger: logger, onEvent: onEvent)
        } catch let failure as GenerationFailure {
            return .failure(failure)
        } catch {
            return nil
        }
        let body = BodyStore.Body(
            key: request.key,
            text: response.text,
            usage: response.usage,
            model: request.model,
            modelVersion: response.modelVersion
        )
        do {
            try store.save(body)
            return .success(Generated(body: body, attempts: response.attempts))
        } catch {
            logger.error("cannot store a generated chapter", metadata: ["error": "\(error)"])
            return .failure(
                GenerationFailure(
                    attempts: response.attempts,
                    error: ProviderError(.fatal, "\(error)"),
                    usage: response.usage
                )
            )
        }
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
        guard let flight = flights[ticket.key], flight.tickets.contains(ticket.id) else { throw CancellationError() }
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
        guard var flight = flights[ticket.key], flight.tickets.remove(ticket.id) != nil else { return }
        if flight.tickets.isEmpty {
            if flight.outcome != nil {
                flights.removeValue(forKey: ticket.key)
                return
            }
            flight.abandoned = true
            flight.task.cancel()
        }
        flights[ticket.key] = flight
    }

    /// Gives up interest without waiting (a run that ends early).
    func release(_ tickets: [Ticket]) {
        for ticket in tickets { leave(ticket) }
    }

    private func finish(_ key: ChapterKey, flight id: UInt64, outcome: Outcome?) {
        guard var flight = flights[key], flight.id == id else { return }
        guard let outcome else {
            for waiter in flight.waiters.values { waiter.resume(throwing: CancellationError()) }
            flights.removeValue(forKey: key)
            return
        }
        for (ticketID, waiter) in flight.waiters {
            waiter.resume(returning: outcome)
            flight.tickets.remove(ticketID)
        }
        flight.waiters = [:]
        flight.outcome = outcome
        if flight.tickets.isEmpty {
            flights.removeValue(forKey: key)
        } else {
            flights[key] = flight
        }
    }

    /// Cancels every request in flight (shutdown).
    func cancelAll() {
        for flight in flights.values { flight.task.cancel() }
    }

    /// Keys with a request that somebody still waits for.
    var wantedKeys: Set<ChapterKey> { Set(flights.filter { $0.value.outcome == nil && !$0.value.abandoned }.keys) }

    private func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }
}
