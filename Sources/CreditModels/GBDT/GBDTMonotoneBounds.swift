/// Monotone bounds from the leaves' actual values (LightGBM's "intermediate" method,
/// `IntermediateLeafConstraints` in `monotone_constraints.hpp`), for the loss-guided learner.
///
/// The basic method (`GBDTMonotoneMethod.basic`, XGBoost's) splits the value range at the
/// midpoint of a monotone split's two children and confines each subtree to its half for
/// good: a leaf deep in the left subtree may never rise above that midpoint, even where the
/// right subtree's leaves it borders all lie far above it. Here a leaf is bounded only by the
/// leaves it must stay in order with, by their current values:
///
/// - Leaves A and B must be ordered when their regions (each feature's bin range, missing bin
///   and category set) are apart in exactly one feature and that feature is monotone: there
///   are then two inputs that differ only in that feature, one in A and one in B. Apart in two
///   or more features, the order follows from the single-feature steps between them.
/// - A leaf's lower bound is the highest value of the leaves it must stay above, its upper
///   bound the lowest value of those it must stay below.
/// - A leaf's value is fixed when it is created (its parent's bounds clamp it, and a monotone
///   split must keep its two children in order), so every pair stays in order; when a leaf
///   splits, the leaves it was ordered with get new bounds from its children and their best
///   splits are searched again (`GBDTTreeLearner`).
///
/// Region bookkeeping is per leaf slot, in the learner's `leaves` order (a split leaf keeps
/// its slot for the left child; the right child is appended).
final class GBDTMonotoneBounds {
    let features: Int
    /// Per feature: +1 rising, -1 falling, 0 free.
    let sign: [Int8]
    /// Per feature: the missing bin's index (`GBDTBins.numBins`) and categorical cardinality.
    let missingBin: [Int32]
    let cardinality: [Int]
    /// Per feature: first word of a categorical feature's set in a slot's words (-1: numeric).
    let catWord: [Int]
    let wordsPerLeaf: Int
    /// Per slot × feature: numeric bin range lo...hi and whether the missing bin is in it.
    private var lo: [Int32] = [], hi: [Int32] = [], missing: [Bool] = []
    /// Per slot: categorical sets (bit `card` = missing or unseen).
    private var cats: [UInt64] = []
    /// Per slot: the leaf's value (shrunk, as stored in the tree).
    private(set) var value: [Double] = []
    private(set) var count = 0

    init(bins: GBDTBins, sign: [Int8]) {
        features = bins.features
        self.sign = sign
        missingBin = bins.numBins.map { Int32($0) }
        cardinality = bins.cardinality
        var words = 0, catWord = [Int]()
        for f in 0..<bins.features {
            if bins.cardinality[f] > 0 { catWord.append(words); words += (bins.cardinality[f] + 1 + 63) / 64 } else { catWord.append(-1) }
        }
        self.catWord = catWord
        wordsPerLeaf = words
    }

    /// One leaf (the root) covering every input, with value `rootValue`.
    func reset(rootValue: Double) {
        count = 0
        lo.removeAll(keepingCapacity: true); hi.removeAll(keepingCapacity: true); missing.removeAll(keepingCapacity: true)
        cats.removeAll(keepingCapacity: true); value.removeAll(keepingCapacity: true)
        appendSlot()
        for f in 0..<features {
            lo[f] = 0; hi[f] = missingBin[f] - 1; missing[f] = true
            if catWord[f] >= 0 {
                for c in 0...cardinality[f] { cats[catWord[f] + c >> 6] |= 1 << UInt64(c & 63) }
            }
        }
        value[0] = rootValue
    }

    private func appendSlot() {
        lo.append(contentsOf: repeatElement(0, count: features)); hi.append(contentsOf: repeatElement(0, count: features))
        missing.append(contentsOf: repeatElement(false, count: features))
        cats.append(contentsOf: repeatElement(0, count: wordsPerLeaf)); value.append(0)
        count += 1
    }

    /// Splits slot `i` by `s`: the left child keeps slot `i`, the right one is appended (its
    /// slot is returned). `leftValue`/`rightValue` are the children's fixed values.
    @discardableResult
    func split(_ i: Int, by s: GBDTSplit, leftValue: Double, rightValue: Double) -> Int {
        let r = count
        appendSlot()
        let F = features, W = wordsPerLeaf
        for f in 0..<F { lo[r * F + f] = lo[i * F + f]; hi[r * F + f] = hi[i * F + f]; missing[r * F + f] = missing[i * F + f] }
        for w in 0..<W { cats[r * W + w] = cats[i * W + w] }
        let f = s.feature
        if s.isCategorical {
            let base = catWord[f], card = cardinality[f]
            var left = [UInt64](repeating: 0, count: (card + 1 + 63) / 64)
            for c in s.leftCategories { left[c >> 6] |= 1 << UInt64(c & 63) }
            if s.defaultLeft { left[card >> 6] |= 1 << UInt64(card & 63) }
            for w in 0..<left.count {
                cats[r * W + base + w] &= ~left[w]
                cats[i * W + base + w] &= left[w]
            }
        } else {
            hi[i * F + f] = min(hi[i * F + f], Int32(s.bin))
            lo[r * F + f] = max(lo[r * F + f], Int32(s.bin + 1))
            missing[i * F + f] = missing[i * F + f] && s.defaultLeft
            missing[r * F + f] = missing[r * F + f] && !s.defaultLeft
        }
        value[i] = leftValue
        value[r] = rightValue
        return r
    }

    /// +1 when slot `a`'s value must not exceed slot `b`'s, -1 when it must not be below it,
    /// 0 when they are free of each other.
    func order(_ a: Int, _ b: Int) -> Int {
        let F = features, W = wordsPerLeaf
        var apart = -1, aBelow = false
        for f in 0..<F {
            let overlap: Bool
            if catWord[f] >= 0 {
                var any = false
                let words = (cardinality[f] + 1 + 63) / 64
                for w in 0..<words where cats[a * W + catWord[f] + w] & cats[b * W + catWord[f] + w] != 0 { any = true; break }
                overlap = any
            } else {
                overlap = max(lo[a * F + f], lo[b * F + f]) <= min(hi[a * F + f], hi[b * F + f]) || (missing[a * F + f] && missing[b * F + f])
            }
            if overlap { continue }
            if apart >= 0 || sign[f] == 0 { return 0 }
            apart = f
            aBelow = hi[a * F + f] < lo[b * F + f]
        }
        guard apart >= 0 else { return 0 }
        return aBelow == (sign[apart] > 0) ? 1 : -1
    }

    /// Slot `i`'s bounds: the highest value it must stay above, the lowest it must stay below.
    func bounds(of i: Int) -> (lower: Double, upper: Double) {
        var lower = -Double.infinity, upper = Double.infinity
        for j in 0..<count where j != i {
            switch order(j, i) {
            case 1: lower = max(lower, value[j])
            case -1: upper = min(upper, value[j])
            default: break
            }
        }
        return (lower, upper)
    }

    /// The slots that must stay in order with slot `i`.
    func ordered(with i: Int) -> [Int] {
        (0..<count).filter { $0 != i && order($0, i) != 0 }
    }
}
