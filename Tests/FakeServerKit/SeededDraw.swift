/// Reproducible pseudo-random draws keyed by what a fake decides about: a seed, a prompt and an
/// attempt number. A draw depends only on these, never on shared random state, so the same seed
/// gives the same decisions whatever order concurrent requests arrive in.
package enum SeededDraw {
    /// FNV-1a over the prompt's UTF-8 and the attempt, seeded, then SplitMix64's finaliser so
    /// nearby inputs land far apart.
    package static func hash(seed: UInt64, prompt: String, attempt: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in prompt.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ UInt64(truncatingIfNeeded: attempt)) &* 0x0000_0100_0000_01b3
        return finalise(hash)
    }

    /// A draw in 0..<1 for one purpose: `salt` keeps independent decisions (a fault, a latency,
    /// a storm) about the same request uncorrelated.
    package static func unit(seed: UInt64, salt: UInt64, prompt: String, attempt: Int) -> Double {
        unitInterval(hash(seed: seed ^ finalise(salt), prompt: prompt, attempt: attempt))
    }

    /// The top 53 bits as a Double in 0..<1.
    package static func unitInterval(_ value: UInt64) -> Double {
        Double(value >> 11) * 0x1.0p-53
    }

    /// SplitMix64's finaliser.
    package static func finalise(_ value: UInt64) -> UInt64 {
        var hash = value
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }

    /// Salts naming what a draw decides.
    package enum Salt {
        package static let latency: UInt64 = 0x6c61_7465_6e63_7931
        package static let latencyPair: UInt64 = 0x6c61_7465_6e63_7932
        package static let storm: UInt64 = 0x7374_6f72_6d00_0001
        package static let split: UInt64 = 0x7370_6c69_7400_0001
    }
}
