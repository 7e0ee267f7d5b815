/// A `k × n` Float32 matrix (dense-layer weights `W[k, n]`: `k` inputs, `n` outputs) stored in
/// column panels of `PackedMatrix.panelWidth` (16) columns.
///
/// Panel `p` holds columns `16p ..< 16p+16`; inside it, row `i` is 16 contiguous floats at
/// `storage[p*k*16 + i*16 ..< +16]`. Columns past `n` in the last panel are zero. This makes
/// the inner loop of `denseForward` (over `i`) read 16 contiguous weights per step, which two
/// `SIMD8<Float>` accumulators per row consume without shuffles.
public struct PackedMatrix: Sendable, Equatable {
    public static let panelWidth = 16
    /// Rows (layer inputs).
    public let k: Int
    /// Columns (layer outputs).
    public let n: Int
    /// `panels * k * 16` floats, zero padding included.
    public var storage: [Float]

    public var panels: Int { (n + PackedMatrix.panelWidth - 1) / PackedMatrix.panelWidth }
    /// `n` rounded up to a multiple of 16.
    public var paddedColumns: Int { panels * PackedMatrix.panelWidth }

    /// A zero matrix.
    public init(k: Int, n: Int) {
        precondition(k >= 0 && n >= 0, "PackedMatrix: negative shape \(k)x\(n)")
        self.k = k
        self.n = n
        self.storage = [Float](repeating: 0, count: ((n + 15) / 16) * 16 * k)
    }

    /// Packs a row-major `k × n` matrix (`rowMajor[i*n + j] = W[i, j]`).
    public init(k: Int, n: Int, rowMajor: [Float]) {
        precondition(rowMajor.count == k * n, "PackedMatrix: \(rowMajor.count) values for \(k)x\(n)")
        self.init(k: k, n: n)
        for i in 0..<k { for j in 0..<n { self[i, j] = rowMajor[i * n + j] } }
    }

    /// Index of `W[i, j]` in `storage`.
    @inlinable @inline(__always)
    public func offset(_ i: Int, _ j: Int) -> Int {
        (j >> 4) * k * 16 + i * 16 + (j & 15)
    }

    public subscript(i: Int, j: Int) -> Float {
        get { storage[offset(i, j)] }
        set { storage[offset(i, j)] = newValue }
    }

    /// The matrix as row-major `k × n` floats.
    public func rowMajor() -> [Float] {
        var out = [Float](repeating: 0, count: k * n)
        for i in 0..<k { for j in 0..<n { out[i * n + j] = self[i, j] } }
        return out
    }

    /// Writes `selfᵀ` (`n × k`) into `target`, which must have shape `n × k`. No allocation:
    /// training calls this once per step to run `dIn = dOut · Wᵀ` through `denseForward`.
    public func transpose(into target: inout PackedMatrix) {
        precondition(target.k == n && target.n == k, "transpose: target \(target.k)x\(target.n), need \(n)x\(k)")
        let k = self.k, n = self.n
        storage.withUnsafeBufferPointer { src in
            target.storage.withUnsafeMutableBufferPointer { dst in
                // dst[j, i] = src[i, j]; dst panels are over i (its columns), rows over j.
                for j in 0..<n {
                    let srcBase = (j >> 4) * k * 16 + (j & 15)
                    for i in 0..<k {
                        dst[(i >> 4) * n * 16 + j * 16 + (i & 15)] = src[srcBase + i * 16]
                    }
                }
            }
        }
    }

    /// The transpose as a new matrix.
    public func transposed() -> PackedMatrix {
        var t = PackedMatrix(k: n, n: k)
        transpose(into: &t)
        return t
    }
}
