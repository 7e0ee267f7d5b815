import CreditCore
// Batched logits of a `GBDTModel` (the compiled evaluator `GBDTEvaluator`, or the node-array
// walk) and `GBDTScratch`, the per-caller buffers of logits and attributions.

extension GBDTModel {
    /// The compiled evaluator and a scratch that fits it, or nil (then the node-array walk runs).
    @inline(__always)
    func compiled(_ scratch: ModelScratch) -> (GBDTEvaluator, GBDTScratch)? {
        guard let ev = evaluator, let s = scratch as? GBDTScratch, s.qCapacity >= ev.blockSlots,
              s.leafCapacity >= ev.treeCount, s.heapWorkBytes >= ev.heapWorkBytes, s.phi.count >= inputWidth + GBDTEvaluator.sinkColumns else { return nil }
        return (ev, s)
    }

    /// Batched evaluator: the compiled layout (`GBDTEvaluator`: rows quantized once per
    /// block into per-feature bins, heap-ordered complete trees, 8 rows or 8 trees in
    /// lockstep) when the model compiled and `scratch` came from `makeScratch`; otherwise
    /// `walkLogits`. Identical Floats to `referenceLogit` either way (Double sums in tree
    /// order; tested). Allocation-free.
    public func logits(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                       rows: Range<Int>, scratch: ModelScratch) {
        precondition(input.count >= rows.upperBound * inputWidth && output.count >= rows.upperBound)
        guard !rows.isEmpty else { return }
        guard let (ev, s) = compiled(scratch) else { return walkLogits(input, output, rows: rows) }
        s.cacheBase = nil
        s.cacheOwner = ev
        let cached = ev.logits(input.baseAddress!, output.baseAddress!, rows: rows, q: s.q, acc: s.acc,
                               cache: s.cacheLeaves, cacheRows: s.cacheRows, cacheInputs: s.cacheInputs,
                               work: s.heapWork, workBytes: s.heapWorkBytes, oneHot: s.oneHot)
        s.cacheBase = UnsafeRawPointer(input.baseAddress!)
        s.cacheStart = rows.lowerBound
        s.cacheCount = cached
    }

    /// The leaves `logits` recorded for `row` in `s` when `row` is one of the rows of the last
    /// `logits` call on this scratch and its values are bit-identical to what was scored
    /// (so the leaves are the row's leaves); nil otherwise.
    func recordedLeaves(_ row: UnsafeBufferPointer<Float>, _ s: GBDTScratch) -> UnsafePointer<Int32>? {
        let w = inputWidth
        // The leaves belong to the evaluator that recorded them (a scratch may be shared by
        // models of the same shape); a strong reference keeps its identity unique.
        guard w > 0, let base = s.cacheBase, let p = row.baseAddress, let ev = evaluator, s.cacheOwner === ev else { return nil }
        let bytes = base.distance(to: UnsafeRawPointer(p))
        guard bytes >= 0, bytes % (w * 4) == 0 else { return nil }
        let r = bytes / (w * 4) - s.cacheStart
        guard r >= 0, r < s.cacheCount else { return nil }
        let copy = s.cacheInputs + r * w
        for c in 0..<w where copy[c].bitPattern != p[c].bitPattern { return nil }
        return UnsafePointer(s.cacheLeaves + r * ev.treeCount)
    }

    /// Node-array batched walk (the evaluator for models that do not compile). Blocks of up to 128 rows keep their sums on the stack; each
    /// tree is applied to the whole block before the next. Within a block, 8 rows advance one
    /// level per step as interleaved lanes (independent gathers overlap; the child is chosen
    /// with 0/1 flags and an arithmetic select, no branch), categorical nodes use the same
    /// rule inline. Leaves point to themselves, so each tree takes exactly `treeDepths[t]`
    /// steps. Sums are Double in tree order, like `referenceLogit`, so both give identical
    /// Floats (tested). Allocates nothing (stack buffers only); `scratch` is unused here.
    public func walkLogits(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                           rows: Range<Int>) {
        precondition(input.count >= rows.upperBound * inputWidth && output.count >= rows.upperBound)
        let w = inputWidth
        let treeCount = treeRoots.count
        feature.withUnsafeBufferPointer { feat in
        threshold.withUnsafeBufferPointer { thr in
        left.withUnsafeBufferPointer { lft in
        right.withUnsafeBufferPointer { rgt in
        defaultLeft.withUnsafeBufferPointer { dfl in
        catOffset.withUnsafeBufferPointer { cof in
        value.withUnsafeBufferPointer { val in
        treeRoots.withUnsafeBufferPointer { roots in
        treeDepths.withUnsafeBufferPointer { depths in
        catBits.withUnsafeBufferPointer { bits in
        featureCardinality.withUnsafeBufferPointer { card in
            // Rows go in blocks of 128 (Double sums on the stack); each tree is applied to the
            // whole block before the next tree, so its nodes stay in L1. Within the block, 8
            // lanes walk interleaved: their gathers overlap and the select is branch-free.
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 128) { acc in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 8) { nb in
                let node = nb.baseAddress!
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let blockCount = min(128, rows.upperBound - start)
                    for i in 0..<blockCount { acc[i] = Double(baseScore) }
                    for t in 0..<treeCount {
                        let root = roots[t], depth = Int(depths[t])
                        var lane0 = 0
                        while lane0 < blockCount {
                            let count = min(8, blockCount - lane0)
                            for l in 0..<8 { node[l] = root }
                            // Advances lane `l` one level.
                            @inline(__always) func step(_ l: Int) {
                                let n = Int(node[l])
                                let f = Int(feat[n])
                                let x = input[(start &+ lane0 &+ l) &* w &+ (f < 0 ? 0 : f)]
                                // Branch-free: 0/1 flags and an arithmetic select.
                                var goLeft = Int32(x < thr[n] ? 1 : 0) | (Int32(x.isNaN ? 1 : 0) & Int32(dfl[n]))
                                let off = Int(cof[n])
                                if off >= 0 {
                                    if x >= 0, x < Float(card[f]), Float(Int(x)) == x {
                                        let c = Int(x)
                                        goLeft = Int32(truncatingIfNeeded: (bits[off + (c >> 5)] >> UInt32(c & 31)) & 1)
                                    } else {
                                        goLeft = Int32(dfl[n]) // NaN, unseen or invalid code
                                    }
                                }
                                let r = rgt[n]
                                node[l] = r &+ (lft[n] &- r) &* goLeft
                            }
                            if count == 8 {
                                for _ in 0..<depth { for l in 0..<8 { step(l) } }
                            } else {
                                // A partial group (e.g. one applicant) walks only its real rows.
                                for _ in 0..<depth { for l in 0..<count { step(l) } }
                            }
                            for l in 0..<count { acc[lane0 + l] += Double(val[Int(node[l])]) }
                            lane0 += 8
                        }
                    }
                    for i in 0..<blockCount { output[start + i] = Float(acc[i]) }
                    start += blockCount
                }
            }}
        }}}}}}}}}}}
    }
}

