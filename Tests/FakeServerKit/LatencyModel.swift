#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How long a fake takes to answer, drawn per (prompt, attempt) from a seeded distribution, so
/// a run's latencies are reproducible whatever order its requests arrive in.
///
/// A draw is the latency of a whole reply, multiplied by ``timeScale`` (1/100 turns a 25 s
/// chapter into 0.25 s). A streamed reply spends ``firstEventShare`` of it before its first text
/// event (the model thinking) and the rest streaming its events; a plain reply waits all of it.
public struct LatencyModel: Sendable, Hashable {
    /// The distribution of one reply's latency, before scaling.
    public enum Distribution: Sendable, Hashable {
        /// Always the same.
        case fixed(Duration)
        /// Uniform between the bounds.
        case uniform(min: Duration, max: Duration)
        /// Log-normal: `median · e^(sigma·z)` for a standard normal z, clipped to the bounds;
        /// right-skewed like real model latencies.
        case logNormal(median: Duration, sigma: Double, min: Duration, max: Duration)
    }

    public var distribution: Distribution
    /// Multiplies every draw: 0.01 runs a realistic schedule a hundred times faster.
    public var timeScale: Double
    /// The part (0...1) of a streamed reply's latency before its first text event.
    public var firstEventShare: Double
    public var seed: UInt64

    public init(_ distribution: Distribution, timeScale: Double = 1, firstEventShare: Double = 0.3, seed: UInt64 = 1) {
        self.distribution = distribution
        self.timeScale = timeScale
        self.firstEventShare = firstEventShare
        self.seed = seed
    }

    /// A chapter of ~1,500 words from Gemini 2.5 Flash with dynamic thinking: log-normal with a
    /// 25 s median and sigma 0.45 (90 % of chapters between about 12 s and 52 s, a long right
    /// tail), clipped to 12...90 s.
    public static func geminiFlashChapter(timeScale: Double = 1, seed: UInt64 = 1) -> LatencyModel {
        LatencyModel(
            .logNormal(median: .seconds(25), sigma: 0.45, min: .seconds(12), max: .seconds(90)),
            timeScale: timeScale,
            seed: seed
        )
    }

    /// A fixed latency: what `--latency-ms` always meant.
    public static func fixed(_ latency: Duration) -> LatencyModel {
        LatencyModel(.fixed(latency))
    }

    /// The scaled latency of a whole reply to attempt `attempt` of `prompt`.
    public func latency(prompt: String, attempt: Int) -> Duration {
        let first = SeededDraw.unit(seed: seed, salt: SeededDraw.Salt.latency, prompt: prompt, attempt: attempt)
        let second = SeededDraw.unit(seed: seed, salt: SeededDraw.Salt.latencyPair, prompt: prompt, attempt: attempt)
        return Self.scaled(unscaledSeconds(first, second), by: timeScale)
    }

    /// The scaled latency split for a streamed reply: before the first text event, and spread
    /// over the events after it. The two add up to ``latency(prompt:attempt:)``.
    public func streamTiming(prompt: String, attempt: Int) -> (firstEvent: Duration, streaming: Duration) {
        let total = latency(prompt: prompt, attempt: attempt)
        let share = min(max(firstEventShare, 0), 1)
        let firstEvent = Self.scaled(DurationFormat.seconds(total), by: share)
        return (firstEvent, total - firstEvent)
    }

    /// One unscaled draw in seconds from two independent uniform draws in 0..<1.
    func unscaledSeconds(_ first: Double, _ second: Double) -> Double {
        switch distribution {
        case .fixed(let latency):
            return DurationFormat.seconds(latency)
        case .uniform(let low, let high):
            let low = DurationFormat.seconds(low)
            return low + (DurationFormat.seconds(high) - low) * first
        case .logNormal(let median, let sigma, let low, let high):
            // Box-Muller; 1 - first is in (0, 1], so the logarithm is finite.
            let normal = (-2 * log(1 - first)).squareRoot() * cos(2 * Double.pi * second)
            let value = DurationFormat.seconds(median) * exp(sigma * normal)
            return min(max(value, DurationFormat.seconds(low)), DurationFormat.seconds(high))
        }
    }

    private static func scaled(_ seconds: Double, by factor: Double) -> Duration {
        let value = seconds * factor
        guard value.isFinite, value > 0 else { return .zero }
        return .nanoseconds(Int64(min(value, 86_400 * 365) * 1e9))
    }
}

// MARK: - Parsing

/// Why a `--latency` specification is not valid; the message says what to write instead.
public struct LatencySpecError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
}

extension LatencyModel {
    /// The grammar of ``init(spec:)``, for help texts.
    public static let specHelp = """
        KIND[:KEY=VALUE,...] with times in seconds. KIND is fixed (seconds=S, or fixed:S), \
        uniform (min=, max=), lognormal (median=, sigma= default 0.45, min= default 0, max= \
        default none) or gemini-flash (lognormal median=25, sigma=0.45, min=12, max=90; any of \
        them may be overridden). Every kind also takes scale= (time factor, default 1), first= \
        (share of a streamed reply before its first text event, default 0.3) and seed= \
        (default 1). Example: lognormal:median=25,scale=0.01
        """

