import Foundation

// The one seeded random generator of the project. Everything random (synthetic books,
// splits, sampling, tests) draws from it, never from the system generator, so the same seed
// gives the same bytes on every platform.

/// SplitMix64: a small, fast, seeded generator (Steele, Lea & Flood 2014). Same seed →
/// same sequence on every platform; the synthetic book never uses the system generator.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state_: UInt64
    /// The generator's state (advancing it is `next()`'s job only).
    public var state: UInt64 { state_ }

    public init(seed: UInt64) { state_ = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state_ &+= 0x9E37_79B9_7F4A_7C15
        var z = state_
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller; one value per call, deterministic).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    public mutating func exponential(mean: Double) -> Double { -log(max(1 - uniform(), 1e-300)) * mean }

    public mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// Index drawn from unnormalized weights.
    public mutating func pick(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = uniform() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }

    public mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
}

extension SplitMix64 {
    /// Fisher–Yates shuffle driven by this generator (deterministic, unlike `shuffle()`'s
    /// default generator).
    public mutating func shuffleInPlace<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}
