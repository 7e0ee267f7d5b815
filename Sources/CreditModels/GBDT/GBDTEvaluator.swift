import CreditCore

/// The compiled evaluation layout of a `GBDTModel` (derived at init/decode time, never
/// encoded; like `nodeMean`). Semantics are exactly `GBDTModel.referenceLogit` (leaf values
/// summed in Double in tree order, then rounded to Float) and `contributions` (the same
/// Double adds in the same order); the differential tests hold both to identical bits.
///
/// **Quantization (once per row).** Each row is turned into a vector of `slotCount` UInt16
/// *slots* so that every node test becomes one unsigned compare `q[slot] > K` (true = go right):
/// - a numeric feature `f` used by the model has sorted unique thresholds `T_f` (the values
///   of all its nodes). For a non-NaN `x`, `bin(x) = #{k : T_f[k] ≤ x}`, so
///   `x < T_f[k] ⇔ bin(x) ≤ k`. Two slots per feature carry the two missing-value
///   directions: slot A = `bin + 1` with NaN → 0 (nodes whose default is left use
///   `K = k + 1`), slot B = `bin` with NaN → 0xFFFF (default right, `K = k`);
/// - a categorical node's test is a set membership. Every distinct (feature, left set,
///   default side) of the model is a *combo* with its own slot holding 0 (left) or 1
///   (right) for the row's code (codes outside `0..<cardinality`, non-integers and NaN use
///   the default side, as in `GBDTModel.goesLeft`); its nodes use `K = 0`.
/// Slots are stored slot-major in a block buffer (`q[slot * blockRows + row]`), so a node
/// stores `slot * blockRows` and 8 interleaved rows read at constant offsets 0…7 from it.
///
/// **Trees.** Each tree is a complete binary tree in 1-based heap order padded to its depth
/// `D` (internal positions `1 ..< 2^D`, children of `i` at `2i` (left) and `2i+1`, leaves at
/// `2^D ..< 2^(D+1)`): the step is `i = 2i + (q[off[i]] > K[i])`, no child arrays, and
/// exactly `D` steps reach a leaf position. A leaf above depth `D` is padded with always-left nodes (`K = 0xFFFF`) so
/// its value sits at the leftmost leaf position below it. Node arrays are flat parallel
/// arrays (`nodeOffset: UInt32`, `nodeK: UInt16`), leaf values are Doubles (exact).
///
/// **Kernels.** Batches go in blocks of `blockRows` rows: quantize the block (numeric
/// features row by row with a straight-line binary search; a categorical feature of ≤ 16
/// codes column by column through the dispatched `maskBits` kernel), then the dispatched
/// `heapLogits` kernel: tree by tree (its nodes stay in L1), every internal heap position is
/// compared for 32 rows at once (16-lane UInt16 compares), bottom-up, so every row's leaf
/// index comes out of SIMD selects with no per-row walk (padding is skipped: `nodeKind`);
/// each row then adds its leaf value (Double, tree order). Fewer than 8 rows (one applicant) walk 8 trees of equal depth in
/// lockstep instead and then add the leaves in tree order. Contributions reuse the per-tree leaves (GBDTEvaluatorAttribution.swift):
/// each leaf's path attributions are precomputed at load as one row of a dense table, so a
/// row's attributions are the sum of its leaves' rows (`leafRowSum`, a dispatched SIMD kernel).
/// `logits` also records every scored row's leaves (and a copy of its inputs) in the
/// scratch, so `contributions` of a row of the last batch skips the walk when its inputs
/// are bit-identical (`GBDTModel.recordedLeaves`).
///
/// Not every model compiles (`init?` returns nil): trees deeper than `maxHeapDepth`, padding
/// above 8× the node count, more than 0xFFFD thresholds for one feature or more than 65,535
/// slots. `GBDTModel` then keeps its plain walker. All indices are checked here, at build
/// time; the hot loops use unchecked pointers.
final class GBDTEvaluator: @unchecked Sendable, Equatable {
    /// Rows per quantized block (slot-major stride).
    static let blockRows = 64
    static let maxHeapDepth = 12
    /// Extra `phi` columns after the inputs that absorb padding steps in `contributions`.
    static let sinkColumns = 8

    let inputWidth: Int
    let treeCount: Int
    let slotCount: Int
    let baseScore: Double

