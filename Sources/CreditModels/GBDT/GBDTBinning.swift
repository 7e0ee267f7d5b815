/// Histogram bins of the training rows, built once before boosting.
///
/// Numeric feature: distinct non-NaN training values sorted; when there are at most
/// `maxBins` of them every value gets its own bin (exact thresholds), else bins are cut at
/// weighted quantiles (greedy by row count, a heavy value keeps its own bin). `cuts[j][b]` is
/// the threshold between bin `b` and `b+1`: a value is in bin `b` when
/// `cuts[b-1] <= x < cuts[b]`, so "bins 0...b go left" is exactly `x < cuts[b]`.
/// Categorical feature: bin = category code. NaN (and the unseen code `cardinality`) go to
/// the feature's extra missing bin `numBins[j]`.
///
/// Storage: row-major `rows × features`, one byte per cell (`bins8`) when every feature's
/// bins including the missing bin fit in 256 values, else two (`bins16`); the other array is
/// empty. Row-major suits the learner: histograms are built over a node's (scattered) rows,
/// and one row's bins share a cache line.
///
/// Because `x < cuts[b]` ⟺ `bin(x) <= b` for every `x` (the cuts are strictly increasing),
/// walking a tree on bins (`binRows` of any matrix with these cuts) sends every row exactly
/// where the float walk of the finished model sends it; the learner uses that to score
/// out-of-bag and validation rows without touching the floats.
struct GBDTBins {
    let rows: Int
    let features: Int
    /// Row-major bins when `!wide` (else empty).
    var bins8: [UInt8]
    /// Row-major bins when `wide` (else empty).
    var bins16: [UInt16]
    /// Whether some feature needs more than 256 bin values (incl. missing).
    var wide: Bool
    /// Non-missing bins per feature; the missing bin of feature j has index `numBins[j]`.
    var numBins: [Int]
    /// First histogram slot of feature j (each feature has `numBins[j] + 1` slots).
    var slotOffset: [Int]
    var totalSlots: Int
    var cuts: [[Float]]
    var cardinality: [Int]

    init(_ x: FeatureMatrix, maxBins: Int) throws {
        rows = x.rows
        features = x.cols
        numBins = []
        cuts = []
        cardinality = []
        for (j, col) in x.columns.enumerated() {
            switch col.kind {
            case let .categorical(card):
                precondition(card >= 0 && card < 65_535, "GBDT: categorical cardinality \(card) out of range")
                for r in 0..<rows {
                    let v = x.values[r * features + j]
                    if v.isNaN { continue }
                    guard v >= 0, v <= Float(card), Float(Int(v)) == v else {
                        throw GBDTError.invalidCategory(row: r, column: col.name, value: v, cardinality: card)
                    }
                }
                cardinality.append(card)
                cuts.append([])
                numBins.append(card)
            default:
                cardinality.append(0)
                var vals = [Float]()
                vals.reserveCapacity(rows)
                for r in 0..<rows {
                    let v = x.values[r * features + j]
                    if !v.isNaN { vals.append(v) }
                }
                let c = GBDTBins.makeCuts(sortedValues: vals.sorted(), maxBins: maxBins)
                cuts.append(c)
                numBins.append(c.count + 1)
            }
        }
        var off = [Int](), total = 0
        for j in 0..<features { off.append(total); total += numBins[j] + 1 }
        slotOffset = off
        totalSlots = total
        wide = (numBins.max() ?? 0) > 255
        bins8 = []
        bins16 = []
        if wide { bins16 = binRows(x) } else { bins8 = binRows(x) }
    }

    /// Bins of every row of `x` (same columns as the training matrix; categorical codes already
    /// checked to be NaN or integers in 0...cardinality), row-major.
    func binRows<B: FixedWidthInteger & UnsignedInteger>(_ x: FeatureMatrix) -> [B] {
        precondition(x.cols == features, "GBDT: binning \(x.cols) columns with \(features)-column bins")
        let nf = features, n = x.rows
        var out = [B](repeating: 0, count: n * nf)
        x.values.withUnsafeBufferPointer { xv in
        out.withUnsafeMutableBufferPointer { ob in
            for j in 0..<nf {
                let missing = B(numBins[j])
                if cardinality[j] > 0 {
                    let card = cardinality[j]
                    for r in 0..<n {
                        let v = xv[r * nf + j]
                        // NaN and the unseen code `card` go to the missing bin (index card).
                        ob[r * nf + j] = v.isNaN ? missing : B(min(Int(v), card))
                    }
                } else {
                    cuts[j].withUnsafeBufferPointer { cp in
                        for r in 0..<n {
                            let v = xv[r * nf + j]
                            ob[r * nf + j] = v.isNaN ? missing : B(GBDTBins.bin(of: v, cuts: cp))
                        }
                    }
                }
            }
        }}
        return out
    }

    /// Number of cuts `<= v` (binary search).
    @inline(__always)
    static func bin(of v: Float, cuts: UnsafeBufferPointer<Float>) -> Int {
        var lo = 0, hi = cuts.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cuts[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Cut points over sorted non-NaN values (±infinity allowed; a cut is never infinite, so
    /// the model stays JSON-encodable: +inf cuts become `Float.greatestFiniteMagnitude`).
    static func makeCuts(sortedValues v: [Float], maxBins: Int) -> [Float] {
        guard !v.isEmpty else { return [] }
        var distinct = [Float](), counts = [Int]()
        for x in v {
            if let last = distinct.last, last == x { counts[counts.count - 1] += 1 } else { distinct.append(x); counts.append(1) }
        }
        var cuts = [Float]()
        if distinct.count <= maxBins {
            cuts = Array(distinct.dropFirst())
        } else {
            var remaining = v.count
            var binsLeft = maxBins
            var acc = 0
            for i in 0..<(distinct.count - 1) {
                acc += counts[i]
                let target = Double(remaining) / Double(binsLeft)
                // Close the bin when it is full or the next value alone would overfill it.
                if Double(acc) >= target || Double(acc + counts[i + 1]) > 1.5 * target && acc > 0 {
                    cuts.append(distinct[i + 1])
                    remaining -= acc
                    acc = 0
                    binsLeft -= 1
                    if binsLeft <= 1 { break }
                }
            }
        }
        var out = [Float]()
        for c in cuts {
            let cc = c == .infinity ? Float.greatestFiniteMagnitude : c
            if let last = out.last, last >= cc { continue }
            out.append(cc)
        }
        return out
    }
}
