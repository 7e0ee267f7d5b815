import Foundation

// The project's one family of seeded random generators. Everything random (synthetic books,
// splits, sampling, weight initialisation, dropout, tests, benchmarks) draws from one of these
// two, never from the system generator, so the same seed gives the same bytes on every
// platform:
// - `SplitMix64` (one 64-bit word of state): data synthesis, splits, tests;
// - `Xoshiro256StarStar` (four words, seeded by `SplitMix64`): the learners' long streams
//   (GBDT row and feature sampling, MLP initialisation, shuffling and dropout).
// Both are `RandomNumberGenerator`s; the draws below (`uniform()`, `nextIndex(below:)`, ...)
// are shared by both through `SeededRandomNumberGenerator`. They are `@inlinable` so the
// learners' per-row draws inline into their loops from this module.

/// A seeded `RandomNumberGenerator` of this family: same seed → same sequence everywhere.
public protocol SeededRandomNumberGenerator: RandomNumberGenerator {
    init(seed: UInt64)
}

/// SplitMix64: a small, fast, seeded generator (Steele, Lea & Flood 2014). Same seed →
/// same sequence on every platform; the synthetic book never uses the system generator.
public struct SplitMix64: SeededRandomNumberGenerator, Sendable {
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
}

/// xoshiro256** (Blackman & Vigna 2018), its four words of state seeded by four `SplitMix64`
/// draws (the authors' recommended seeding). A longer period and better equidistribution
/// than SplitMix64 for the learners' long streams.
public struct Xoshiro256StarStar: SeededRandomNumberGenerator, Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    @inlinable
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next(); s1 = seeder.next(); s2 = seeder.next(); s3 = seeder.next()
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }
}

extension SeededRandomNumberGenerator {
    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [0, 1) with 24 random bits (a Float's mantissa).
    @inlinable
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in `0..<n` as `next() % n` (modulo bias ≤ n/2⁶⁴). Unlike the standard
    /// library's `next(upperBound:)`, exactly one draw per call, so sequences never depend on
    /// the standard library's algorithm.
    @inlinable
    public mutating func nextIndex(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Standard normal: Box–Muller, one value per call, `u1` kept off 0 by clamping it to 1e-300.
    @inlinable
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Standard normal: Box–Muller, one value per call, `u1` drawn in (0, 1] instead of clamped
    /// (the MLP's weight initialisation). Kept beside `normal()` because both sequences are
    /// relied on: the same seed must keep giving the same books and the same networks.
    @inlinable
    public mutating func gaussian() -> Double {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    @inlinable
    public mutating func exponential(mean: Double) -> Double { -log(max(1 - uniform(), 1e-300)) * mean }

    @inlinable
    public mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// Index drawn from unnormalized weights.
    @inlinable
    public mutating func pick(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = uniform() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }

    @inlinable
    public mutating func pick<T>(_ values: [T]) -> T { values[nextIndex(below: values.count)] }

    /// Fisher–Yates shuffle driven by this generator (deterministic, unlike `shuffle()`'s
    /// default generator).
    @inlinable
    public mutating func shuffleInPlace<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, nextIndex(below: i + 1))
        }
    }

    /// `k` distinct indices of `0..<n` in ascending order (partial Fisher–Yates).
    @inlinable
    public mutating func sampleIndices(_ k: Int, of n: Int) -> [Int] {
        var a = Array(0..<n)
        for i in 0..<min(k, n) {
            a.swapAt(i, i + nextIndex(below: n - i))
        }
        return a[0..<min(k, n)].sorted()
    }
}
