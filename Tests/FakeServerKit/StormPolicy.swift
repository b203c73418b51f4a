/// An overload storm: while it lasts, a seeded share of requests get 503 UNAVAILABLE ("The model
/// is overloaded") instead of their reply, as the real APIs do for minutes at a time.
///
/// Which attempts fail is a pure function of the seed, the prompt and the attempt number, so a
/// run is reproducible. A storm runs while a test has switched it on (``FakeServer/beginStorm(_:)``),
/// or during ``during``, measured from the server's start.
public struct StormPolicy: Sendable, Hashable {
    /// The share (0...1) of requests that get 503 while the storm lasts.
    public var fraction: Double
    public var seed: UInt64
    /// When the storm runs on its own, as offsets from the server's start; nil: only while
    /// switched on.
    public var during: Range<Duration>?

    public init(fraction: Double = 0.6, seed: UInt64 = 1, during: Range<Duration>? = nil) {
        self.fraction = fraction
        self.seed = seed
        self.during = during
    }

    /// Whether the storm's schedule covers `elapsed` since the server's start.
    public func isScheduled(at elapsed: Duration) -> Bool {
        during?.contains(elapsed) ?? false
    }

    /// Whether attempt `attempt` of `prompt` is one of the storm's 503s.
    public func rejects(prompt: String, attempt: Int) -> Bool {
        SeededDraw.unit(seed: seed, salt: SeededDraw.Salt.storm, prompt: prompt, attempt: attempt) < fraction
    }
}
