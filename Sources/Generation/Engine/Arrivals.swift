import NIOConcurrencyHelpers

/// Answers as they arrive, taken in batches: what arrived while the engine was busy publishing
/// the previous batch is published together, in one exchange of the folder, instead of one
/// publish per chapter. A 240-chapter course whose answers come quickly then costs a handful of
/// publishes, not 240 rewrites of its table of contents and manifest.
final class Arrivals<Element: Sendable>: Sendable {
    private let arrived = NIOLockedValueBox<[Element]>([])
    private let signal: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signal, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds one arrival and wakes the reader.
    func add(_ element: Element) {
        arrived.withLockedValue { $0.append(element) }
        continuation.yield()
    }

    /// Waits until at least one element has arrived, then takes every element that has.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    func next(_ signals: inout AsyncStream<Void>.Iterator) async throws -> [Element] {
        while true {
            let batch = arrived.withLockedValue { elements in
                defer { elements.removeAll() }
                return elements
            }
            if !batch.isEmpty { return batch }
            guard await signals.next() != nil else { throw CancellationError() }
            try Task.checkCancellation()
        }
    }

    /// The iterator `next` waits on; one reader only.
    func makeSignals() -> AsyncStream<Void>.Iterator { signal.makeAsyncIterator() }
}
