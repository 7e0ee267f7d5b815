import Testing
@testable import CreditCore

/// Differential tests of the GBDT split-gain kernels (SplitKernels.swift): every available
/// copy against its scalar reference, identical bits.
@Suite struct SplitKernelTests {
    static func bits(_ x: Double) -> UInt64 { x.isNaN ? 0x7FF8_0000_0000_0000 : x.bitPattern }

    /// Random candidates of a node: cumulative left sums (as a scan gathers them), some beyond
    /// the constraints, a few special values; counts 0…37 (every tail length).
    static func candidates(_ rng: inout SplitMix64, count: Int) -> (g: [Double], h: [Double], c: [Double], node: SplitGainNode) {
        var g = [Double](), h = [Double](), c = [Double]()
        var lg = 0.0, lh = 0.0, lc = 0.0
        for _ in 0..<count {
            let k = Double(1 + rng.next() % 9)
            lg += (rng.uniform() * 2 - 1) * k * 0.5; lh += (0.01 + rng.uniform() * 0.24) * k; lc += k
            g.append(lg); h.append(lh); c.append(lc)
        }
        let special: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1e300, .leastNonzeroMagnitude]
        for i in 0..<count where rng.uniform() < 0.03 { g[i] = special[Int(rng.next() % UInt64(special.count))] }
        let node = SplitGainNode(g: lg + rng.uniform() - 0.5, h: lh + rng.uniform(), count: lc + Double(rng.next() % 5),
                                 lambda: [0, 1, 3][Int(rng.next() % 3)], minData: Double(1 + rng.next() % 6),
                                 minChild: Double(rng.next() % 3) * 0.5, parent: rng.uniform())
        return (g, h, c, node)
    }

    @Test("splitGains == splitGainsReference bit for bit: 0…37 candidates, constraints, NaN, ±inf, ±0")
    func splitGainsMatchesReference() {
        var rng = SplitMix64(seed: 17)
        var finite = 0, excluded = 0
        for round in 0..<400 {
            let count = round % 38
            let (g, h, c, node) = Self.candidates(&rng, count: count)
            var want = [Double](repeating: 7, count: count + 1)
            splitGainsReference(g: g, h: h, c: c, count: count, node: node, gains: &want)
            for variant in availableVariants {
                var got = [Double](repeating: 7, count: count + 1)
                splitGains(g: g, h: h, c: c, count: count, node: node, gains: &got, variant: variant)
                #expect(got.map(Self.bits) == want.map(Self.bits), "\(variant) count \(count)")
                #expect(got[count] == 7, "\(variant) wrote past count")
            }
            finite += want.dropLast().filter { $0.isFinite }.count
            excluded += want.dropLast().filter { $0 == -.infinity }.count
        }
        #expect(finite > 1_000 && excluded > 100, "finite \(finite), excluded \(excluded)")
        // The reference is the definition.
        let node = SplitGainNode(g: 3, h: 5, count: 10, lambda: 1, minData: 2, minChild: 0.5, parent: 0.25)
        var out = [Double](repeating: 0, count: 3)
        splitGainsReference(g: [1, 1, 2], h: [2, 2, 4.8], c: [3, 1, 9], count: 3, node: node, gains: &out)
        #expect(out[0] == 1.0 / 3 + 4.0 / 4 - 0.25)
        #expect(out[1] == -.infinity && out[2] == -.infinity, "too few rows left, too little hessian right")
    }

    @Test("monotoneSplitGains == monotoneSplitGainsReference bit for bit: bounds, signs, ordering, NaN, ±inf, ±0")
    func monotoneSplitGainsMatchesReference() {
        var rng = SplitMix64(seed: 18)
        let bounds: [(Double, Double)] = [(-.infinity, .infinity), (-0.05, .infinity), (-.infinity, 0.02), (-0.01, 0.03), (0, 0), (-0.0, 0)]
        var finite = 0, excluded = 0
        for round in 0..<600 {
            let count = round % 38
            let (g, h, c, node) = Self.candidates(&rng, count: count)
            let (lo, up) = bounds[Int(rng.next() % UInt64(bounds.count))]
            let b = SplitGainBounds(eta: [0.1, 0.3][Int(rng.next() % 2)], lower: lo, upper: up, sign: [-1, 0, 1][Int(rng.next() % 3)])
            var want = [Double](repeating: 7, count: count + 1)
            monotoneSplitGainsReference(g: g, h: h, c: c, count: count, node: node, bounds: b, gains: &want)
            for variant in availableVariants {
                var got = [Double](repeating: 7, count: count + 1)
                monotoneSplitGains(g: g, h: h, c: c, count: count, node: node, bounds: b, gains: &got, variant: variant)
                #expect(got.map(Self.bits) == want.map(Self.bits), "\(variant) count \(count) bounds \(lo)…\(up) sign \(b.sign)")
                #expect(got[count] == 7, "\(variant) wrote past count")
            }
            finite += want.dropLast().filter { $0.isFinite }.count
            excluded += want.dropLast().filter { $0 == -.infinity }.count
        }
        #expect(finite > 1_000 && excluded > 100, "finite \(finite), excluded \(excluded)")
        // Out of order for +1: left value above right is refused; −1 accepts it.
        let node = SplitGainNode(g: 0, h: 4, count: 10, lambda: 1, minData: 1, minChild: 0, parent: 0)
        var out = [Double](repeating: 0, count: 1)
        let rising = SplitGainBounds(eta: 0.1, lower: -.infinity, upper: .infinity, sign: 1)
        monotoneSplitGainsReference(g: [-1], h: [2], c: [5], count: 1, node: node, bounds: rising, gains: &out)
        #expect(out[0] == -.infinity, "left value 1/3·η > right value −1/3·η under +1")
        var falling = rising; falling.sign = -1
        monotoneSplitGainsReference(g: [-1], h: [2], c: [5], count: 1, node: node, bounds: falling, gains: &out)
        #expect(out[0].isFinite && out[0] > 0)
    }
}
