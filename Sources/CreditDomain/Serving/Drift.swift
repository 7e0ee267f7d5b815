import Foundation

/// One feature's distribution on the training (fit) rows, kept in the model artifact so a
/// service can measure drift (population stability index) of what it scores.
///
/// Bins, in order: the value bins, then (categorical only) "other" for a category not seen in
/// training, then "missing". A numeric value `x` falls in the first bin whose upper edge is
/// `>= x`, or in the last value bin when it is above every edge.
public struct FeatureDistribution: Codable, Sendable, Equatable {
    public var name: String
    public var kind: FeatureKind
    /// Numeric: the upper edges of the value bins but the last (training deciles, distinct), ascending.
    public var edges: [Double]?
    /// Categorical: the training categories, one value bin each.
    public var categories: [String]?
    /// Share of fit rows in each bin (sums to 1 when there were rows).
    public var fractions: [Double]

    public init(name: String, kind: FeatureKind, edges: [Double]?, categories: [String]?, fractions: [Double]) {
        self.name = name
        self.kind = kind
        self.edges = edges
        self.categories = categories
        self.fractions = fractions
    }

    /// Value bins: edges + 1 (numeric) or one per category plus "other" (categorical).
    public var valueBins: Int { kind == .numeric ? (edges?.count ?? 0) + 1 : (categories?.count ?? 0) + 1 }
    public var binCount: Int { valueBins + 1 }
    public var missingBin: Int { valueBins }

    /// The bin of a number (NaN = missing).
    @inline(__always)
    public func bin(number x: Double) -> Int {
        guard !x.isNaN else { return missingBin }
        return (edges ?? []).withUnsafeBufferPointer { FeatureDistribution.valueBin(x, edges: $0) }
    }

    /// The value bin of a non-NaN `x` among ascending `edges`: `#{k : edges[k] < x}`. A
    /// branch-free binary search (a branchy one mispredicts on nearly every value; the serving
    /// tally runs this per applicant and feature), straight-line and never inlined: inside a
    /// loop LLVM's x86 cmov converter turns its selects back into branches.
    @inline(never)
    public static func valueBin(_ x: Double, edges e: UnsafeBufferPointer<Double>) -> Int {
        guard let p = e.baseAddress, e.count > 0 else { return 0 }
        var base = 0, len = e.count
        @inline(__always) func step() {
            let half = len &>> 1
            base = p[base &+ half] < x ? base &+ half : base
            len &-= half
        }
        if len > 1 { step() }; if len > 1 { step() }; if len > 1 { step() }; if len > 1 { step() }
        if len > 1 { step() }; if len > 1 { step() }; if len > 1 { step() }; if len > 1 { step() }
        while len > 1 { step() }   // more than 256 edges: not a drift table's size
        return base &+ (p[base] < x ? 1 : 0)
    }

    /// Labels of the bins, for tables and charts.
    public var binLabels: [String] {
        switch kind {
        case .numeric:
            let e = edges ?? []
            var out: [String] = []
            for i in 0...e.count {
                if e.isEmpty { out.append("all values") }
                else if i == 0 { out.append("≤ \(formatNumber(e[0]))") }
                else if i == e.count { out.append("> \(formatNumber(e[i - 1]))") }
                else { out.append("\(formatNumber(e[i - 1])) – \(formatNumber(e[i]))") }
            }
            return out + ["missing"]
        case .categorical:
            return (categories ?? []) + ["other", "missing"]
        }
    }

    /// Fits the distribution of one column on `rows` (numeric values: NaN or nil = missing).
    public static func numeric(name: String, values: [Double?], rows: [Int], bins: Int = 10) -> FeatureDistribution {
        var observed: [Double] = []
        observed.reserveCapacity(rows.count)
        for r in rows { if let x = values[r], x.isFinite { observed.append(x) } }
        observed.sort()
        var edges: [Double] = []
        if !observed.isEmpty {
            for q in 1..<bins {
                let e = observed[min(observed.count - 1, q * observed.count / bins)]
                if e < observed.last!, edges.last.map({ e > $0 }) ?? true { edges.append(e) }
            }
        }
        var d = FeatureDistribution(name: name, kind: .numeric, edges: edges, categories: nil, fractions: [])
        var counts = [Int](repeating: 0, count: d.binCount)
        for r in rows { counts[d.bin(number: values[r].flatMap { $0.isFinite ? $0 : nil } ?? .nan)] += 1 }
        d.fractions = counts.map { rows.isEmpty ? 0 : Double($0) / Double(rows.count) }
        return d
    }

    /// Fits the distribution of a categorical column on `rows` (nil = missing).
    public static func categorical(name: String, values: [String?], rows: [Int]) -> FeatureDistribution {
        var counts: [String: Int] = [:]
        var missing = 0
        for r in rows { if let v = values[r] { counts[v, default: 0] += 1 } else { missing += 1 } }
        let cats = counts.keys.sorted()
        let n = Double(max(rows.count, 1))
        let fractions = cats.map { Double(counts[$0]!) / n } + [0, Double(missing) / n]
        return FeatureDistribution(name: name, kind: .categorical, edges: nil, categories: cats,
                                   fractions: rows.isEmpty ? fractions.map { _ in 0 } : fractions)
    }
}

/// Population stability index: `sum over bins of (a - e) * ln(a / e)`, with `e` the training
/// share and `a` the share among scored applicants; a share of 0 counts as 0.0001 so an
/// empty bin adds a large but finite term. Bands (the usual credit-scoring reading):
/// below 0.1 stable, 0.1 to 0.25 moderate shift, above 0.25 significant shift.
public enum PSI {
    public static let floor = 1e-4

    /// NaN when nothing was counted.
    public static func value(expected: [Double], counts: [Int]) -> Double {
        precondition(expected.count == counts.count, "PSI: \(expected.count) expected bins, \(counts.count) counted")
        let total = counts.reduce(0, +)
        guard total > 0 else { return .nan }
        var psi = 0.0
        for (e0, c) in zip(expected, counts) {
            let e = max(e0, floor), a = max(Double(c) / Double(total), floor)
            psi += (a - e) * Foundation.log(a / e)
        }
        return psi
    }

    public static func band(_ psi: Double) -> String {
        if psi.isNaN { return "none" }
        return psi < 0.1 ? "stable" : (psi <= 0.25 ? "moderate" : "significant")
    }
}
