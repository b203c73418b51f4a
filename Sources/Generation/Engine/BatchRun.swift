import Foundation
import Logging
import NIOConcurrencyHelpers
import Providers

/// A run's chapters sent as Batch API jobs instead of one request each: half the price, for work
/// nobody waits for (`generate --batch`, the daemon's `batch-over`).
///
/// Each chapter's key is claimed in the state folder (`InFlightChapters`) as a streamed request's
/// is, so another process asking for it waits and then finds it stored. A job that a record in
/// the state folder names for any of the chapters (a run that crashed, was killed or stopped) is
/// polled again, never created anew; the others go in new jobs, each split to the API's inline
/// limit, and each job's name is kept durably (`BatchJobRecord`) before its first poll. A job's
/// answers are stored as they arrive, before anyone sees them, exactly as streamed answers are;
/// a job that fails, is cancelled or expires fails its chapters with its message (retryable: the
/// next run or the daemon's healing asks again). When the process stops, polling ends and the job
/// goes on: the next start polls it.
struct BatchRun: Sendable {
    let scheduler: Scheduler
    let state: StateDirectory
    let unstored: UnstoredAnswers
    let io: BlockingIO
    let logger: Logger
    /// The run's spending: the chapters a new job would take over its budget are skipped for it,
    /// the others reserve what they may cost until their answers settle it.
    var spending: Spending? = nil

    typealias Deliver = @Sendable (ChapterKey, RequestTable.Outcome) -> Void

