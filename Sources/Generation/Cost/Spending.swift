import NIOConcurrencyHelpers
public import Platform
public import Providers

/// What one run spends, priced at its model's price, and the budget its requests must stay
/// within.
///
/// Every attempt of the run's requests passes `reserve` before it is submitted. An attempt
/// reserves the most it can cost (`most(for:)`); when it ends, `settle` replaces that with what
/// its usage says it cost. An attempt is sent only while what is spent, plus what is reserved,
/// plus its own most stays within the budget (`admission`), so a run never spends more than its
/// budget, as far as the prices are right. An attempt that does not fit while others are in
/// flight waits for them (an answer usually costs far less than its reservation); one that does
/// not fit with nothing in flight never will, and is refused: its chapter is skipped for the
/// budget. Waiting attempts are served in the order they came.
public final class Spending: Sendable {
    /// The price of the run's model; nil when the price table has none.
    public let price: Price?
    /// The most the run may spend, in US dollars; nil: no limit, and `reserve` never waits.
    public let budget: Double?
    private let state = NIOLockedValueBox(State())

    /// A reserved attempt, to `settle` when it has ended.
    struct Reservation: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Waiter {
        let id: UInt64
        let most: Double
        let continuation: CheckedContinuation<Reservation, any Error>
    }

    private struct State {
        var spent: Double = 0
        var reserved: [UInt64: Double] = [:]
        var queue: [Waiter] = []
        var nextID: UInt64 = 0
    }

    /// What to do with an attempt that would cost at most `most`.
    enum Admission: Sendable, Hashable {
        case send
        case wait
        case refuse
    }

    public init(price: Price?, budget: Double?) {
        self.price = price
        self.budget = budget
    }

    /// Send when `spent + reserved + most` stays within `budget`; otherwise wait while other
    /// attempts are in flight (`othersInFlight`), since their settling frees what they reserved;
    /// refuse when nothing is: the attempt cannot fit.
    static func admission(most: Double, spent: Double, reserved: Double, othersInFlight: Bool, budget: Double)
        -> Admission
    {
        if spent + reserved + most <= budget { return .send }
        return othersInFlight ? .wait : .refuse
    }

    /// The most one attempt of `request` can cost, in US dollars: its prompt counted at one
    /// token per byte of UTF-8 (no tokenizer makes more tokens than bytes), its whole output budget
    /// at the dearer of the output and thinking prices, at `tier` (nil: the request's own). Nil
    /// without a price.
    public func most(for request: ChapterRequest, tier: BillingTier? = nil) -> Double? {
        price?.mostDollars(
            inputTokens: request.systemInstruction.utf8.count + request.prompt.utf8.count + 8,
            outputBudget: request.maxOutputTokens,
            tier: tier ?? BillingTier(request.serviceTier)
        )
    }

    /// What the run's settled attempts cost so far, in US dollars.
    public var spent: Double { state.withLockedValue { $0.spent } }

    /// Attempts waiting for the budget to fit them.
    var waiting: Int { state.withLockedValue { $0.queue.count } }

