import CreditCore

/// Which training rows are in which leaf of the tree being grown (LightGBM's
/// `DataPartition`), and the tree's row bag.
///
/// `rows` holds the bag in row order; each split partitions a leaf's range of it in place,
/// stably (left rows first), so every leaf is a contiguous range of ascending row ids and no
/// node allocates. The out-of-bag rows are kept apart (`outOfBag`), for the booster to score.
/// The split reads a feature-major copy of the training bins: a node's rows are ascending, so
/// reading one feature's column is a forward scan.
final class GBDTDataPartition {
    let rowCount: Int
    /// The tree's bag (`bagCount` rows), partitioned leaf by leaf.
    let rows: UnsafeMutablePointer<Int32>
    /// The rows left out of this tree's bag (`outOfBagCount`), in row order.
    let outOfBag: UnsafeMutablePointer<Int32>
    private(set) var bagCount = 0
    private(set) var outOfBagCount = 0
    /// Right rows of a split before they are copied back behind the left ones.
    private let temp: UnsafeMutablePointer<Int32>
    /// The two halves' (left, right) counts of a split run on two threads.
    private let halfCounts: UnsafeMutablePointer<(Int, Int)>
    /// Feature-major training bins (`[f * rowCount + r]`); one of the two is empty (`GBDTBins.wide`).
    private let binsByFeature8: [UInt8]
    private let binsByFeature16: [UInt16]
    private let numBins: [Int]
    private let wide: Bool
    private let forkJoin: ForkJoin?

    init(bins: GBDTBins, forkJoin: ForkJoin?) {
        rowCount = bins.rows
        numBins = bins.numBins
        wide = bins.wide
        self.forkJoin = forkJoin
        rows = .allocate(capacity: max(rowCount, 1))
        rows.initialize(repeating: 0, count: max(rowCount, 1))
        outOfBag = .allocate(capacity: max(rowCount, 1))
        outOfBag.initialize(repeating: 0, count: max(rowCount, 1))
        temp = .allocate(capacity: max(rowCount, 1))
        temp.initialize(repeating: 0, count: max(rowCount, 1))
        halfCounts = .allocate(capacity: 2)
        halfCounts.initialize(repeating: (0, 0), count: 2)
        binsByFeature8 = bins.wide ? [] : GBDTDataPartition.transpose(bins.bins8, rows: bins.rows, features: bins.features)
        binsByFeature16 = bins.wide ? GBDTDataPartition.transpose(bins.bins16, rows: bins.rows, features: bins.features) : []
    }

    deinit {
        rows.deallocate()
        outOfBag.deallocate()
        temp.deallocate()
        halfCounts.deallocate()
    }

    static func transpose<B: FixedWidthInteger>(_ a: [B], rows: Int, features: Int) -> [B] {
        var out = [B](repeating: 0, count: a.count)
        for r in 0..<rows { for f in 0..<features { out[f * rows + r] = a[r * features + f] } }
        return out
    }

    /// Draws the tree's bag: every row with positive weight, or with `subsample` < 1 each such
    /// row with that probability (one draw per row, weighted or not, in row order). An empty
    /// draw bags row 0.
    func drawBag(subsample: Double, weights: [Double], rng: inout Xoshiro256StarStar) {
        let ri = rows, oob = outOfBag
        var bagCount = 0, oobCount = 0
        if subsample < 1 {
            for i in 0..<rowCount {
                if rng.uniform() < subsample && weights[i] > 0 { ri[bagCount] = Int32(i); bagCount += 1 } else { oob[oobCount] = Int32(i); oobCount += 1 }
            }
            if bagCount == 0 {
                ri[0] = 0; bagCount = 1
                if oobCount > 0 && oob[0] == 0 { oobCount -= 1; for k in 0..<oobCount { oob[k] = oob[k + 1] } }
            }
        } else {
            for i in 0..<rowCount {
                if weights[i] > 0 { ri[bagCount] = Int32(i); bagCount += 1 } else { oob[oobCount] = Int32(i); oobCount += 1 }
            }
        }
        self.bagCount = bagCount
        outOfBagCount = oobCount
    }

    /// Partitions `rows[start..<start+count]` by split `s` in place, stably (left rows first);
    /// returns the left count. `leftCategories`: a categorical split's left-set bitset.
    func split(start: Int, count: Int, by s: GBDTSplit, leftCategories: UnsafePointer<UInt32>?) -> Int {
        wide ? split(binsByFeature16, start: start, count: count, by: s, leftCategories: leftCategories)
            : split(binsByFeature8, start: start, count: count, by: s, leftCategories: leftCategories)
    }

    private func split<B: FixedWidthInteger & UnsignedInteger>(_ binArray: [B], start: Int, count: Int, by s: GBDTSplit,
                                                               leftCategories: UnsafePointer<UInt32>?) -> Int {
        let f = s.feature
        let missing = B(numBins[f])
        let defaultLeft = s.defaultLeft, splitBin = s.bin
        let bits = s.isCategorical ? leftCategories : nil
        let ri = rows, rt = temp
        return binArray.withUnsafeBufferPointer { bp in
            let col = bp.baseAddress! + f * rowCount
            /// Partitions ri[from..<from+m]: left rows compacted to ri[from...], right rows to
            /// rt[tmp...], both in row order; returns (left, right) counts. Branch-free (every row
            /// is written to both sides, one side advances) and with wrapping index arithmetic, so
            /// the loop has no overflow checks.
            @inline(__always) func run(_ from: Int, _ m: Int, _ tmp: Int) -> (Int, Int) {
                let src = ri + from, dst = rt + tmp
                var nl = 0
                if let bits {
                    for i in 0..<m {
                        let r = src[i]
                        let b = col[Int(r)]
                        let goLeft = b == missing ? defaultLeft : (bits[Int(b) &>> 5] &>> UInt32(b & 31)) & 1 != 0
                        src[nl] = r; dst[i &- nl] = r
                        nl &+= goLeft ? 1 : 0
                    }
                } else {
                    // The missing bin is above every split bin, so only it needs the default side.
                    let split = B(truncatingIfNeeded: splitBin), missingLeft = defaultLeft ? 1 : 0
                    for i in 0..<m {
                        let r = src[i]
                        let b = col[Int(r)]
                        src[nl] = r; dst[i &- nl] = r
                        nl &+= (b <= split ? 1 : 0) | (b == missing ? missingLeft : 0)
                    }
                }
                return (nl, m &- nl)
            }
            if let forkJoin, count >= 4096 {
                // Two halves on the two threads, then L0 L1 R0 R1: the same stable order.
                let half = count / 2
                let counts = halfCounts
                forkJoin.run { part in
                    counts[part] = part == 0 ? run(start, half, 0) : run(start + half, count - half, half)
                }
                let (nl0, nr0) = counts[0], (nl1, nr1) = counts[1]
                for k in 0..<nl1 { ri[start + nl0 + k] = ri[start + half + k] }   // moves left: forward copy is safe
                (ri + start + nl0 + nl1).update(from: rt, count: nr0)
                (ri + start + nl0 + nl1 + nr0).update(from: rt + half, count: nr1)
                return nl0 + nl1
            } else {
                let (l, r) = run(start, count, 0)
                (ri + start + l).update(from: rt, count: r)
                return l
            }
        }
    }
}