/// Scratch for `GBDTModel`: TreeSHAP's unique-path stack and a Double accumulator.
public final class GBDTScratch: ModelScratch, @unchecked Sendable {
    let path: UnsafeMutablePointer<GBDTPathElement>
    let pathCapacity: Int
    let phi: UnsafeMutableBufferPointer<Double>

    static func pathSize(maxDepth: Int) -> Int {
        let d = maxDepth + 2
        return d * (d + 1) / 2 + d
    }

    /// Compiled evaluator buffers: quantized block (`GBDTEvaluator.blockSlots`), Double row
    /// sums of a block, per-tree leaf indices of one row.
    let q: UnsafeMutablePointer<UInt16>
    let qCapacity: Int
    let acc: UnsafeMutablePointer<Double>
    let leafIdx: UnsafeMutablePointer<Int32>
    let leafCapacity: Int
    /// The `heapLogits` kernel's per-level buffer (`heapLogitsWorkBytes` for the deepest tree).
    let heapWork: UnsafeMutableRawPointer
    let heapWorkBytes: Int
    /// `1 << code` of a block's rows for one categorical feature (`GBDTEvaluator.quantizeBlock`).
    let oneHot: UnsafeMutablePointer<UInt16>
    /// Leaves recorded by the last `logits` call (`cacheRows` rows × trees, plus one block
    /// of junk rows), the recorded rows' inputs, and which rows they are: `contributions`
    /// of one of them skips its walk (`recordedLeaves`).
    let cacheLeaves: UnsafeMutablePointer<Int32>
    let cacheInputs: UnsafeMutablePointer<Float>
    let cacheRows: Int
    var cacheBase: UnsafeRawPointer? = nil
    var cacheOwner: GBDTEvaluator? = nil
    var cacheStart = 0
    var cacheCount = 0

    init(maxRows: Int, maxDepth: Int, inputWidth: Int, blockSlots: Int = 0, treeCount: Int = 0) {
        pathCapacity = GBDTScratch.pathSize(maxDepth: maxDepth)
        path = .allocate(capacity: pathCapacity)
        path.initialize(repeating: GBDTPathElement(), count: pathCapacity)
        phi = .allocate(capacity: inputWidth + GBDTEvaluator.sinkColumns)   // + sinks for padding steps
        phi.initialize(repeating: 0)
        qCapacity = blockSlots
        q = .allocate(capacity: max(blockSlots, 1))
        q.initialize(repeating: 0, count: max(blockSlots, 1))
        acc = .allocate(capacity: GBDTEvaluator.blockRows)
        acc.initialize(repeating: 0, count: GBDTEvaluator.blockRows)
        leafCapacity = treeCount
        leafIdx = .allocate(capacity: max(treeCount, 1))
        leafIdx.initialize(repeating: 0, count: max(treeCount, 1))
        heapWorkBytes = blockSlots == 0 ? 0 : heapLogitsWorkBytes(maxDepth: maxDepth)
        heapWork = .allocate(byteCount: max(heapWorkBytes, 32), alignment: 32)
        heapWork.initializeMemory(as: UInt8.self, repeating: 0, count: max(heapWorkBytes, 32))
        oneHot = .allocate(capacity: GBDTEvaluator.blockRows)
        oneHot.initialize(repeating: 0, count: GBDTEvaluator.blockRows)
        // Record leaves for up to maxRows rows within ~4 MiB (none without the compiled layout).
        cacheRows = blockSlots == 0 ? 0 : max(0, min(maxRows, (1 << 20) / max(treeCount, 1)))
        let leafSlots = blockSlots == 0 ? 1 : (cacheRows + GBDTEvaluator.blockRows) * max(treeCount, 1)
        cacheLeaves = .allocate(capacity: leafSlots)
        cacheLeaves.initialize(repeating: 0, count: leafSlots)
        cacheInputs = .allocate(capacity: max(cacheRows * inputWidth, 1))
        cacheInputs.initialize(repeating: 0, count: max(cacheRows * inputWidth, 1))
        super.init(maxRows: maxRows)
    }

    deinit {
        path.deinitialize(count: pathCapacity)
        path.deallocate()
        phi.deallocate()
        q.deallocate()
        acc.deallocate()
        leafIdx.deallocate()
        heapWork.deallocate()
        oneHot.deallocate()
        cacheLeaves.deallocate()
        cacheInputs.deallocate()
    }
}
