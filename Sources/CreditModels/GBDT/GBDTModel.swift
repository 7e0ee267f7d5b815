/// A trained gradient-boosted tree ensemble over the native encoding (NaN = missing,
/// categorical columns hold codes `0..<cardinality`, `cardinality` = unseen category).
///
/// Memory is flat parallel arrays indexed by a global node id (all trees share them); there
/// are no node objects. Node `n`:
/// - `feature[n]`: input column tested, or `-1` for a leaf;
/// - numeric node: goes left when `x < threshold[n]`; NaN goes to the default side;
/// - categorical node (`catOffset[n] >= 0`): goes left when the integer code `c` has its bit
///   set in `catBits[catOffset[n] ..< catOffset[n] + words]` (words = ⌈cardinality/32⌉);
///   a code with no bit set goes right; NaN, an unseen category (code ≥ cardinality) and
///   any non-integer or negative code go to the default side (like missing);
/// - `defaultLeft[n]`: 1 when missing values go left;
/// - `left[n]`, `right[n]`: child ids; a leaf points to itself (so a fixed number of steps
///   per tree is branch-free);
/// - `value[n]`: leaf value (already shrunk), 0 for internal nodes;
/// - `cover[n]`: sum of training hessians that reached the node (TreeSHAP weights).
/// Tree `t` starts at node `treeRoots[t]` and has depth `treeDepths[t]`.
///
/// `logits` and `contributions` run on a compiled layout derived in `init` (`GBDTEvaluator`:
/// rows quantized once into per-feature bins, heap-ordered complete trees, 8 rows or 8 trees
/// in lockstep; not encoded), or on the node arrays (`walkLogits`) when a model does not fit
/// it (trees deeper than 12). `referenceLogit` is the plain tree walk kept beside them for
/// differential tests (identical Floats required).
///
/// Two attributions (both sum exactly to the logit with the same bias, `expectedLogit`):
/// - `contributions` (the `LogitModel` requirement, used for reason codes on every scored
///   applicant): path attribution (Saabas). For each tree, the decision path is walked and
///   each node→child step adds `nodeMean[child] − nodeMean[node]` to the split's feature,
///   where `nodeMean` is the cover-weighted mean leaf value of the node's subtree
///   (derived at build/decode time, not stored in the artifact). O(depth) per tree.
/// - `shapContributions`: exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2,
///   as in XGBoost's `TreeShap`), O(leaves·depth²) per tree — for analysis, not serving.
public struct GBDTModel: LogitModel, Codable, Sendable, Equatable {
    public let inputWidth: Int
    /// Per input column: 0 for numeric, else the categorical cardinality.
    public let featureCardinality: [Int32]
    /// Log-odds of the weighted training prior (the starting score).
    public let baseScore: Float
    public let treeRoots: [Int32]
    public let treeDepths: [Int32]
    public let feature: [Int32]
    public let threshold: [Float]
    public let defaultLeft: [UInt8]
    public let left: [Int32]
    public let right: [Int32]
    public let value: [Float]
    public let cover: [Float]
    public let catOffset: [Int32]
    public let catBits: [UInt32]
    /// Expected log-odds over the training distribution (cover-weighted), the attribution bias
    /// (of both `contributions` and `shapContributions`).
    public let expectedLogit: Double
    /// Per node: the cover-weighted mean leaf value of its subtree (a leaf: its value).
    /// Derived from `value`/`cover` in `init` (not encoded).
    public let nodeMean: [Double]
    /// The compiled evaluation layout (quantized slots, heap-ordered trees; see
    /// `GBDTEvaluator`), derived in `init` (not encoded); nil when the model does not fit it
    /// (very deep trees), in which case `logits`/`contributions` use the node-array walk.
    private(set) var evaluator: GBDTEvaluator? = nil
    /// Number of boosting rounds kept (the best round under early stopping).
    public var treeCount: Int { treeRoots.count }
    /// Whether `logits`/`contributions` run on the compiled layout (else the node-array walk).
    public var usesCompiledEvaluator: Bool { evaluator != nil }