    // Numeric quantization groups: column, thresholds range; slots 2g (A) and 2g+1 (B).
    let numGroups: Int
    private let numColumn: UnsafeMutablePointer<Int32>
    private let numStart: UnsafeMutablePointer<Int32>
    private let numCount: UnsafeMutablePointer<Int32>
    private let thresholds: UnsafeMutablePointer<Float>
    // Categorical groups: column, cardinality, words per combo mask, first mask word, first slot, combos.
    let catGroups: Int
    private let catColumn: UnsafeMutablePointer<Int32>
    private let catCard: UnsafeMutablePointer<Int32>
    private let catWords: UnsafeMutablePointer<Int32>
    private let catMaskStart: UnsafeMutablePointer<Int32>
    private let catFirstSlot: UnsafeMutablePointer<Int32>
    private let catComboCount: UnsafeMutablePointer<Int32>
    /// Per combo, `catWords` words: bit c set ⇔ code c goes RIGHT (bit `card` = invalid/NaN).
    private let comboRightMask: UnsafeMutablePointer<UInt32>
    /// Per categorical group of at most 16 codes (cardinality ≤ 15, with the invalid one): the
    /// start of its combos' masks as UInt16 in `comboMask16` (for the `maskBits` kernel), else −1.
    private let catMask16Start: UnsafeMutablePointer<Int32>
    private let comboMask16: UnsafeMutablePointer<UInt16>

    // Trees.
    let treeDepth: UnsafeMutablePointer<Int32>
    /// Start of tree t's `2^D` node entries (index 0 unused, root at 1).
    let treeNode: UnsafeMutablePointer<Int32>
    /// First leaf of tree t in `leafValue`.
    let treeLeaf: UnsafeMutablePointer<Int32>
    /// Start of tree t's `2^(D+1)` heap positions in `delta`.
    let treeAll: UnsafeMutablePointer<Int32>
    /// Whether trees t ..< t+8 exist and share one depth and stride (lockstep walk of 8 trees).
    private let uniform8: UnsafeMutablePointer<Bool>
    private let nodeOffset: UnsafeMutablePointer<UInt32>
    private let nodeK: UnsafeMutablePointer<UInt16>
    /// `heapNodeKinds` of the trees: the padding `heapLogits` skips.
    private let nodeKind: UnsafeMutablePointer<UInt8>
    /// Input column of each internal heap position, a sink column (≥ `inputWidth`) for padding.
    let nodeFeature: UnsafeMutablePointer<Int32>
    private let leafValue: UnsafeMutablePointer<Double>
    /// Per heap position p ≥ 2: `nodeMean[node(p)] − nodeMean[node(p / 2)]` (0 below padding).
    let delta: UnsafeMutablePointer<Double>
    let internalCount: Int
    let leafCount: Int
    /// Bytes of `heapLogits`' work buffer for the deepest tree (the scratch's `heapWork`).
    let heapWorkBytes: Int
    /// Per leaf (rows in `leafValue` order), its path attributions per input column
    /// (`attrStride` Doubles a row, zero past `inputWidth`), or nil when the table would
    /// exceed `maxAttributionBytes` (then `contributions` adds along the paths).
    let leafAttr: UnsafeMutablePointer<Double>?
    let attrStride: Int
    /// Every tree symmetric (one test per level): the level-by-level form (GBDTObliviousEvaluator.swift).
    let oblivious: GBDTObliviousLevels?

    private let owned: [UnsafeMutableRawPointer]

