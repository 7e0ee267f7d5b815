/// Piecewise-linear encoding of numeric inputs (Gorishniy et al., "On Embeddings for Numerical
/// Features in Tabular Deep Learning", 2022), the MLP's first, fixed stage.
///
/// Each selected input column `x` keeps its own value and adds one feature per quantile bin
/// `[e_t, e_{t+1})` of the training data: `clamp((x − e_t) / (e_{t+1} − e_t), 0, 1)`. Thresholds
/// ("income below the 20th percentile") then cost the network one unit instead of several,
/// which closes much of the gap to trees on credit data (+0.005 test ROC AUC on the anchor split).
///
/// Layout of an expanded row: the `inputWidth` original values, then the bin features of
/// `columns[0]`, then of `columns[1]`, …. A NaN input stays NaN in the copied value (so the
/// logit is NaN) and gives 0 in its bin features.
public struct PiecewiseLinearExpansion: Codable, Sendable, Equatable {
    public let inputWidth: Int
    /// Input columns that get bin features.
    public let columns: [Int]
    /// Strictly increasing bin edges per entry of `columns` (at least 2 each).
    public let edges: [[Float]]

    /// `inputWidth` + the number of bin features.
    public var outputWidth: Int { inputWidth + edges.reduce(0) { $0 + $1.count - 1 } }

    public init(inputWidth: Int, columns: [Int], edges: [[Float]]) {
        precondition(columns.count == edges.count && columns.allSatisfy { $0 >= 0 && $0 < inputWidth })
        precondition(edges.allSatisfy { e in e.count >= 2 && zip(e, e.dropFirst()).allSatisfy { $0 < $1 } })
        self.inputWidth = inputWidth
        self.columns = columns
        self.edges = edges
    }

    private enum CodingKeys: String, CodingKey { case inputWidth, columns, edges }

    /// Decodes and validates (column indices in range, edges strictly increasing and finite):
    /// a corrupted artifact is a decoding error, never an out-of-bounds read.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let width = try c.decode(Int.self, forKey: .inputWidth)
        let columns = try c.decode([Int].self, forKey: .columns)
        let edges = try c.decode([[Float]].self, forKey: .edges)
        guard width > 0, columns.count == edges.count, columns.allSatisfy({ $0 >= 0 && $0 < width }) else {
            throw DecodingError.dataCorruptedError(forKey: .columns, in: c, debugDescription: "PiecewiseLinearExpansion: columns \(columns) for input width \(width)")
        }
        for (j, e) in edges.enumerated() where e.count < 2 || !e.allSatisfy(\.isFinite) || !zip(e, e.dropFirst()).allSatisfy({ $0 < $1 }) {
            throw DecodingError.dataCorruptedError(forKey: .edges, in: c, debugDescription: "PiecewiseLinearExpansion: edges of column \(columns[j]) are not strictly increasing finite numbers")
        }
        self.init(inputWidth: width, columns: columns, edges: edges)
    }

    /// Quantile edges (`bins` equal-count bins, duplicates merged) of the numeric columns of `x`;
    /// columns with fewer than 3 distinct values get none.
    public init(fitting x: FeatureMatrix, bins: Int) {
        var cols = [Int](), allEdges = [[Float]]()
        if bins > 0 {
            for (j, column) in x.columns.enumerated() where column.kind == .numeric {
                var values = (0..<x.rows).map { x[$0, j] }.filter { $0.isFinite }
                guard !values.isEmpty else { continue }
                values.sort()
                var e = [Float]()
                for t in 0...bins {
                    let q = values[min(values.count - 1, t * values.count / bins)]
                    if e.last.map({ q > $0 }) ?? true { e.append(q) }
                }
                if e.count >= 3 { cols.append(j); allEdges.append(e) }
            }
        }
        self.init(inputWidth: x.cols, columns: cols, edges: allEdges)
    }

    /// Expands rows `rows` of `input` (`inputWidth` per row) into rows `0..<rows.count` of
    /// `output` (`outputWidth` per row).
    public func expand(_ input: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        let k = inputWidth, w = outputWidth
        precondition(input.count >= rows.upperBound * k && output.count >= rows.count * w, "expand: buffers too short for rows \(rows)")
        for (o, r) in rows.enumerated() {
            let x = input.baseAddress! + r * k, y = output.baseAddress! + o * w
            for i in 0..<k { y[i] = x[i] }
            var at = k
            for (c, e) in zip(columns, edges) {
                let v = x[c]
                for t in 0..<(e.count - 1) {
                    let f = (v - e[t]) / (e[t + 1] - e[t])
                    y[at] = f > 1 ? 1 : (f > 0 ? f : 0)     // NaN → 0
                    at += 1
                }
            }
        }
    }

    /// Adds to `dx[i]` (per original column) the gradient that flows through the expansion at
    /// input row `x`, given `g` = gradient w.r.t. the expanded row.
    func backward(_ x: UnsafePointer<Float>, expandedGradient g: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Double>) {
        for i in 0..<inputWidth { dx[i] += Double(g[i]) }
        var at = inputWidth
        for (c, e) in zip(columns, edges) {
            let v = x[c]
            for t in 0..<(e.count - 1) {
                if v > e[t] && v < e[t + 1] { dx[c] += Double(g[at]) / Double(e[t + 1] - e[t]) }
                at += 1
            }
        }
    }
}