    public init(inputWidth: Int, featureCardinality: [Int32], baseScore: Float,
                treeRoots: [Int32], treeDepths: [Int32], feature: [Int32], threshold: [Float],
                defaultLeft: [UInt8], left: [Int32], right: [Int32], value: [Float],
                cover: [Float], catOffset: [Int32], catBits: [UInt32]) {
        if let problem = GBDTModel.structuralProblem(
            inputWidth: inputWidth, featureCardinality: featureCardinality, treeRoots: treeRoots, treeDepths: treeDepths,
            feature: feature, threshold: threshold, defaultLeft: defaultLeft, left: left, right: right, value: value,
            cover: cover, catOffset: catOffset, catBits: catBits) {
            preconditionFailure("GBDTModel: \(problem)")
        }
        self.inputWidth = inputWidth
        self.featureCardinality = featureCardinality
        self.baseScore = baseScore
        self.treeRoots = treeRoots
        self.treeDepths = treeDepths
        self.feature = feature
        self.threshold = threshold
        self.defaultLeft = defaultLeft
        self.left = left
        self.right = right
        self.value = value
        self.cover = cover
        self.catOffset = catOffset
        self.catBits = catBits
        var mean = [Double](repeating: 0, count: feature.count)
        var e = Double(baseScore)
        for r in treeRoots { e += GBDTModel.expectedValue(node: Int(r), feature, left, right, value, cover, &mean) }
        self.expectedLogit = e
        self.nodeMean = mean
        self.evaluator = GBDTEvaluator(self)
    }

