import CreditDomain
import Foundation
import Testing

/// Training distributions (bins) and the population stability index.
@Suite struct DriftTests {
    @Test func numericBinsAndEdges() {
        let values: [Double?] = (1...100).map { Double($0) } + [nil, .nan]
        let d = FeatureDistribution.numeric(name: "x", values: values, rows: Array(values.indices))
        #expect(d.edges == [11, 21, 31, 41, 51, 61, 71, 81, 91])
        #expect(d.binCount == 11 && d.missingBin == 10)
        #expect(d.bin(number: 0) == 0 && d.bin(number: 11) == 0 && d.bin(number: 11.5) == 1)
        #expect(d.bin(number: 91) == 8 && d.bin(number: 1e9) == 9 && d.bin(number: .nan) == 10)
        #expect(abs(d.fractions.reduce(0, +) - 1) < 1e-12)
        #expect(d.fractions[10] == 2.0 / 102)   // nil and NaN are missing
        #expect(d.fractions[0] == 11.0 / 102)
        #expect(d.binLabels.count == d.binCount && d.binLabels.last == "missing")
        // A constant column has one value bin.
        let c = FeatureDistribution.numeric(name: "c", values: [5, 5, 5], rows: [0, 1, 2])
        #expect(c.edges == [] && c.fractions == [1, 0])
    }

    @Test("valueBin == #{edges < x} for values on, between and beyond the edges (0…9 edges, repeats)")
    func valueBinCountsEdgesBelow() {
        var state: UInt64 = 99
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for count in 0...9 {
            for _ in 0..<20 {
                let edges = (0..<count).map { _ in Double(next() % 12) }.sorted()
                for x in stride(from: -1.0, through: 13.0, by: 0.5) + [-.infinity, .infinity] {
                    let want = edges.filter { $0 < x }.count
                    #expect(edges.withUnsafeBufferPointer { FeatureDistribution.valueBin(x, edges: $0) } == want, "\(edges) \(x)")
                }
            }
        }
    }

    @Test func categoricalBins() {
        let d = FeatureDistribution.categorical(name: "k", values: ["b", "a", nil, "a"], rows: [0, 1, 2, 3])
        #expect(d.categories == ["a", "b"])
        #expect(d.fractions == [0.5, 0.25, 0, 0.25])   // a, b, other, missing
        #expect(d.binLabels == ["a", "b", "other", "missing"])
    }

    @Test func psiValuesAndBands() {
        #expect(PSI.value(expected: [0.25, 0.25, 0.5], counts: [25, 25, 50]) == 0)
        // (0.3 - 0.5) ln(0.3 / 0.5) + (0.7 - 0.5) ln(0.7 / 0.5), by hand: 0.1694596...
        let v = PSI.value(expected: [0.5, 0.5], counts: [30, 70])
        #expect(abs(v - 0.1694596) < 1e-6)
        #expect(PSI.band(v) == "moderate")
        #expect(PSI.band(0.05) == "stable" && PSI.band(0.3) == "significant" && PSI.band(0.1) == "moderate")
        // An empty bin counts as 0.0001, so the index stays finite.
        let w = PSI.value(expected: [1, 0], counts: [0, 10])
        #expect(w.isFinite && w > 5)
        #expect(PSI.value(expected: [1], counts: [0]).isNaN)
    }
}