    /// Builds the layout, or nil when the model does not fit it (see the type's doc).
    init?(_ m: GBDTModel) {
        let w = m.inputWidth
        let treeCount = m.treeRoots.count
        inputWidth = w
        self.treeCount = treeCount
        baseScore = Double(m.baseScore)
        let nodeTotal = m.feature.count
        // Numeric thresholds per column.
        var thr = [[Float]](repeating: [], count: w)
        for n in 0..<nodeTotal where m.feature[n] >= 0 && m.catOffset[n] < 0 { thr[Int(m.feature[n])].append(m.threshold[n]) }
        var numCols: [Int32] = [], numStarts: [Int32] = [], numCounts: [Int32] = [], allThr: [Float] = []
        var numGroupOf = [Int](repeating: -1, count: w)
        for f in 0..<w where !thr[f].isEmpty {
            var u: [Float] = []
            for t in thr[f].sorted() where u.last.map({ $0 != t }) ?? true { u.append(t) }
            guard u.count <= 0xFFFD else { return nil }
            thr[f] = u
            numGroupOf[f] = numCols.count
            numCols.append(Int32(f)); numStarts.append(Int32(allThr.count)); numCounts.append(Int32(u.count))
            allThr += u
        }
        // Categorical combos per column: key = right-set words (with the invalid bit at `card`).
        var comboIndex = [[[UInt32]: Int]](repeating: [:], count: w)
        var comboList = [[[UInt32]]](repeating: [], count: w)
        func comboKey(_ n: Int) -> [UInt32] {
            let f = Int(m.feature[n]), card = Int(m.featureCardinality[f])
            let words = (card + 1 + 31) / 32
            var key = [UInt32](repeating: 0, count: words)
            for c in 0...card {
                let left = c < card ? (m.catBits[Int(m.catOffset[n]) + (c >> 5)] >> UInt32(c & 31)) & 1 != 0 : m.defaultLeft[n] != 0
                if !left { key[c >> 5] |= 1 << UInt32(c & 31) }
            }
            return key
        }
        var nodeCombo = [Int](repeating: -1, count: nodeTotal)
        for n in 0..<nodeTotal where m.feature[n] >= 0 && m.catOffset[n] >= 0 {
            let f = Int(m.feature[n]), key = comboKey(n)
            if let k = comboIndex[f][key] { nodeCombo[n] = k } else {
                comboIndex[f][key] = comboList[f].count; nodeCombo[n] = comboList[f].count; comboList[f].append(key)
            }
        }
        var slot = 2 * numCols.count
        var catCols: [Int32] = [], catCards: [Int32] = [], catWordsA: [Int32] = [], catMaskStarts: [Int32] = []
        var catSlots: [Int32] = [], catCounts: [Int32] = [], masks: [UInt32] = []
        var catFirstSlotOf = [Int](repeating: -1, count: w)
        for f in 0..<w where !comboList[f].isEmpty {
            let card = Int(m.featureCardinality[f])
            catCols.append(Int32(f)); catCards.append(Int32(card)); catWordsA.append(Int32((card + 32) / 32))
            catMaskStarts.append(Int32(masks.count)); catSlots.append(Int32(slot)); catCounts.append(Int32(comboList[f].count))
            catFirstSlotOf[f] = slot
            for key in comboList[f] { masks += key }
            slot += comboList[f].count
        }
        guard slot <= 0xFFFF, masks.count < Int(Int32.max) else { return nil }
        var mask16Starts: [Int32] = [], masks16: [UInt16] = []
        for f in 0..<w where !comboList[f].isEmpty {
            guard m.featureCardinality[f] <= 15 else { mask16Starts.append(-1); continue }
            mask16Starts.append(Int32(masks16.count))
            for key in comboList[f] { masks16.append(UInt16(truncatingIfNeeded: key[0])) }
        }
        let slotCount = max(slot, 1)
        self.slotCount = slotCount

        // Trees: size check, then heap layout (1-based: root 1, children 2i and 2i+1).
        var internalTotal = 0, leafTotal = 0
        for d in m.treeDepths {
            guard d >= 0, d <= Int32(GBDTEvaluator.maxHeapDepth) else { return nil }
            internalTotal += 1 << Int(d)
            leafTotal += 1 << Int(d)
        }
        guard internalTotal + leafTotal <= 8 * nodeTotal + 4096, internalTotal < Int(Int32.max) / 2,
              slotCount * GBDTEvaluator.blockRows <= Int(UInt32.max) else { return nil }
        internalCount = internalTotal
        leafCount = leafTotal
        heapWorkBytes = heapLogitsWorkBytes(maxDepth: Int(m.treeDepths.max() ?? 0))
        let B = GBDTEvaluator.blockRows
        var off = [UInt32](repeating: 0, count: internalTotal), kk = [UInt16](repeating: 0xFFFF, count: internalTotal)
        var nf = [Int32](repeating: Int32(w), count: internalTotal)
        var leaves = [Double](repeating: 0, count: leafTotal), deltas = [Double](repeating: 0, count: 2 * internalTotal)
        var tNode: [Int32] = [], tLeaf: [Int32] = [], tAll: [Int32] = [], tDepth: [Int32] = []
        var ni = 0, li = 0, ai = 0
        for t in 0..<treeCount {
            let D = Int(m.treeDepths[t])
            let top = 1 << D, all = 2 << D
            tNode.append(Int32(ni)); tLeaf.append(Int32(li)); tAll.append(Int32(ai)); tDepth.append(Int32(D))
            var orig = [Int](repeating: 0, count: all)
            orig[1] = Int(m.treeRoots[t])
            // Padding steps add +0.0 to one of `sinkColumns` sink columns (rotating, so no one
            // column's add chain serializes the attribution loop).
            for p in 1..<top { nf[ni + p] = Int32(w + t % GBDTEvaluator.sinkColumns) }
            for p in 1..<top {
                let o = orig[p]
                let f = Int(m.feature[o])
                if f < 0 {
                    orig[2 * p] = o; orig[2 * p + 1] = o   // padding: always left, same leaf below
                    continue
                }
                orig[2 * p] = Int(m.left[o]); orig[2 * p + 1] = Int(m.right[o])
                nf[ni + p] = Int32(f)
                if m.catOffset[o] >= 0 {
                    off[ni + p] = UInt32((catFirstSlotOf[f] + nodeCombo[o]) * B)
                    kk[ni + p] = 0
                } else {
                    let g = numGroupOf[f]
                    let u = thr[f]
                    // Index of the node's threshold among the unique sorted thresholds.
                    var lo = 0, hi = u.count
                    while lo < hi { let mid = (lo + hi) / 2; if u[mid] < m.threshold[o] { lo = mid + 1 } else { hi = mid } }
                    guard lo < u.count, u[lo] == m.threshold[o] else { return nil }
                    if m.defaultLeft[o] != 0 {
                        off[ni + p] = UInt32((2 * g) * B); kk[ni + p] = UInt16(lo + 1)
                    } else {
                        off[ni + p] = UInt32((2 * g + 1) * B); kk[ni + p] = UInt16(lo)
                    }
                }
            }
            for p in top..<all {
                guard m.feature[orig[p]] < 0 else { return nil }   // depth D reaches only leaves
                leaves[li + p - top] = Double(m.value[orig[p]])
            }
            for p in 2..<max(all, 2) {
                deltas[ai + p] = m.nodeMean[orig[p]] - m.nodeMean[orig[p / 2]]
            }
            ni += top; li += top; ai += all
        }
        var uni = [Bool](repeating: false, count: treeCount)
        for t in 0..<treeCount where t + 8 <= treeCount {
            let d = tDepth[t]
            uni[t] = (t..<(t + 8)).allSatisfy { tDepth[$0] == d && tNode[$0] == tNode[t] + Int32($0 - t) * (1 << d) }
        }

        var owned: [UnsafeMutableRawPointer] = []
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            p.initialize(from: a, count: a.count)
            owned.append(UnsafeMutableRawPointer(p))
            return p
        }
        numGroups = numCols.count
        numColumn = copy(numCols); numStart = copy(numStarts); numCount = copy(numCounts); thresholds = copy(allThr)
        catGroups = catCols.count
        catColumn = copy(catCols); catCard = copy(catCards); catWords = copy(catWordsA); catMaskStart = copy(catMaskStarts)
        catFirstSlot = copy(catSlots); catComboCount = copy(catCounts); comboRightMask = copy(masks)
        catMask16Start = copy(mask16Starts); comboMask16 = copy(masks16)
        treeDepth = copy(tDepth); treeNode = copy(tNode); treeLeaf = copy(tLeaf); treeAll = copy(tAll); uniform8 = copy(uni)
        nodeKind = copy(heapNodeKinds(nodeK: kk, count: kk.count, trees: treeCount, depth: tDepth, nodeStart: tNode))
        nodeOffset = copy(off); nodeK = copy(kk); nodeFeature = copy(nf); leafValue = copy(leaves); delta = copy(deltas)
        attrStride = (w + 3) & ~3
        oblivious = GBDTObliviousLevels(depths: tDepth, nodeStart: tNode, nodeOffset: off, nodeK: kk, leafStart: tLeaf)
        leafAttr = GBDTEvaluator.leafAttributions(width: w, stride: attrStride, depths: tDepth, nodeStart: tNode, allStart: tAll,
                                                  nodeFeature: nf, delta: deltas, leafCount: leafTotal).map { copy($0) }
        self.owned = owned
    }

    deinit { for p in owned { p.deallocate() } }

    /// Derived from the model's stored arrays (deterministically), so two models that are
    /// equal in those arrays have equal layouts.
    static func == (a: GBDTEvaluator, b: GBDTEvaluator) -> Bool { true }

    /// UInt16 slots per block (the scratch buffer size).
    var blockSlots: Int { slotCount * GBDTEvaluator.blockRows }

    // MARK: - Quantization

    /// Writes the slots of `row` to `q[slot * blockRows]` (q points at the row's column).
    @inline(__always)
    func quantize(_ row: UnsafePointer<Float>, _ q: UnsafeMutablePointer<UInt16>) {
        quantizeNumeric(row, q)
        for g in 0..<catGroups { quantizeCategory(g, row, q) }
    }

    /// `#{k : t[k] ≤ x}` over `count ≥ 1` ascending thresholds (x not NaN): a binary search of at most 16
    /// steps, straight-line. Never inlined and loop-free on purpose: inside a loop, LLVM's x86
    /// cmov converter turns the selects into branches, which mispredict on about every other
    /// step of real rows (measured: ~40 % of a batch's quantization time).
    @inline(never)
    static func bin(_ t: UnsafePointer<Float>, _ count: Int, _ x: Float) -> Int {
        var base = 0, n = count
        @inline(__always) func step() {
            let half = n &>> 1
            base = t[base &+ half] <= x ? base &+ half : base
            n &-= half
        }
        if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }
        if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }
        if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }
        if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }; if n > 1 { step() }
        return base &+ (t[base] <= x ? 1 : 0)
    }

    /// The numeric slots of `row`.
    @inline(__always)
    func quantizeNumeric(_ row: UnsafePointer<Float>, _ q: UnsafeMutablePointer<UInt16>) {
        let B = GBDTEvaluator.blockRows
        for g in 0..<numGroups {
            let x = row[Int(numColumn[g])]
            let qa = q + (2 &* g &* B)
            if x.isNaN { qa[0] = 0; qa[B] = 0xFFFF; continue }
            let b = GBDTEvaluator.bin(thresholds + Int(numStart[g]), Int(numCount[g]), x)
            qa[0] = UInt16(truncatingIfNeeded: b &+ 1)
            qa[B] = UInt16(truncatingIfNeeded: b)
        }
    }

    /// The code categorical group `g` tests for `row`: the split rule's check, so values
    /// outside `0..<card`, non-integers and NaN give `card` (the default side).
    @inline(__always)
    private func categoryCode(_ g: Int, _ row: UnsafePointer<Float>) -> Int {
        let x = row[Int(catColumn[g])]
        let card = Int(catCard[g])
        return (x >= 0 && x < Float(card) && Float(Int(x)) == x) ? Int(x) : card
    }

    /// The combo slots of categorical group `g` for `row`.
    @inline(__always)
    private func quantizeCategory(_ g: Int, _ row: UnsafePointer<Float>, _ q: UnsafeMutablePointer<UInt16>) {
        let B = GBDTEvaluator.blockRows
        let code = categoryCode(g, row)
        let words = Int(catWords[g])
        let mask = comboRightMask + Int(catMaskStart[g]) + (code &>> 5)
        let shift = UInt32(code & 31)
        var dst = q + Int(catFirstSlot[g]) &* B
        for k in 0..<Int(catComboCount[g]) {
            dst[0] = UInt16(truncatingIfNeeded: (mask[k &* words] &>> shift) & 1)
            dst += B
        }
    }

    /// The slots of `n` consecutive rows (`input`: row-major, `inputWidth` a row) into the
    /// block `q`. A categorical group of at most 16 codes fills its combo slots column by
    /// column (`maskBits`: one 16-row SIMD op per combo, against a store per combo and row).
    func quantizeBlock(_ input: UnsafePointer<Float>, rows n: Int, _ q: UnsafeMutablePointer<UInt16>,
                       oneHot: UnsafeMutablePointer<UInt16>) {
        let B = GBDTEvaluator.blockRows, w = inputWidth
        for r in 0..<n { quantizeNumeric(input + r &* w, q + r) }
        for g in 0..<catGroups {
            let start = Int(catMask16Start[g])
            if start < 0 {
                for r in 0..<n { quantizeCategory(g, input + r &* w, q + r) }
                continue
            }
            for r in 0..<n { oneHot[r] = UInt16(truncatingIfNeeded: 1 &<< categoryCode(g, input + r &* w)) }
            maskBits(UnsafePointer(oneHot), rows: n, masks: comboMask16 + start, count: Int(catComboCount[g]),
                     q + Int(catFirstSlot[g]) &* B, stride: B)
        }
    }

    // MARK: - Logits

    /// Runs `level` `depth` times, unrolled for the usual depths (a loop over the level keeps
    /// the 8 lane indices from staying in registers).
    @inline(__always)
    static func repeatLevels(_ depth: Int, _ level: () -> Void) {
        switch depth {
        case 0: break
        case 1: level()
        case 2: level(); level()
        case 3: level(); level(); level()
        case 4: level(); level(); level(); level()
        case 5: level(); level(); level(); level(); level()
        case 6: level(); level(); level(); level(); level(); level()
        case 7: level(); level(); level(); level(); level(); level(); level()
        case 8: level(); level(); level(); level(); level(); level(); level(); level()
        default: for _ in 0..<depth { level() }
        }
    }

    /// Logits of `rows` into `output` (same indices). `q`: `blockSlots` UInt16,
    /// `acc`: `blockRows` Doubles (scratch). Each row's leaves are also recorded (for
    /// `contributions` of the same row): rows `0 ..< cacheRows` of the range (whole blocks)
    /// in `cache` (`treeCount` Int32 per row) with a copy of their inputs in `cacheInputs`;
    /// `cache` has room for `cacheRows + blockRows` rows (the tail is a junk area for rows
    /// beyond). Returns how many leading rows were recorded.
    func logits(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, rows: Range<Int>,
                q: UnsafeMutablePointer<UInt16>, acc: UnsafeMutablePointer<Double>,
                cache: UnsafeMutablePointer<Int32>, cacheRows: Int, cacheInputs: UnsafeMutablePointer<Float>,
                work: UnsafeMutableRawPointer, workBytes: Int, oneHot: UnsafeMutablePointer<UInt16>) -> Int {
        let B = GBDTEvaluator.blockRows, w = inputWidth, T = treeCount
        var start = rows.lowerBound
        var cached = 0
        while start < rows.upperBound {
            let n = min(B, rows.upperBound - start)
            let rel = start &- rows.lowerBound
            let keep = cached == rel && rel &+ n <= cacheRows
            let leafRows = keep ? cache + rel &* T : cache + cacheRows &* T
            if keep {
                (cacheInputs + rel &* w).update(from: input + start &* w, count: n &* w)
                cached = rel &+ n
            }
            if n >= 8 {
                quantizeBlock(input + start &* w, rows: n, q, oneHot: oneHot)
            } else {
                for r in 0..<n { quantize(input + (start &+ r) &* w, q + r) }
            }
            if let ob = oblivious {
                for r in 0..<n { acc[r] = baseScore }
                ob.logits(UnsafePointer(q), rows: n, leafValue: leafValue, acc: acc, leaves: leafRows, stride: T)
                for r in 0..<n { output[start &+ r] = Float(acc[r]) }
                start &+= n
                continue
            }
            // A batch: every tree's nodes compared for 32 rows at once (the dispatched kernel).
            // Fewer rows (one applicant) walk their paths, 8 trees in lockstep.
            let full = n >= 8 ? n : 0
            if full > 0 {
                for r in 0..<full { acc[r] = baseScore }
                heapLogits(q: UnsafePointer(q), rows: full, trees: T, depth: treeDepth, nodeStart: treeNode,
                           nodeOffset: nodeOffset, nodeK: nodeK, nodeKind: nodeKind, leafStart: treeLeaf, leafValue: leafValue, acc: acc,
                           leaves: leafRows, leavesStride: T, work: work, workBytes: workBytes)
                for r in 0..<full { output[start &+ r] = Float(acc[r]) }
            }
            for r in full..<n { output[start &+ r] = Float(leaves(UnsafePointer(q + r), leafRows + r &* T)) }
            start &+= n
        }
        return cached
    }

    /// The leaf (index within its tree's `2^D` leaves) reached by one quantized row in every
    /// tree, into `out`; returns the logit (base + leaf values in tree order, Double). Runs
    /// of 8 trees of equal depth walk in lockstep (8 independent chains); the sum's add
    /// chain overlaps the next run's walk.
    @discardableResult
    func leaves(_ q: UnsafePointer<UInt16>, _ out: UnsafeMutablePointer<Int32>) -> Double {
        var sum = baseScore
        if let ob = oblivious {
            withUnsafeMutablePointer(to: &sum) { ob.logits(q, rows: 1, leafValue: leafValue, acc: $0, leaves: out, stride: treeCount) }
            return sum
        }
        var t = 0
        while t < treeCount {
            let lv = leafValue + Int(treeLeaf[t])
            let D = Int(treeDepth[t]), top = 1 &<< D
            let no = nodeOffset + Int(treeNode[t]), nk = nodeK + Int(treeNode[t])
            if uniform8[t] {
                // A constant depth per case makes the lane offsets constants (one register per lane).
                switch D {
                case 1: GBDTEvaluator.walk8(1, no, nk, q, lv, out + t, &sum)
                case 2: GBDTEvaluator.walk8(2, no, nk, q, lv, out + t, &sum)
                case 3: GBDTEvaluator.walk8(3, no, nk, q, lv, out + t, &sum)
                case 4: GBDTEvaluator.walk8(4, no, nk, q, lv, out + t, &sum)
                case 5: GBDTEvaluator.walk8(5, no, nk, q, lv, out + t, &sum)
                case 6: GBDTEvaluator.walk8(6, no, nk, q, lv, out + t, &sum)
                case 7: GBDTEvaluator.walk8(7, no, nk, q, lv, out + t, &sum)
                case 8: GBDTEvaluator.walk8(8, no, nk, q, lv, out + t, &sum)
                default: GBDTEvaluator.walk8(D, no, nk, q, lv, out + t, &sum)
                }
                t &+= 8
            } else {
                var i = 1
                for _ in 0..<D { i = i &+ i &+ (nk[i] < q[Int(no[i])] ? 1 : 0) }
                out[t] = Int32(truncatingIfNeeded: i &- top)
                sum += lv[i &- top]
                t &+= 1
            }
        }
        return sum
    }

    /// Eight consecutive trees of depth `D` (nodes and leaves contiguous, stride `2^D`) for
    /// one quantized row in lockstep. Lane j's state is its absolute node index
    /// `g = j·2^D + i`, so the child `2i + c` is `2g − j·2^D + c`; leaves go to `out[j]`
    /// and their values are added to `sum` in tree order.
    @inline(__always)
    private static func walk8(_ D: Int, _ no: UnsafeMutablePointer<UInt32>, _ nk: UnsafeMutablePointer<UInt16>,
                              _ q: UnsafePointer<UInt16>, _ lv: UnsafeMutablePointer<Double>,
                              _ out: UnsafeMutablePointer<Int32>, _ sum: inout Double) {
        let top = 1 &<< D
        var g0 = 1, g1 = 1 &+ top, g2 = 1 &+ 2 &* top, g3 = 1 &+ 3 &* top
        var g4 = 1 &+ 4 &* top, g5 = 1 &+ 5 &* top, g6 = 1 &+ 6 &* top, g7 = 1 &+ 7 &* top
        @inline(__always) func step(_ g: inout Int, _ base: Int) {
            g = g &+ g &- base &+ (nk[g] < q[Int(no[g])] ? 1 : 0)
        }
        repeatLevels(D) {
            step(&g0, 0); step(&g1, top); step(&g2, 2 &* top); step(&g3, 3 &* top)
            step(&g4, 4 &* top); step(&g5, 5 &* top); step(&g6, 6 &* top); step(&g7, 7 &* top)
        }
        out[0] = Int32(truncatingIfNeeded: g0 &- top); out[1] = Int32(truncatingIfNeeded: g1 &- 2 &* top)
        out[2] = Int32(truncatingIfNeeded: g2 &- 3 &* top); out[3] = Int32(truncatingIfNeeded: g3 &- 4 &* top)
        out[4] = Int32(truncatingIfNeeded: g4 &- 5 &* top); out[5] = Int32(truncatingIfNeeded: g5 &- 6 &* top)
        out[6] = Int32(truncatingIfNeeded: g6 &- 7 &* top); out[7] = Int32(truncatingIfNeeded: g7 &- 8 &* top)
        // Lane j's leaf value sits at j·2^D + (i − 2^D) = g − 2^D.
        sum += lv[g0 &- top]; sum += lv[g1 &- top]; sum += lv[g2 &- top]; sum += lv[g3 &- top]
        sum += lv[g4 &- top]; sum += lv[g5 &- top]; sum += lv[g6 &- top]; sum += lv[g7 &- top]
    }
}