    /// Reserves the most one attempt of `request` can cost, waiting while it does not fit and
    /// other attempts are in flight. Returns at once without a budget.
    /// - Returns: the reservation to `settle` when the attempt has ended; nil without a budget.
    /// - Throws: `BudgetRefusal` when the attempt cannot fit in what is left of the budget, or
    ///   when there is no price to estimate it with; `CancellationError` when the task is
    ///   cancelled while waiting.
    func reserve(for request: ChapterRequest, tier: BillingTier? = nil) async throws -> Reservation? {
        guard let budget else { return nil }
        guard let most = most(for: request, tier: tier) else { throw BudgetRefusal.noPrice(model: request.model) }
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reservation, any Error>) in
                let resumes = state.withLockedValue { state -> [Resume] in
                    // Checked under the lock the cancellation handler takes: either it sees this
                    // waiter queued, or this sees the task cancelled.
                    if Task.isCancelled { return [Resume(continuation, .failure(CancellationError()))] }
                    state.queue.append(Waiter(id: id, most: most, continuation: continuation))
                    return Self.serve(&state, budget: budget)
                }
                for resume in resumes { resume.run() }
            }
        } onCancel: {
            let resumes = state.withLockedValue { state -> [Resume] in
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return [] }
                let waiter = state.queue.remove(at: index)
                return [Resume(waiter.continuation, .failure(CancellationError()))] + Self.serve(&state, budget: budget)
            }
            for resume in resumes { resume.run() }
        }
    }

    /// An attempt has ended: what it reserved is freed, and what `usage` costs at `tier` is spent.
    /// Waiting attempts that fit now are sent. Settling twice changes nothing.
    func settle(_ reservation: Reservation?, usage: Usage, tier: BillingTier = .standard) {
        guard let reservation, let budget else { return }
        let resumes = state.withLockedValue { state -> [Resume] in
            guard state.reserved.removeValue(forKey: reservation.id) != nil else { return [] }
            state.spent += price.map { $0.dollars(for: usage, tier: tier) } ?? 0
            return Self.serve(&state, budget: budget)
        }
        for resume in resumes { resume.run() }
    }

    private struct Resume {
        let continuation: CheckedContinuation<Reservation, any Error>
        let result: Result<Reservation, any Error>

        init(_ continuation: CheckedContinuation<Reservation, any Error>, _ result: Result<Reservation, any Error>) {
            self.continuation = continuation
            self.result = result
        }

        func run() { continuation.resume(with: result) }
    }

    /// Admits or refuses waiters from the head of the queue until one must wait.
    private static func serve(_ state: inout State, budget: Double) -> [Resume] {
        var resumes: [Resume] = []
        while let head = state.queue.first {
            let reserved = state.reserved.values.reduce(0, +)
            switch admission(
                most: head.most,
                spent: state.spent,
                reserved: reserved,
                othersInFlight: !state.reserved.isEmpty,
                budget: budget
            ) {
            case .send:
                state.queue.removeFirst()
                state.reserved[head.id] = head.most
                resumes.append(Resume(head.continuation, .success(Reservation(id: head.id))))
            case .wait:
                return resumes
            case .refuse:
                state.queue.removeFirst()
                let refusal = BudgetRefusal.overBudget(budget: budget, spent: state.spent, most: head.most)
                resumes.append(Resume(head.continuation, .failure(refusal)))
            }
        }
        return resumes
    }
}

/// Why an attempt was not sent: the run's budget.
public struct BudgetRefusal: CodedError, Hashable {
    public enum Code: String, ErrorCode {
        /// The attempt could cost more than the budget has left.
        case overBudget
        /// The run has a budget, and the model no price to hold it to.
        case noPrice
    }

    public let code: Code
    public let origin: SourceOrigin
    public let message: String

    static func overBudget(
        budget: Double,
        spent: Double,
        most: Double,
        fileID: String = #fileID,
        line: Int = #line
    ) -> BudgetRefusal {
        BudgetRefusal(
            code: .overBudget,
            origin: SourceOrigin(fileID: fileID, line: line),
            message: "not sent: the run's budget of \(CostEstimate.format(budget)) would not cover it "
                + "(\(CostEstimate.format(spent)) spent, and it may cost up to \(CostEstimate.format(most))); "
                + "raise the budget (--budget, or budget: in the outline), or save the outline to try again"
        )
    }

    static func noPrice(model: String, fileID: String = #fileID, line: Int = #line) -> BudgetRefusal {
        BudgetRefusal(
            code: .noPrice,
            origin: SourceOrigin(fileID: fileID, line: line),
            message: "not sent: the run has a budget, but the model \(model) has no price to estimate it with; "
                + "add the model to the prices setting"
        )
    }
}