    /// Describes the first structural defect (array lengths, child ids, leaf self-loops,
    /// bitset ranges, tree depths, cycles), or nil for a well-formed model.
    static func structuralProblem(inputWidth: Int, featureCardinality: [Int32], treeRoots: [Int32], treeDepths: [Int32],
                                  feature: [Int32], threshold: [Float], defaultLeft: [UInt8], left: [Int32], right: [Int32],
                                  value: [Float], cover: [Float], catOffset: [Int32], catBits: [UInt32]) -> String? {
        let n = feature.count
        guard inputWidth >= 0, featureCardinality.count == inputWidth else { return "featureCardinality has \(featureCardinality.count) entries for input width \(inputWidth)" }
        guard treeRoots.count == treeDepths.count else { return "\(treeRoots.count) tree roots but \(treeDepths.count) depths" }
        for (name, c) in [("threshold", threshold.count), ("defaultLeft", defaultLeft.count), ("left", left.count), ("right", right.count),
                          ("value", value.count), ("cover", cover.count), ("catOffset", catOffset.count)] where c != n {
            return "node array \(name) has \(c) entries, feature has \(n)"
        }
        for i in 0..<n {
            guard feature[i] >= -1, feature[i] < Int32(inputWidth) else { return "node \(i): feature \(feature[i]) out of range" }
            guard left[i] >= 0, Int(left[i]) < n, right[i] >= 0, Int(right[i]) < n else { return "node \(i): child out of range" }
            guard value[i].isFinite, cover[i].isFinite, !threshold[i].isNaN else { return "node \(i): non-finite value/cover or NaN threshold" }
            if feature[i] < 0 {
                guard left[i] == Int32(i), right[i] == Int32(i) else { return "node \(i): a leaf must point to itself" }
            } else if catOffset[i] >= 0 {
                let card = Int(featureCardinality[Int(feature[i])])
                guard card > 0, Int(catOffset[i]) + (card + 31) / 32 <= catBits.count else { return "node \(i): categorical bitset out of range" }
            } else if catOffset[i] != -1 {
                return "node \(i): catOffset \(catOffset[i])"
            }
        }
        for (t, r) in treeRoots.enumerated() {
            guard r >= 0, Int(r) < n else { return "tree \(t): root \(r) out of range" }
            // Depth-first walk; a cycle shows up as a path longer than the node count.
            var stack = [(Int(r), 0)], maxDepth = 0
            while let (node, d) = stack.popLast() {
                guard d <= min(n, 64) else { return "tree \(t): deeper than 64 levels or cyclic" }
                if feature[node] < 0 { maxDepth = max(maxDepth, d); continue }
                stack.append((Int(left[node]), d + 1))
                stack.append((Int(right[node]), d + 1))
            }
            guard maxDepth == Int(treeDepths[t]) else { return "tree \(t): depth \(treeDepths[t]) stored, \(maxDepth) actual" }
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case inputWidth, featureCardinality, baseScore, treeRoots, treeDepths, feature, threshold, defaultLeft
        case left, right, value, cover, catOffset, catBits
    }

    /// Decodes and checks the structure (a damaged artifact throws instead of crashing the
    /// evaluator); the TreeSHAP bias is recomputed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let inputWidth = try c.decode(Int.self, forKey: .inputWidth)
        let card = try c.decode([Int32].self, forKey: .featureCardinality)
        let base = try c.decode(Float.self, forKey: .baseScore)
        let roots = try c.decode([Int32].self, forKey: .treeRoots), depths = try c.decode([Int32].self, forKey: .treeDepths)
        let feature = try c.decode([Int32].self, forKey: .feature), threshold = try c.decode([Float].self, forKey: .threshold)
        let dl = try c.decode([UInt8].self, forKey: .defaultLeft)
        let left = try c.decode([Int32].self, forKey: .left), right = try c.decode([Int32].self, forKey: .right)
        let value = try c.decode([Float].self, forKey: .value), cover = try c.decode([Float].self, forKey: .cover)
        let catOffset = try c.decode([Int32].self, forKey: .catOffset), catBits = try c.decode([UInt32].self, forKey: .catBits)
        if let problem = GBDTModel.structuralProblem(inputWidth: inputWidth, featureCardinality: card, treeRoots: roots, treeDepths: depths,
                                                     feature: feature, threshold: threshold, defaultLeft: dl, left: left, right: right,
                                                     value: value, cover: cover, catOffset: catOffset, catBits: catBits) {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "GBDT model: \(problem)"))
        }
        self.init(inputWidth: inputWidth, featureCardinality: card, baseScore: base, treeRoots: roots, treeDepths: depths,
                  feature: feature, threshold: threshold, defaultLeft: dl, left: left, right: right, value: value,
                  cover: cover, catOffset: catOffset, catBits: catBits)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputWidth, forKey: .inputWidth)
        try c.encode(featureCardinality, forKey: .featureCardinality)
        try c.encode(baseScore, forKey: .baseScore)
        try c.encode(treeRoots, forKey: .treeRoots)
        try c.encode(treeDepths, forKey: .treeDepths)
        try c.encode(feature, forKey: .feature)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(defaultLeft, forKey: .defaultLeft)
        try c.encode(left, forKey: .left)
        try c.encode(right, forKey: .right)
        try c.encode(value, forKey: .value)
        try c.encode(cover, forKey: .cover)
        try c.encode(catOffset, forKey: .catOffset)
        try c.encode(catBits, forKey: .catBits)
    }

    /// Cover fractions of the two children of an internal node (TreeSHAP and the bias use
    /// the same function, so the attributions sum exactly).
    @inline(__always)
    static func childFractions(_ node: Int, _ left: [Int32], _ right: [Int32], _ cover: [Float]) -> (Double, Double) {
        let c = Double(cover[node])
        guard c > 0 else { return (0.5, 0.5) }
        return (Double(cover[Int(left[node])]) / c, Double(cover[Int(right[node])]) / c)
    }

    /// The cover-weighted mean leaf value of the subtree at `node`, recorded in `mean` for
    /// every node of the subtree.
    private static func expectedValue(node: Int, _ feature: [Int32], _ left: [Int32], _ right: [Int32],
                                      _ value: [Float], _ cover: [Float], _ mean: inout [Double]) -> Double {
        if feature[node] < 0 { mean[node] = Double(value[node]); return mean[node] }
        let (fl, fr) = childFractions(node, left, right, cover)
        let e = fl * expectedValue(node: Int(left[node]), feature, left, right, value, cover, &mean)
            + fr * expectedValue(node: Int(right[node]), feature, left, right, value, cover, &mean)
        mean[node] = e
        return e
    }

    // MARK: - Routing (shared by all evaluators)

    /// Whether `x` goes left at internal node `n` (the definition of the model's semantics).
    @inline(__always)
    func goesLeft(_ n: Int, _ x: Float) -> Bool {
        GBDTModel.goesLeft(x, threshold: threshold[n], defaultLeft: defaultLeft[n], catOffset: catOffset[n],
                           cardinality: catOffset[n] < 0 ? 0 : Int(featureCardinality[Int(feature[n])]), catBits: catBits)
    }

    /// The split rule, shared by the trainer and every evaluator.
    @inline(__always)
    static func goesLeft(_ x: Float, threshold: Float, defaultLeft: UInt8, catOffset off: Int32,
                         cardinality card: Int, catBits: [UInt32]) -> Bool {
        if off < 0 {
            if x.isNaN { return defaultLeft != 0 }
            return x < threshold
        }
        // Codes outside 0..<card, non-integers and NaN: default side (like missing).
        guard x >= 0, x < Float(card) else { return defaultLeft != 0 }
        let c = Int(x)
        guard Float(c) == x else { return defaultLeft != 0 }
        return (catBits[Int(off) + (c >> 5)] >> UInt32(c & 31)) & 1 != 0
    }

    /// Reference evaluator: a plain walk of every tree, summed in Double in tree order.
    public func referenceLogit(_ row: UnsafeBufferPointer<Float>) -> Float {
        precondition(row.count >= inputWidth)
        var sum = Double(baseScore)
        for r in treeRoots {
            var n = Int(r)
            while feature[n] >= 0 {
                n = goesLeft(n, row[Int(feature[n])]) ? Int(left[n]) : Int(right[n])
            }
            sum += Double(value[n])
        }
        return Float(sum)
    }

    /// The leaf reached by `row` in tree `t` (reference walk).
    public func leaf(tree t: Int, row: UnsafeBufferPointer<Float>) -> Int {
        var n = Int(treeRoots[t])
        while feature[n] >= 0 { n = goesLeft(n, row[Int(feature[n])]) ? Int(left[n]) : Int(right[n]) }
        return n
    }

    // MARK: - LogitModel

    public func makeScratch(maxRows: Int) -> ModelScratch {
        GBDTScratch(maxRows: maxRows, maxDepth: Int(treeDepths.max() ?? 0), inputWidth: inputWidth,
                    blockSlots: evaluator?.blockSlots ?? 0, treeCount: treeCount)
    }

    /// The compiled evaluator and a scratch that fits it, or nil (then the node-array walk runs).
    @inline(__always)
    private func compiled(_ scratch: ModelScratch) -> (GBDTEvaluator, GBDTScratch)? {
        guard let ev = evaluator, let s = scratch as? GBDTScratch, s.qCapacity >= ev.blockSlots,
              s.leafCapacity >= ev.treeCount, s.phi.count >= inputWidth + GBDTEvaluator.sinkColumns else { return nil }
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
                               cache: s.cacheLeaves, cacheRows: s.cacheRows, cacheInputs: s.cacheInputs)
        s.cacheBase = UnsafeRawPointer(input.baseAddress!)
        s.cacheStart = rows.lowerBound
        s.cacheCount = cached
    }

    /// The leaves `logits` recorded for `row` in `s` when `row` is one of the rows of the last
    /// `logits` call on this scratch and its values are bit-identical to what was scored
    /// (so the leaves are the row's leaves); nil otherwise.
    private func recordedLeaves(_ row: UnsafeBufferPointer<Float>, _ s: GBDTScratch) -> UnsafePointer<Int32>? {
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

    /// Path attributions (Saabas) per input column; returns the bias (expected log-odds).
    /// For each tree, every step of the row's decision path from node `n` to child `c` adds
    /// `nodeMean[c] − nodeMean[n]` to `feature[n]`, so per tree the steps telescope to
    /// `value[leaf] − nodeMean[root]` and `bias + Σ output == logit(row)` up to Float
    /// rounding (sums in Double). O(depth) per tree, allocation-free (`scratch` holds the
    /// Double accumulator). Routing is the model's split rule (`goesLeft`).
    public func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                              scratch: ModelScratch) -> Float {
        precondition(output.count == inputWidth && row.count >= inputWidth)
        guard let s = scratch as? GBDTScratch, s.phi.count >= inputWidth else {
            preconditionFailure("GBDTModel.contributions: scratch must come from this model's makeScratch")
        }
        let phi = s.phi
        if let (ev, s) = compiled(scratch) {
            ev.contributions(row.baseAddress!, phi: phi.baseAddress!, q: s.q, leafIdx: s.leafIdx, known: recordedLeaves(row, s))
            for i in 0..<inputWidth { output[i] = Float(phi[i]) }
            return Float(expectedLogit)
        }
        walkContributions(row, phi)
        for i in 0..<inputWidth { output[i] = Float(phi[i]) }
        return Float(expectedLogit)
    }

    /// The node-array path-attribution walk (into `phi`, Double), the definition the compiled
    /// layout is tested against.
    func walkContributions(_ row: UnsafeBufferPointer<Float>, _ phi: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<inputWidth { phi[i] = 0 }
        feature.withUnsafeBufferPointer { feat in
        threshold.withUnsafeBufferPointer { thr in
        left.withUnsafeBufferPointer { lft in
        right.withUnsafeBufferPointer { rgt in
        defaultLeft.withUnsafeBufferPointer { dfl in
        catOffset.withUnsafeBufferPointer { cof in
        nodeMean.withUnsafeBufferPointer { mean in
        catBits.withUnsafeBufferPointer { bits in
        featureCardinality.withUnsafeBufferPointer { card in
            for root in treeRoots {
                var n = Int(root)
                var f = Int(feat[n])
                while f >= 0 {
                    let x = row[f]
                    var goLeft: Bool
                    let off = Int(cof[n])
                    if off < 0 {
                        goLeft = x.isNaN ? dfl[n] != 0 : x < thr[n]
                    } else if x >= 0, x < Float(card[f]), Float(Int(x)) == x {
                        let c = Int(x)
                        goLeft = (bits[off + (c >> 5)] >> UInt32(c & 31)) & 1 != 0
                    } else {
                        goLeft = dfl[n] != 0   // NaN, unseen or invalid code
                    }
                    let next = goLeft ? Int(lft[n]) : Int(rgt[n])
                    phi[f] += mean[next] - mean[n]
                    n = next
                    f = Int(feat[n])
                }
            }
        }}}}}}}}}
    }

    /// Path attributions with the node-array walk (whatever layout `logits` uses), in
    /// Double; for differential tests of the compiled layout.
    public func walkContributionsDouble(_ row: UnsafeBufferPointer<Float>) -> [Double] {
        let phi = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(inputWidth, 1))
        defer { phi.deallocate() }
        walkContributions(row, phi)
        return Array(phi[0..<inputWidth])
    }

    /// Path attributions in Double (what `contributions` rounds to Float).
    public func contributionsDouble(_ row: UnsafeBufferPointer<Float>, scratch: GBDTScratch) -> (bias: Double, phi: [Double]) {
        var out = [Float](repeating: 0, count: inputWidth)
        _ = out.withUnsafeMutableBufferPointer { contributions(row, $0, scratch: scratch) }
        return (expectedLogit, Array(scratch.phi[0..<inputWidth]))
    }

    /// Exact TreeSHAP attributions per input column; returns the bias (expected log-odds).
    /// `bias + Σ output == logit(row)` up to Float rounding of the result (sums in Double).
    /// Milliseconds per row for hundreds of trees: scoring uses `contributions` instead.
    public func shapContributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                                  scratch: ModelScratch) -> Float {
        precondition(output.count == inputWidth && row.count >= inputWidth)
        guard let s = scratch as? GBDTScratch, s.pathCapacity >= GBDTScratch.pathSize(maxDepth: Int(treeDepths.max() ?? 0)),
              s.phi.count >= inputWidth else {
            preconditionFailure("GBDTModel.shapContributions: scratch must come from this model's makeScratch")
        }
        let phi = s.phi
        for i in 0..<inputWidth { phi[i] = 0 }
        for r in treeRoots {
            treeSHAP(row: row, phi: phi, node: Int(r), uniqueDepth: 0, parentPath: s.path,
                     parentZeroFraction: 1, parentOneFraction: 1, parentFeature: -1)
        }
        for i in 0..<inputWidth { output[i] = Float(phi[i]) }
        return Float(expectedLogit)
    }

    /// TreeSHAP values in Double (what `shapContributions` rounds to Float).
    public func shapContributionsDouble(_ row: UnsafeBufferPointer<Float>, scratch: GBDTScratch) -> (bias: Double, phi: [Double]) {
        var out = [Float](repeating: 0, count: inputWidth)
        _ = out.withUnsafeMutableBufferPointer { shapContributions(row, $0, scratch: scratch) }
        return (expectedLogit, Array(scratch.phi[0..<inputWidth]))
    }

    // MARK: - TreeSHAP (path-dependent)

    private func treeSHAP(row: UnsafeBufferPointer<Float>, phi: UnsafeMutableBufferPointer<Double>, node: Int,
                          uniqueDepth depthIn: Int, parentPath: UnsafeMutablePointer<GBDTPathElement>,
                          parentZeroFraction: Double, parentOneFraction: Double, parentFeature: Int) {
        var uniqueDepth = depthIn
        let path = parentPath + (uniqueDepth + 1)
        path.update(from: parentPath, count: uniqueDepth + 1)
        GBDTPathElement.extend(path, uniqueDepth, parentZeroFraction, parentOneFraction, parentFeature)
        let f = Int(feature[node])
        if f < 0 {
            let v = Double(value[node])
            if uniqueDepth >= 1 {
                for i in 1...uniqueDepth {
                    let w = GBDTPathElement.unwoundSum(path, uniqueDepth, i)
                    let el = path[i]
                    phi[el.feature] += w * (el.oneFraction - el.zeroFraction) * v
                }
            }
            return
        }
        let goLeft = goesLeft(node, row[f])
        let hot = goLeft ? Int(left[node]) : Int(right[node])
        let cold = goLeft ? Int(right[node]) : Int(left[node])
        let (fl, fr) = GBDTModel.childFractions(node, left, right, cover)
        let hotZero = goLeft ? fl : fr
        let coldZero = goLeft ? fr : fl
        var incomingZero = 1.0, incomingOne = 1.0
        var pathIndex = 0
        while pathIndex <= uniqueDepth {
            if path[pathIndex].feature == f { break }
            pathIndex += 1
        }
        if pathIndex != uniqueDepth + 1 {
            incomingZero = path[pathIndex].zeroFraction
            incomingOne = path[pathIndex].oneFraction
            GBDTPathElement.unwind(path, uniqueDepth, pathIndex)
            uniqueDepth -= 1
        }
        treeSHAP(row: row, phi: phi, node: hot, uniqueDepth: uniqueDepth + 1, parentPath: path,
                 parentZeroFraction: hotZero * incomingZero, parentOneFraction: incomingOne, parentFeature: f)
        treeSHAP(row: row, phi: phi, node: cold, uniqueDepth: uniqueDepth + 1, parentPath: path,
                 parentZeroFraction: coldZero * incomingZero, parentOneFraction: 0, parentFeature: f)
    }
}

