/// Histogram bins of the training rows, built once before boosting.
///
/// Numeric feature: distinct non-NaN training values sorted; when there are at most
/// `maxBins` of them every value gets its own bin (exact thresholds), else bins are cut at
/// weighted quantiles (greedy by row count, a heavy value keeps its own bin). `cuts[j][b]` is
/// the threshold between bin `b` and `b+1`: a value is in bin `b` when
/// `cuts[b-1] <= x < cuts[b]`, so "bins 0...b go left" is exactly `x < cuts[b]`.
/// Categorical feature: bin = category code. NaN (and the unseen code `cardinality`) go to
/// the feature's extra missing bin `numBins[j]`.
struct GBDTBins {
    let rows: Int
    let features: Int
    /// Row-major `rows × features` bin indices.
    var bins: [UInt16]
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
        bins = [UInt16](repeating: 0, count: rows * features)
        numBins = []
        cuts = []
        cardinality = []
        for (j, col) in x.columns.enumerated() {
            switch col.kind {
            case let .categorical(card):
                precondition(card >= 0 && card < 65_535, "GBDT: categorical cardinality \(card) out of range")
                cardinality.append(card)
                cuts.append([])
                numBins.append(card)
                for r in 0..<rows {
                    let v = x.values[r * features + j]
                    if v.isNaN { bins[r * features + j] = UInt16(card); continue }
                    guard v >= 0, v <= Float(card), Float(Int(v)) == v else {
                        throw GBDTError.invalidCategory(row: r, column: col.name, value: v, cardinality: card)
                    }
                    bins[r * features + j] = UInt16(Int(v)) // Int(v) == card is the missing bin
                }
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
                let missing = UInt16(c.count + 1)
                let (nr, nf) = (rows, features)
                var local = bins
                bins = []
                c.withUnsafeBufferPointer { cp in
                    for r in 0..<nr {
                        let v = x.values[r * nf + j]
                        local[r * nf + j] = v.isNaN ? missing : UInt16(GBDTBins.bin(of: v, cuts: cp))
                    }
                }
                bins = local
            }
        }
        var off = [Int](), total = 0
        for j in 0..<features { off.append(total); total += numBins[j] + 1 }
        slotOffset = off
        totalSlots = total
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
