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
    /// How the trees were grown (`GBDTParameters.treeShape`); encoded only when oblivious,
    /// so loss-guided artifacts keep their bytes and older artifacts decode as loss-guided.
    /// The evaluator does not read it: it recognises symmetric trees from their structure.
    public internal(set) var treeShape: GBDTTreeShape = .lossGuided
    /// Number of boosting rounds kept (the best round under early stopping).
    public var treeCount: Int { treeRoots.count }
    /// Whether `logits`/`contributions` run on the compiled layout (else the node-array walk).
    public var usesCompiledEvaluator: Bool { evaluator != nil }
    /// Whether the compiled layout evaluates the trees level by level, 16 rows per compare
    /// (every tree symmetric, as `treeShape == .oblivious` trains them).
    public var usesObliviousEvaluator: Bool { evaluator?.oblivious != nil }

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
        case left, right, value, cover, catOffset, catBits, treeShape
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
        treeShape = try c.decodeIfPresent(GBDTTreeShape.self, forKey: .treeShape) ?? .lossGuided
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
        if treeShape != .lossGuided { try c.encode(treeShape, forKey: .treeShape) }
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

    // MARK: - LogitModel (logits: GBDTModelLogits.swift; contributions: GBDTModelAttribution.swift)

    public func makeScratch(maxRows: Int) -> ModelScratch {
        GBDTScratch(maxRows: maxRows, maxDepth: Int(treeDepths.max() ?? 0), inputWidth: inputWidth,
                    blockSlots: evaluator?.blockSlots ?? 0, treeCount: treeCount)
    }
}