/// One element of TreeSHAP's unique path.
public struct GBDTPathElement: Sendable {
    var feature: Int = -1
    var zeroFraction: Double = 0
    var oneFraction: Double = 0
    var pweight: Double = 0

    static func extend(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ zero: Double, _ one: Double, _ feature: Int) {
        p[d].feature = feature
        p[d].zeroFraction = zero
        p[d].oneFraction = one
        p[d].pweight = d == 0 ? 1 : 0
        var i = d - 1
        while i >= 0 {
            p[i + 1].pweight += one * p[i].pweight * Double(i + 1) / Double(d + 1)
            p[i].pweight = zero * p[i].pweight * Double(d - i) / Double(d + 1)
            i -= 1
        }
    }

    static func unwind(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ index: Int) {
        let one = p[index].oneFraction, zero = p[index].zeroFraction
        var nextOne = p[d].pweight
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let tmp = p[i].pweight
                p[i].pweight = nextOne * Double(d + 1) / (Double(i + 1) * one)
                nextOne = tmp - p[i].pweight * zero * Double(d - i) / Double(d + 1)
            } else {
                p[i].pweight = p[i].pweight * Double(d + 1) / (zero * Double(d - i))
            }
            i -= 1
        }
        var j = index
        while j < d {
            p[j].feature = p[j + 1].feature
            p[j].zeroFraction = p[j + 1].zeroFraction
            p[j].oneFraction = p[j + 1].oneFraction
            j += 1
        }
    }

    static func unwoundSum(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ index: Int) -> Double {
        let one = p[index].oneFraction, zero = p[index].zeroFraction
        var nextOne = p[d].pweight
        var total = 0.0
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let tmp = nextOne * Double(d + 1) / (Double(i + 1) * one)
                total += tmp
                nextOne = p[i].pweight - tmp * zero * (Double(d - i) / Double(d + 1))
            } else if zero != 0 {
                total += (p[i].pweight / zero) / (Double(d - i) / Double(d + 1))
            }
            i -= 1
        }
        return total
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
        cacheLeaves.deallocate()
        cacheInputs.deallocate()
    }
}
