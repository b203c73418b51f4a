import NIOConcurrencyHelpers

/// How a reply travels: when its status line goes out, how a stream is paced, and whether the
/// wire misbehaves (a stall, a cut, a clean end too early, a trickle). The API-specific reply
/// types carry one and share its modifiers through ``DeliveryAdjustable``.
public struct Delivery: Sendable {
    /// Waited before the status line (after the gate opens, if there is one).
    public var latency: Duration
    /// When set, nothing is sent until this gate is open.
    public var gate: Gate?
    /// How a streamed reply's events are paced; ignored for plain replies.
    public var stream: StreamTiming
    /// How the body is broken off, if it is.
    public var interruption: Interruption?
    /// When set, the body goes out one byte per interval: a trickle.
    public var byteInterval: Duration?
    /// When set and preempted before the body's end, the body ends there, cleanly, without the
    /// events still to come (a server that gives its one slot to the next request).
    public var preemption: Preemption?

    public init(
        latency: Duration = .zero,
        gate: Gate? = nil,
        stream: StreamTiming = StreamTiming(),
        interruption: Interruption? = nil,
        byteInterval: Duration? = nil
    ) {
        self.latency = latency
        self.gate = gate
        self.stream = stream
        self.interruption = interruption
        self.byteInterval = byteInterval
    }
}

/// A flag another request raises to end a reply early: llama.cpp's Python server, by default,
/// stops writing the answer in progress when a new request comes (`interrupt_requests`).
public final class Preemption: Sendable {
    private let raised = NIOLockedValueBox(false)

    public init() {}

    public var isRaised: Bool { raised.withLockedValue { $0 } }

    public func raise() { raised.withLockedValue { $0 = true } }
}

/// The one slot of a server that gives it to each new request, ending the reply it was writing
/// (llama.cpp's Python server with `interrupt_requests`, its default).
public final class TakenOverSlot: Sendable {
    private let current = NIOLockedValueBox<Preemption?>(nil)

    public init() {}

    /// Ends the reply in progress, if any, and returns the preemption of the next one.
    public func takeOver() -> Preemption {
        let next = Preemption()
        current.withLockedValue { previous in
            previous?.raise()
            previous = next
        }
        return next
    }
}

/// The pacing of a streamed reply, after its status line.
public struct StreamTiming: Sendable, Hashable {
    /// Events the text is cut into (at least 1); the last one carries the finish reason.
    public var textEvents: Int
    /// Before the first text event: the model thinking. Silent, unless the request asked for
    /// thought summaries (Gemini's `includeThoughts`), which are then streamed across it.
    public var thinking: Duration
    /// Between two text events.
    public var interval: Duration

    public init(textEvents: Int = 3, thinking: Duration = .zero, interval: Duration = .zero) {
        self.textEvents = textEvents
        self.thinking = thinking
        self.interval = interval
    }
}

/// How a reply's body is broken off. Events are counted from the first one the reply sends
/// (thought summaries and role chunks included); a plain (non-streamed) body counts as one
/// event, broken in its middle.
public enum Interruption: Sendable, Hashable {
    /// `afterEvents` complete events, then silence with the connection open: forever (nil) or
    /// for `duration`, after which the rest follows as planned.
    case stall(afterEvents: Int, for: Duration?)
    /// `afterEvents` complete events and the first half of the next, then the connection closes
    /// without ending the body.
    case cut(afterEvents: Int)
    /// `afterEvents` complete events, then the body ends cleanly, without the events that would
    /// have carried the finish reason (or `[DONE]`). A plain body is cut in half and sent as a
    /// complete response (its Content-Length is the cut length).
    case truncate(afterEvents: Int)
}

/// A reply type whose ``Delivery`` can be adjusted with chainable modifiers:
/// `.success().after(.seconds(1)).stalled(afterEvents: 2)`.
public protocol DeliveryAdjustable: Sendable {
    var delivery: Delivery { get set }
}

extension DeliveryAdjustable {
    /// The same reply, its status line sent `latency` later.
    public func after(_ latency: Duration) -> Self {
        adjusting { $0.latency = latency }
    }

    /// The same reply, held until `gate` is open.
    public func held(by gate: Gate) -> Self {
        adjusting { $0.gate = gate }
    }

    /// The same reply, streamed in `textEvents` events, the first after `thinking`, the others
    /// `interval` apart. Arguments left nil keep their value.
    public func streamed(textEvents: Int? = nil, thinking: Duration? = nil, interval: Duration? = nil) -> Self {
        adjusting { delivery in
            if let textEvents { delivery.stream.textEvents = max(1, textEvents) }
            if let thinking { delivery.stream.thinking = thinking }
            if let interval { delivery.stream.interval = interval }
        }
    }

    /// The same reply, silent after `afterEvents` events: forever, or for `duration`.
    public func stalled(afterEvents: Int, for duration: Duration? = nil) -> Self {
        adjusting { $0.interruption = .stall(afterEvents: afterEvents, for: duration) }
    }

    /// The same reply, its connection closed in the middle of event `afterEvents + 1`.
    public func cut(afterEvents: Int) -> Self {
        adjusting { $0.interruption = .cut(afterEvents: afterEvents) }
    }

    /// The same reply, ending cleanly after `afterEvents` events, without its finish reason.
    public func truncated(afterEvents: Int) -> Self {
        adjusting { $0.interruption = .truncate(afterEvents: afterEvents) }
    }

    /// The same reply, its body sent one byte every `interval`.
    public func trickled(every interval: Duration) -> Self {
        adjusting { $0.byteInterval = interval }
    }

    /// The same reply with its latency (plain) or its pacing (streamed) drawn from `model` for
    /// this prompt and attempt: a plain reply waits the whole draw before its status line; a
    /// streamed one sends its status line at once, spends the model's first-event share before
    /// the first text event and spreads the rest between the events.
    public func timed(by model: LatencyModel, prompt: String, attempt: Int, isStreaming: Bool) -> Self {
        adjusting { delivery in
            guard isStreaming else {
                delivery.latency = model.latency(prompt: prompt, attempt: attempt)
                return
            }
            let (firstEvent, streaming) = model.streamTiming(prompt: prompt, attempt: attempt)
            delivery.latency = .zero
            guard delivery.stream.textEvents > 1 else {
                delivery.stream.thinking = firstEvent + streaming
                return
            }
            delivery.stream.thinking = firstEvent
            delivery.stream.interval = streaming / (delivery.stream.textEvents - 1)
        }
    }

    private func adjusting(_ change: (inout Delivery) -> Void) -> Self {
        var copy = self
        change(&copy.delivery)
        return copy
    }
}