    /// Parses a specification such as `lognormal:median=25,scale=0.01`, `uniform:min=0.8,max=1.2`,
    /// `fixed:0.3` or `gemini-flash:scale=0.01` (see ``specHelp``).
    ///
    /// - Throws: ``LatencySpecError`` naming the unknown kind or key, or the value that is not a
    ///   number in range.
    public init(spec: String) throws(LatencySpecError) {
        let trimmed = spec.trimmingSpaces
        let kind: Substring
        let rest: Substring
        if let colon = trimmed.firstIndex(of: ":") {
            kind = trimmed[..<colon]
            rest = trimmed[trimmed.index(after: colon)...]
        } else {
            kind = trimmed[...]
            rest = ""
        }
        guard ["fixed", "uniform", "lognormal", "gemini-flash"].contains(kind) else {
            throw LatencySpecError(
                message: "latency \"\(spec)\": unknown kind \"\(kind)\"; use fixed, uniform, lognormal or gemini-flash"
            )
        }
        var values: [String: Double] = [:]
        var bare: Double?
        for item in rest.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            if pair.count == 1, kind == "fixed", bare == nil, let number = Double(pair[0]) {
                bare = number
                continue
            }
            guard pair.count == 2, !pair[0].isEmpty else {
                throw LatencySpecError(message: "latency \"\(spec)\": \"\(item)\" is not KEY=VALUE")
            }
            guard let number = Double(pair[1]), number.isFinite, number >= 0 else {
                throw LatencySpecError(
                    message: "latency \"\(spec)\": \(pair[0])=\(pair[1]) is not a number of 0 or more"
                )
            }
            values[pair[0]] = number
        }
        let common: Set<String> = ["scale", "first", "seed"]
        func allow(_ keys: Set<String>) throws(LatencySpecError) {
            if let unknown = values.keys.sorted().first(where: { !keys.union(common).contains($0) }) {
                throw LatencySpecError(
                    message: "latency \"\(spec)\": \(kind) takes no \(unknown)=; it takes "
                        + keys.union(common).sorted().map { "\($0)=" }.joined(separator: ", ")
                )
            }
        }
        func require(_ key: String) throws(LatencySpecError) -> Duration {
            guard let value = values[key] else {
                throw LatencySpecError(message: "latency \"\(spec)\": \(kind) needs \(key)=SECONDS")
            }
            return Self.exactly(value)
        }

        let distribution: Distribution
        switch kind {
        case "fixed":
            try allow(["seconds"])
            guard let seconds = bare ?? values["seconds"] else {
                throw LatencySpecError(message: "latency \"\(spec)\": write fixed:SECONDS or fixed:seconds=SECONDS")
            }
            distribution = .fixed(Self.exactly(seconds))
        case "uniform":
            try allow(["min", "max"])
            let (low, high) = (try require("min"), try require("max"))
            guard low <= high else {
                throw LatencySpecError(message: "latency \"\(spec)\": min= must not exceed max=")
            }
            distribution = .uniform(min: low, max: high)
        case "lognormal", "gemini-flash":
            try allow(["median", "sigma", "min", "max"])
            let preset = kind == "gemini-flash"
            guard let median = values["median"] ?? (preset ? 25 : nil), median > 0 else {
                throw LatencySpecError(message: "latency \"\(spec)\": lognormal needs median=SECONDS above 0")
            }
            let low = values["min"] ?? (preset ? 12 : 0)
            let high = values["max"] ?? (preset ? 90 : 86_400)
            guard low <= high else {
                throw LatencySpecError(message: "latency \"\(spec)\": min= must not exceed max=")
            }
            distribution = .logNormal(
                median: Self.exactly(median),
                sigma: values["sigma"] ?? 0.45,
                min: Self.exactly(low),
                max: Self.exactly(high)
            )
        default:
            throw LatencySpecError(
                message: "latency \"\(spec)\": unknown kind \"\(kind)\"; use fixed, uniform, lognormal or gemini-flash"
            )
        }
        if let first = values["first"], first > 1 {
            throw LatencySpecError(message: "latency \"\(spec)\": first= is a share between 0 and 1")
        }
        if let seed = values["seed"], seed.rounded() != seed || seed >= 0x1p63 {
            throw LatencySpecError(message: "latency \"\(spec)\": seed= must be a whole number")
        }
        self.init(
            distribution,
            timeScale: values["scale"] ?? 1,
            firstEventShare: values["first"] ?? 0.3,
            seed: values["seed"].map { UInt64($0) } ?? 1
        )
    }
}

extension LatencyModel {
    /// `seconds` rounded to whole nanoseconds, so "0.8" parses to exactly `.milliseconds(800)`.
    fileprivate static func exactly(_ seconds: Double) -> Duration {
        .nanoseconds(Int64((min(seconds, 1e9) * 1e9).rounded()))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