    /// Gets each of `requests` (one model) its outcome through `deliver`, once each, as answers
    /// are stored; returns when every one has one, or early when cancelled (nobody waits then).
    /// - Parameters:
    ///   - outline: the outline's name, for the job's display name and its record.
    ///   - onEvent: told when a chapter's job is created or found (`.batched`).
    func run(
        _ requests: [ChapterRequest],
        outline: String,
        folder: String,
        onEvent: @escaping @Sendable (ChapterKey, Scheduler.Event) -> Void,
        deliver: @escaping Deliver
    ) async {
        let claims = Claims(inflight: InFlightChapters(directory: state.inflight))
        guard let pending = await claim(requests, into: claims, deliver: deliver) else {
            await claims.releaseAll()
            return
        }
        guard let model = pending.first?.model, let provider = await scheduler.batchProvider else {
            await claims.releaseAll()
            return
        }
        let wanted = Set(pending.map(\.key))
        // Jobs already made for any of these chapters are polled, not made again.
        let records = (try? await io.run { [state] in try state.batchJobs() }) ?? []
        // (A job of this folder that no chapter wants any more is finished with too: it was paid.)
        let earlier = records.filter { record in
            record.model == model && (record.folder == folder || record.chapterKeys.contains(where: wanted.contains))
        }
        var jobs: [BatchJobRecord] = []
        var covered = Set<ChapterKey>()
        for record in earlier {
            let found: BatchJobRecord?
            do {
                found = try await resolved(record)
            } catch let failure as GenerationFailure {
                covered.formUnion(record.chapterKeys)
                for key in record.chapterKeys where wanted.contains(key) {
                    deliver(key, .failure(failure))
                    await claims.release(key)
                }
                continue
            } catch {
                return await claims.releaseAll()
            }
            guard let found else { continue }
            logger.notice(
                "polling the batch job made for these chapters before",
                metadata: ["batch_job": "\(found.name)", "chapters": "\(found.keys.count)"]
            )
            jobs.append(found)
            covered.formUnion(found.chapterKeys)
        }
        let fresh = pending.filter { !covered.contains($0.key) }
        let (admitted, reservations) = await admit(fresh, deliver: deliver, claims: claims)
        // Each answer settles its chapter's reservation as it is handed on.
        let deliver: Deliver = { [spending] key, outcome in
            let usage: Usage =
                switch outcome {
                case .success(let generated): generated.body.usage
                case .failure(let failure): failure.usage
                }
            spending?.settle(reservations[key], usage: usage, tier: .batch)
            deliver(key, outcome)
        }
        let groups = admitted.isEmpty ? [] : provider.batchGroups(admitted)
        for group in groups {
            do {
                jobs.append(try await create(group, outline: outline, folder: folder))
            } catch let failure as GenerationFailure {
                for request in group {
                    deliver(request.key, .failure(failure))
                    await claims.release(request.key)
                }
            } catch {
                await claims.releaseAll()
                return
            }
        }
        for record in jobs {
            for key in record.chapterKeys where wanted.contains(key) {
                onEvent(key, .batched(submitted: record.submitted))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for record in jobs {
                group.addTask { await follow(record, wanted: wanted, claims: claims, deliver: deliver) }
            }
        }
        await claims.releaseAll()
    }

    /// The requests a new job may take within the run's budget, in order, each with its
    /// reservation (every one fits at once: none waits for another's answer, which a job gives
    /// only at its end); the others are skipped for the budget. All of them without a budget.
    private func admit(
        _ requests: [ChapterRequest],
        deliver: Deliver,
        claims: Claims
    ) async -> (admitted: [ChapterRequest], reservations: [ChapterKey: Spending.Reservation]) {
        guard let spending, let budget = spending.budget, !requests.isEmpty else { return (requests, [:]) }
        var (admitted, reservations) = ([ChapterRequest](), [ChapterKey: Spending.Reservation]())
        var total = spending.spent
        for request in requests {
            let most = spending.most(for: request, tier: .batch)
            if let most, total + most <= budget {
                total += most
                admitted.append(request)
                continue
            }
            let refusal =
                most.map { BudgetRefusal.overBudget(budget: budget, spent: spending.spent, most: $0) }
                ?? BudgetRefusal.noPrice(model: request.model)
            let error = ProviderError(.fatal, refusal.message)
            deliver(
                request.key,
                .failure(GenerationFailure(attempts: 0, error: error, usage: Usage(), skippedForBudget: true))
            )
            await claims.release(request.key)
        }
        for request in admitted {
            if let reservation = try? await spending.reserve(for: request, tier: .batch) {
                reservations[request.key] = reservation
            }
        }
        return (admitted, reservations)
    }

    /// Claims each request's key, delivering at once those found stored meanwhile.
    /// - Returns: the requests still to ask for; nil when cancelled.
    private func claim(_ requests: [ChapterRequest], into claims: Claims, deliver: Deliver) async -> [ChapterRequest]? {
        let (store, unstored) = (state.store, self.unstored)
        var pending: [ChapterRequest] = []
        for request in requests {
            let key = request.key
            do {
                let (lock, stored) = try await claims.inflight.claim(key, logger: logger) {
                    (try? store.body(for: key)) ?? unstored.body(for: key)
                }
                if let stored {
                    await claims.inflight.release(lock)
                    deliver(key, .success(RequestTable.Generated(body: stored, attempts: 0, fromStore: true)))
                    continue
                }
                claims.add(key, lock)
            } catch is CancellationError {
                return nil
            } catch {
                logger.warning(
                    "cannot mark the chapter as being asked for in the state folder; another coursegen process on it may ask for it too",
                    metadata: ["error": "\(error)", "cache_id": "\(key.short)"]
                )
            }
            pending.append(request)
        }
        return pending
    }

    /// `record` with its job's name: as it was, or, for a create that got no answer, the job found
    /// under its display name (kept durably at once); nil when no job was made (the record is
    /// dropped, and its chapters go in a new job).
    /// - Throws: `GenerationFailure` (retryable) when the list of jobs cannot be read;
    ///   `CancellationError`.
    private func resolved(_ record: BatchJobRecord) async throws -> BatchJobRecord? {
        guard record.name.isEmpty else { return record }
        let name: String?
        do {
            name = try await scheduler.findBatch(displayName: record.displayName)
        } catch let error as ProviderError {
            logger.warning(
                "cannot look for the batch job an interrupted create may have made; its chapters wait for the next run",
                metadata: ["error": "\(error)"]
            )
            throw GenerationFailure(attempts: 0, error: ProviderError(.retry, error.message), usage: Usage())
        }
        guard let name else {
            try? await io.run { [state] in try state.removeBatchJob(record) }
            return nil
        }
        var found = record
        found.name = name
        try? await io.run { [state, found] in try state.saveBatchJob(found) }
        logger.notice("found the batch job of a create that got no answer", metadata: ["batch_job": "\(name)"])
        return found
    }

    /// Creates one job: its record is kept durably first (with the job's display name, so a job
    /// made by a create whose answer is lost is found again), then with its name, before
    /// anything else happens.
    /// - Throws: `GenerationFailure`; `CancellationError`.
    private func create(_ group: [ChapterRequest], outline: String, folder: String) async throws -> BatchJobRecord {
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var record = BatchJobRecord(
            name: "",
            displayName: "coursegen \(outline) (\(group.count) chapters) \(token)",
            model: group[0].model,
            keys: group.map(\.key),
            outline: outline,
            folder: folder,
            submitted: Date()
        )
        let keep = { [state, logger] (record: BatchJobRecord) async in
            do {
                try await io.run { try state.saveBatchJob(record) }
            } catch {
                logger.error(
                    "cannot keep the batch job in the state folder: it is polled from memory, and a process that ends before it finishes loses it",
                    metadata: ["batch_job": "\(record.name)", "error": "\(error)"]
                )
            }
        }
        await keep(record)
        let job: BatchJob
        do {
            job = try await scheduler.submitBatch(group, displayName: record.displayName, logger: logger)
        } catch let failure as GenerationFailure {
            // Refused, or never sent: no job exists. Without an answer one may: the record stays.
            if failure.attempts == 0 || (failure.error.httpStatus ?? 200) != 200 {
                try? await io.run { [state, record] in try state.removeBatchJob(record) }
            }
            throw failure
        }
        (record.name, record.state) = (job.name, job.state)
        await keep(record)
        logger.notice(
            "batch job created",
            metadata: ["batch_job": "\(job.name)", "chapters": "\(group.count)", "state": "\(job.state)"]
        )
        return record
    }

    /// Polls one job until it has finished, then stores every answer it brought (paid for, wanted
    /// or not) and delivers the wanted chapters' outcomes.
    private func follow(
        _ record: BatchJobRecord,
        wanted: Set<ChapterKey>,
        claims: Claims,
        deliver: @escaping Deliver
    ) async {
        var record = record
        let (keys, first) = (record.chapterKeys, record)
        let logger = self.logger.with(["batch_job": "\(record.name)"])
        let fail = { (error: ProviderError, attempts: Int) async in
            for key in keys where wanted.contains(key) {
                deliver(key, .failure(GenerationFailure(attempts: attempts, error: error, usage: Usage())))
                await claims.release(key)
            }
        }
        var polls = 0
        while true {
            do {
                try await scheduler.waitToPoll(polls)
            } catch is NotSent {
                logger.notice("stopping: the batch job goes on, and the next start polls it")
                return await fail(.interrupted, 0)
            } catch {
                return
            }
            polls += 1
            let job: BatchJob
            do {
                job = try await scheduler.pollBatch(record.name, keys: keys)
            } catch let error as ProviderError where error.disposition == .retry {
                logger.warning("cannot poll the batch job; polling again later", metadata: ["error": "\(error)"])
                continue
            } catch let error as ProviderError {
                logger.error("the batch job cannot be polled", metadata: ["error": "\(error)"])
                // A job the API no longer knows is forgotten; a refused key keeps it for later.
                if error.disposition == .fatal { try? await io.run { [state] in try state.removeBatchJob(first) } }
                return await fail(error, 1)
            } catch {
                return
            }
            if job.state != record.state {
                (record.state, record.polled) = (job.state, Date())
                try? await io.run { [state, record] in try state.saveBatchJob(record) }
                logger.info("batch job state", metadata: ["state": "\(job.state)"])
            }
            guard job.state.isFinished else { continue }
            if job.state != .succeeded {
                logger.error(
                    "the batch job ended without answers: its chapters are asked for again later",
                    metadata: ["state": "\(job.state)", "error": "\(job.message ?? "")"]
                )
            }
            for key in keys {
                let outcome = await take(
                    job.results[key] ?? .failure(job.endedWithout(key: key)),
                    for: key,
                    model: record.model
                )
                guard wanted.contains(key) else { continue }
                deliver(key, outcome)
                await claims.release(key)
            }
            try? await io.run { [state] in try state.removeBatchJob(first) }
            return
        }
    }

    /// A job's result for one chapter as a request's outcome, its answer stored durably first.
    private func take(
        _ result: Result<ChapterResponse, ProviderError>,
        for key: ChapterKey,
        model: String
    ) async -> RequestTable.Outcome {
        switch result {
        case .success(let response):
            let body = BodyStore.Body(
                key: key,
                text: response.text,
                usage: response.usage,
                model: model,
                modelVersion: response.modelVersion,
                tier: response.tier
            )
            let (store, unstored) = (state.store, self.unstored)
            do {
                try await io.run {
                    try store.save(body)
                    unstored.storeSucceeded(into: store)
                }
            } catch {
                _ = unstored.keep(body, failure: error)
                logger.error(
                    "cannot store a chapter of the batch job: it is kept in memory until the state folder takes it",
                    metadata: ["error": "\(error)", "cache_id": "\(key.short)"]
                )
            }
            return .success(RequestTable.Generated(body: body, attempts: 1))
        case .failure(let error):
            return .failure(GenerationFailure(attempts: 1, error: error, usage: error.usage ?? Usage()))
        }
    }
}

/// The chapter locks a batch run holds, released one by one as answers arrive.
private final class Claims: Sendable {
    let inflight: InFlightChapters
    private let locks = NIOLockedValueBox<[ChapterKey: FileLock]>([:])

    init(inflight: InFlightChapters) {
        self.inflight = inflight
    }

    func add(_ key: ChapterKey, _ lock: FileLock) {
        locks.withLockedValue { $0[key] = lock }
    }

    func release(_ key: ChapterKey) async {
        guard let lock = locks.withLockedValue({ $0.removeValue(forKey: key) }) else { return }
        await inflight.release(lock)
    }

    func releaseAll() async {
        let all = locks.withLockedValue { locks in
            defer { locks.removeAll() }
            return Array(locks.values)
        }
        for lock in all { await inflight.release(lock) }
    }
}
