extension FakeGeminiServer {
    /// A reproducible mix of faults: each (prompt, attempt) pair draws its reply from a seeded
    /// hash, not from shared random state, so the same seed gives the same replies whatever
    /// order concurrent requests arrive in. A prompt fails at most ``maxFailuresPerPrompt``
    /// times: every attempt after that succeeds, so a client that retries always finishes.
    ///
    /// Use it as the server's decision: `Configuration(reply: FaultMix.realistic().reply(for:))`.
    public struct FaultMix: Sendable {
        /// A fault and the probability (0...1) that an attempt gets it.
        public struct Fault: Sendable {
            public var reply: Reply
            public var probability: Double

            public init(_ reply: Reply, probability: Double) {
                self.reply = reply
                self.probability = probability
            }
        }

        /// The faults; the probabilities should sum to at most 1, the rest is success.
        public var faults: [Fault]
        public var seed: UInt64
        /// Attempts beyond this number always succeed.
        public var maxFailuresPerPrompt: Int
        /// Applied to every reply, faults and successes alike.
        public var latency: Duration

        public init(faults: [Fault], seed: UInt64, maxFailuresPerPrompt: Int = 2, latency: Duration = .zero) {
            self.faults = faults
            self.seed = seed
            self.maxFailuresPerPrompt = maxFailuresPerPrompt
            self.latency = latency
        }

        /// Roughly what a busy day of Gemini looks like: 10% 503, 5% 500, 5% 429 with
        /// retryDelay "1s", 3% STOP without parts, 2% cut JSON, 1% connection reset.
        public static func realistic(
            seed: UInt64 = 1,
            maxFailuresPerPrompt: Int = 2,
            latency: Duration = .zero
        ) -> FaultMix {
            FaultMix(
                faults: [
                    Fault(.status(code: 503), probability: 0.10),
                    Fault(.status(code: 500), probability: 0.05),
                    Fault(.rateLimited(retryDelay: "1s"), probability: 0.05),
                    Fault(.emptyParts, probability: 0.03),
                    Fault(.malformedJSON, probability: 0.02),
                    Fault(.connectionReset, probability: 0.01),
                ],
                seed: seed,
                maxFailuresPerPrompt: maxFailuresPerPrompt,
                latency: latency
            )
        }

        /// The reply for `request`, a pure function of the seed, the prompt and the attempt.
        public func reply(for request: Request) -> Reply {
            guard request.attempt <= maxFailuresPerPrompt else { return Reply.success().after(latency) }
            var draw = Self.unitInterval(Self.hash(seed: seed, prompt: request.prompt, attempt: request.attempt))
            for fault in faults {
                if draw < fault.probability { return fault.reply.after(latency) }
                draw -= fault.probability
            }
            return Reply.success().after(latency)
        }

        /// FNV-1a over the prompt's UTF-8 and the attempt, seeded, then SplitMix64's finaliser
        /// so nearby inputs land far apart.
        static func hash(seed: UInt64, prompt: String, attempt: Int) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
            for byte in prompt.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            hash = (hash ^ UInt64(truncatingIfNeeded: attempt)) &* 0x0000_0100_0000_01b3
            hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
            hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
            return hash ^ (hash >> 31)
        }

        /// The top 53 bits as a Double in 0..<1.
        static func unitInterval(_ value: UInt64) -> Double {
            Double(value >> 11) * 0x1.0p-53
        }
    }
}
