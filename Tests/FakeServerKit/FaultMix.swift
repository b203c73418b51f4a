/// A reproducible mix of faults: each (prompt, attempt) pair draws its reply from a seeded hash,
/// not from shared random state, so the same seed gives the same replies whatever order
/// concurrent requests arrive in. A prompt fails at most ``maxFailuresPerPrompt`` times: every
/// attempt after that succeeds, so a client that retries always finishes.
///
/// Each API fake specialises it for its reply type (`FakeGeminiServer.FaultMix`,
/// `FakeOpenAIServer.FaultMix`) with a `realistic` mix and a `reply(for:)` taking its request.
public struct FaultMix<Reply: DeliveryAdjustable>: Sendable {
    /// A fault and the probability (0...1) that an attempt gets it.
    public struct Fault: Sendable {
        public var reply: Reply
        public var probability: Double

        public init(_ reply: Reply, probability: Double) {
            self.reply = reply
            self.probability = probability
        }
    }

    /// The faults; the probabilities should sum to at most 1, the rest is ``success``.
    public var faults: [Fault]
    /// The reply of every attempt that draws no fault.
    public var success: Reply
    public var seed: UInt64
    /// Attempts beyond this number always succeed.
    public var maxFailuresPerPrompt: Int
    /// Applied to every reply, faults and successes alike.
    public var latency: Duration
    /// When set, every reply's latency (plain) or pacing (streamed) is drawn from this model
    /// instead of ``latency``.
    public var latencyModel: LatencyModel?

    public init(
        faults: [Fault],
        success: Reply,
        seed: UInt64,
        maxFailuresPerPrompt: Int = 2,
        latency: Duration = .zero,
        latencyModel: LatencyModel? = nil
    ) {
        self.faults = faults
        self.success = success
        self.seed = seed
        self.maxFailuresPerPrompt = maxFailuresPerPrompt
        self.latency = latency
        self.latencyModel = latencyModel
    }

    /// The reply for attempt `attempt` of `prompt`, a pure function of the seed, the prompt and
    /// the attempt.
    public func reply(prompt: String, attempt: Int, isStreaming: Bool) -> Reply {
        let reply = undelayedReply(prompt: prompt, attempt: attempt)
        guard let latencyModel else { return reply.after(latency) }
        return reply.timed(by: latencyModel, prompt: prompt, attempt: attempt, isStreaming: isStreaming)
    }

    private func undelayedReply(prompt: String, attempt: Int) -> Reply {
        guard attempt <= maxFailuresPerPrompt else { return success }
        var draw = SeededDraw.unitInterval(SeededDraw.hash(seed: seed, prompt: prompt, attempt: attempt))
        for fault in faults {
            if draw < fault.probability { return fault.reply }
            draw -= fault.probability
        }
        return success
    }
}
