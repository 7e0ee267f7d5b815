import CreditCore

/// Gradient histograms of tree nodes: a pool of buffers, building a node's histogram from its
/// rows, the subtraction trick and the wide features' bitmaps (LightGBM's `HistogramPool`,
/// `ConstructHistograms` and `FeatureHistogram::Subtract`).
///
/// A buffer holds `bins.totalSlots * 4` Doubles: (g, h, count, 0) per slot, feature j's slots
/// from `bins.slotOffset[j]` (its `numBins[j]` bins, then the missing bin). Four lanes, not
/// three: a row's (g, h, 1, 0) is one SIMD4 add (one AVX2 instruction; `CreditCore.gradientHistogram`),
/// and a 32-byte slot in a 64-byte aligned buffer never straddles a cache line. Buffers are
/// reused across nodes and trees (`acquire`/`release`), never allocated per node.
///
/// Wide features (more than `sparseAbove` slots, default 1024: income's 4,096 on the loan
/// book, three quarters of all slots) also keep a bitmap per buffer of the slots that may be
/// non-zero (from word `bitBase[f]`, so features never share a word): a slot whose bit is
/// clear is exactly zero, so the subtraction, the split scan and the clearing visit only
/// marked bins — a deep node touches a few hundred of income's bins. The same adds happen in
/// the same order as over the dense slots (skipped slots would add 0.0), so models are
/// bit-identical to a dense scan. Free buffers have wide features' slots zero and bits clear
/// (`release` clears them); narrow features are zeroed when built.
///
/// `build` and `subtract` work on one part's features (`GBDTFeatureParts`): the two threads
/// call them at once on the same buffer for disjoint features. `acquire`/`release` run on the
/// calling thread only.
final class GBDTHistograms {
    static let defaultSparseAbove = 1024
    let bins: GBDTBins
    /// First bitmap word of each wide feature (-1: narrow, dense).
    let bitBase: [Int]
    let bitWords: Int
    private var buffers: [UnsafeMutablePointer<Double>] = []
    private var bitmaps: [UnsafeMutablePointer<UInt64>] = []
    private var free: [Int] = []

    /// `sparseAbove`: features with more histogram slots than this keep bitmaps (tests set it
    /// to compare the sparse and dense paths).
    init(bins: GBDTBins, sparseAbove: Int) {
        self.bins = bins
        var wordOffset = 0, bases: [Int] = []
        for j in 0..<bins.features {
            if bins.numBins[j] + 1 > sparseAbove {
                bases.append(wordOffset); wordOffset += (bins.numBins[j] + 1 + 63) / 64
            } else {
                bases.append(-1)
            }
        }
        bitBase = bases
        bitWords = max(wordOffset, 1)
    }

    deinit {
        for h in buffers { UnsafeMutableRawPointer(h).deallocate() }
        for b in bitmaps { b.deallocate() }
    }

    /// The (g, h, count, 0) slots of buffer `i`.
    func values(_ i: Int) -> UnsafeMutablePointer<Double> { buffers[i] }

    /// The bitmap of buffer `i` (wide features' marked slots).
    func bitmap(_ i: Int) -> UnsafeMutablePointer<UInt64> { bitmaps[i] }

    /// A free buffer (allocated zeroed when the pool has none).
    func acquire() -> Int {
        if let i = free.popLast() { return i }
        let count = bins.totalSlots * 4
        let buf = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64).bindMemory(to: Double.self, capacity: count)
        buf.initialize(repeating: 0, count: count)
        buffers.append(buf)
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: bitWords)
        bits.initialize(repeating: 0, count: bitWords)
        bitmaps.append(bits)
        return buffers.count - 1
    }

    /// Returns buffer `i` to the pool (-1: none), zeroing its wide features' marked slots and
    /// bitmaps.
    func release(_ i: Int) {
        guard i >= 0 else { return }
        let h = buffers[i], bits = bitmaps[i]
        for j in 0..<bins.features where bitBase[j] >= 0 {
            let o = bins.slotOffset[j] * 4, words = bits + bitBase[j], limit = bins.numBins[j] + 1
            forEachSetBit(words, below: limit) { b in (h + o + b * 4).update(repeating: 0, count: 4) }
            words.update(repeating: 0, count: (limit + 63) / 64)
        }
        free.append(i)
    }

    /// Builds into buffer `slot` the (g, h, count, 0) histogram of the `count` rows at `rows`
    /// (ascending row ids) for the features of `part`; `gh` holds the gradient and hessian of
    /// row r at 2r and 2r+1. Each feature's slots are zeroed and then added to in row order
    /// (`CreditCore.gradientHistogram`), so the sums do not depend on which thread builds which
    /// feature.
    func build(_ slot: Int, rows: UnsafePointer<Int32>, count: Int, gradients gh: [Double], part: GBDTFeatureParts.Part) {
        let histp = buffers[slot], bitsp = bitmaps[slot]
        guard !part.dense.isEmpty || !part.wide.isEmpty else { return }
        for (o, f) in zip(part.denseOffsets, part.dense) { (histp + o).update(repeating: 0, count: (bins.numBins[f] + 1) * 4) }
        gh.withUnsafeBufferPointer { ghp in
        part.dense.withUnsafeBufferPointer { fs in
        part.denseOffsets.withUnsafeBufferPointer { os in
        part.wide.withUnsafeBufferPointer { ws in
        part.wideOffsets.withUnsafeBufferPointer { wo in
        part.wideBits.withUnsafeBufferPointer { wb in
            // Empty arrays may have no base address; the kernel reads none of them then.
            let none = UnsafePointer<Int>(bitPattern: 8)!
            let columns = HistogramColumns(dense: fs.baseAddress ?? none, denseOffsets: os.baseAddress ?? none, denseCount: fs.count,
                                           wide: ws.baseAddress ?? none, wideOffsets: wo.baseAddress ?? none,
                                           wideBits: wb.baseAddress ?? none, wideCount: ws.count)
            if bins.wide {
                bins.bins16.withUnsafeBufferPointer { bp in
                    gradientHistogram(rows: rows, count: count, gradients: ghp.baseAddress!, bins: bp.baseAddress!, rowStride: bins.features,
                                      columns: columns, bitmap: bitsp, histogram: histp)
                }
            } else {
                bins.bins8.withUnsafeBufferPointer { bp in
                    gradientHistogram(rows: rows, count: count, gradients: ghp.baseAddress!, bins: bp.baseAddress!, rowStride: bins.features,
                                      columns: columns, bitmap: bitsp, histogram: histp)
                }
            }
        }}}}}}
    }

    /// hist[large] = hist[parent] − hist[small] for the features of `part`, in place in the
    /// parent's buffer (which becomes the large child's).
    func subtract(parent: Int, small: Int, part: GBDTFeatureParts.Part) {
        let sp = buffers[small], pp = buffers[parent], sbits = bitmaps[small]
        for (k, f) in zip(part.denseOffsets, part.dense) {
            for i in k..<(k + (bins.numBins[f] + 1) * 4) { pp[i] -= sp[i] }
        }
        // Wide features: only the small child's marked slots (elsewhere it is 0, and p - 0 = p);
        // the parent's marks cover the small child's, so they stay the large child's marks.
        for (k, (f, w)) in zip(part.wideOffsets, zip(part.wide, part.wideBits)) {
            forEachSetBit(sbits + w, below: bins.numBins[f] + 1) { b in
                let i = k + b * 4
                pp[i] -= sp[i]; pp[i + 1] -= sp[i + 1]; pp[i + 2] -= sp[i + 2]   // the fourth lane stays 0
            }
        }
    }
}
