/// What an API fake wants written for one reply: its status line, headers and body, before the
/// delivery's pacing and faults are applied.
package struct WirePlan: Sendable {
    package struct Event: Sendable {
        /// Waited before the event's first byte, after the previous event (or the status line).
        package var delay: Duration
        package var bytes: [UInt8]

        package init(delay: Duration = .zero, bytes: [UInt8]) {
            self.delay = delay
            self.bytes = bytes
        }
    }

    package enum Body: Sendable {
        /// Sent with Content-Length.
        case whole([UInt8])
        /// Sent with chunked transfer encoding, each event (or piece of one) its own chunk, so a
        /// client sees events split across reads.
        case events([Event])
    }

    package var status: Int
    /// Content-Type and any API-specific headers; framing headers are added when writing.
    package var headers: [(name: String, value: String)]
    package var body: Body

    package init(status: Int, headers: [(name: String, value: String)], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain reply with a whole body of `contentType`.
    package static func whole(status: Int, contentType: String, _ bytes: [UInt8]) -> WirePlan {
        WirePlan(status: status, headers: [("content-type", contentType)], body: .whole(bytes))
    }
}

/// The line ending of a stream's events: the live Gemini API ends lines with CRLF, OpenAI and the
/// local servers with LF. An event is `data: JSON` + ending + ending.
public enum LineEnding: String, Sendable, Hashable, CaseIterable {
    case crlf
    case lf

    public var bytes: String {
        switch self {
        case .crlf: "\r\n"
        case .lf: "\n"
        }
    }
}

/// Where a server cuts each event into separate TCP writes (separate HTTP chunks), so clients
/// must reassemble events split at any byte.
public enum SplitPolicy: Sendable, Hashable {
    /// One write per event.
    case none
    /// Two writes per event, cut in the middle.
    case halves
    /// `cutsPerEvent` cuts per event at positions drawn from `seed` and the event's index.
    case seeded(seed: UInt64, cutsPerEvent: Int)
    /// The cuts that break naive parsers: between the CR and LF of every line ending, between
    /// the two line endings that close an event, inside the first multi-byte UTF-8 character,
    /// plus one seeded cut.
    case adversarial(seed: UInt64)
    /// Every byte its own write.
    case everyByte

    /// The positions (1..<count, ascending, distinct) where event number `index` is cut.
    package func cuts(in event: [UInt8], index: Int) -> [Int] {
        let count = event.count
        guard count > 1 else { return [] }
        var positions: Set<Int> = []
        func seededCut(_ seed: UInt64, _ number: Int) -> Int {
            let draw = SeededDraw.unit(
                seed: seed,
                salt: SeededDraw.Salt.split,
                prompt: "event",
                attempt: index * 64 + number
            )
            return 1 + Int(draw * Double(count - 1))
        }
        switch self {
        case .none:
            break
        case .halves:
            positions.insert(count / 2)
        case .seeded(let seed, let cutsPerEvent):
            for number in 0..<max(0, cutsPerEvent) { positions.insert(seededCut(seed, number)) }
        case .adversarial(let seed):
            for offset in 0..<(count - 1) where event[offset] == 0x0D && event[offset + 1] == 0x0A {
                positions.insert(offset + 1)
            }
            if event[count - 1] == 0x0A, event[count - 2] == 0x0A {
                positions.insert(count - 1)  // "\n" | "\n"
            }
            if event[count - 1] == 0x0A, count >= 4, event[count - 4] == 0x0D, event[count - 3] == 0x0A {
                positions.insert(count - 2)  // "\r\n" | "\r\n"
            }
            if let lead = event.firstIndex(where: { $0 >= 0xC0 }), lead + 1 < count {
                positions.insert(lead + 1)
            }
            positions.insert(seededCut(seed, 0))
        case .everyByte:
            return Array(1..<count)
        }
        return positions.filter { (1..<count).contains($0) }.sorted()
    }
}

/// A reply's writes in order, each after its delay, and how the body ends: the plan with its
/// delivery's pacing, faults and split applied. Pure, so it is tested without sockets.
package struct WireSchedule: Sendable, Equatable {
    package struct Step: Sendable, Equatable {
        package var delay: Duration
        package var bytes: [UInt8]
        /// Events complete once this step is written.
        package var eventsComplete: Int
    }

    package enum Ending: Sendable, Equatable {
        /// The body ends as planned.
        case complete
        /// The body ends cleanly, but short of what was planned.
        case truncated
        /// The connection closes without ending the body.
        case closed
        /// Nothing more is written; the connection stays open.
        case silent
    }

    package var steps: [Step]
    package var ending: Ending
    /// For a whole body: the Content-Length to announce.
    package var contentLength: Int?

    package static func make(
        _ body: WirePlan.Body,
        interruption: Interruption?,
        byteInterval: Duration?,
        split: SplitPolicy
    ) -> WireSchedule {
        switch body {
        case .whole(let bytes):
            return whole(bytes, interruption: interruption, byteInterval: byteInterval)
        case .events(let events):
            return streamed(events, interruption: interruption, byteInterval: byteInterval, split: split)
        }
    }

    private static func whole(_ bytes: [UInt8], interruption: Interruption?, byteInterval: Duration?) -> WireSchedule {
        let half = bytes.count / 2
        func steps(_ slice: ArraySlice<UInt8>, firstDelay: Duration = .zero, completes: Bool) -> [Step] {
            guard !slice.isEmpty else { return [] }
            guard let byteInterval else {
                return [Step(delay: firstDelay, bytes: Array(slice), eventsComplete: completes ? 1 : 0)]
            }
            return slice.indices.map { index in
                Step(
                    delay: index == slice.startIndex ? firstDelay : byteInterval,
                    bytes: [slice[index]],
                    eventsComplete: completes && index == slice.endIndex - 1 ? 1 : 0
                )
            }
        }
        switch interruption {
        case nil:
            return WireSchedule(
                steps: steps(bytes[...], completes: true),
                ending: .complete,
                contentLength: bytes.count
            )
        case .stall(_, nil):
            return WireSchedule(
                steps: steps(bytes[..<half], completes: false),
                ending: .silent,
                contentLength: bytes.count
            )
        case .stall(_, let duration?):
            let first = steps(bytes[..<half], completes: false)
            let rest = steps(
                bytes[half...],
                firstDelay: duration + (first.isEmpty ? .zero : byteInterval ?? .zero),
                completes: true
            )
            return WireSchedule(steps: first + rest, ending: .complete, contentLength: bytes.count)
        case .cut:
            return WireSchedule(
                steps: steps(bytes[..<half], completes: false),
                ending: .closed,
                contentLength: bytes.count
            )
        case .truncate:
            return WireSchedule(steps: steps(bytes[..<half], completes: true), ending: .truncated, contentLength: half)
        }
    }

    private static func streamed(
        _ events: [WirePlan.Event],
        interruption: Interruption?,
        byteInterval: Duration?,
        split: SplitPolicy
    ) -> WireSchedule {
        var steps: [Step] = []
        func append(_ event: WirePlan.Event, index: Int, extraDelay: Duration = .zero, onlyFirstHalf: Bool = false) {
            let bytes = onlyFirstHalf ? Array(event.bytes.prefix(event.bytes.count / 2)) : event.bytes
            guard !bytes.isEmpty else { return }
            let cuts = byteInterval == nil ? split.cuts(in: bytes, index: index) : Array(1..<bytes.count)
            let bounds = [0] + cuts + [bytes.count]
            for piece in 0..<(bounds.count - 1) {
                let isLast = piece == bounds.count - 2
                steps.append(
                    Step(
                        delay: piece == 0 ? event.delay + extraDelay : (byteInterval ?? .zero),
                        bytes: Array(bytes[bounds[piece]..<bounds[piece + 1]]),
                        eventsComplete: isLast && !onlyFirstHalf ? index + 1 : index
                    )
                )
            }
        }
        switch interruption {
        case nil:
            for (index, event) in events.enumerated() { append(event, index: index) }
            return WireSchedule(steps: steps, ending: .complete)
        case .stall(let afterEvents, nil):
            for (index, event) in events.prefix(afterEvents).enumerated() { append(event, index: index) }
            return WireSchedule(steps: steps, ending: afterEvents >= events.count ? .complete : .silent)
        case .stall(let afterEvents, let duration?):
            for (index, event) in events.enumerated() {
                append(event, index: index, extraDelay: index == afterEvents ? duration : .zero)
            }
            if afterEvents >= events.count {
                // The silence comes after the last event, before the body ends: an empty step
                // carries it.
                steps.append(Step(delay: duration, bytes: [], eventsComplete: events.count))
            }
            return WireSchedule(steps: steps, ending: .complete)
        case .cut(let afterEvents):
            for (index, event) in events.prefix(afterEvents).enumerated() { append(event, index: index) }
            if afterEvents < events.count {
                append(events[afterEvents], index: afterEvents, onlyFirstHalf: true)
            }
            return WireSchedule(steps: steps, ending: .closed)
        case .truncate(let afterEvents):
            for (index, event) in events.prefix(afterEvents).enumerated() { append(event, index: index) }
            return WireSchedule(steps: steps, ending: afterEvents >= events.count ? .complete : .truncated)
        }
    }
}
