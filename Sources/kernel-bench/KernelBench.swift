// Throughput check of the CreditCore dense kernels: forward pass of an MLP 26-128-64-32-1
// (ReLU) at several batch sizes, plus one training step's kernels. Run in release:
//   swift run -c release kernel-bench
// Times are thread CPU time (best of 5). (Add `-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DCREDIT_FMA` for AVX2 + FMA).
import CreditCore
import Foundation

/// CPU time of this thread in seconds (the machine may be shared; wall time would measure the
/// scheduler).
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

struct LCG {
    var state: UInt64 = 12345
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
    }
}
@main struct KernelBench {
static func main() {
var lcg = LCG()
func rand() -> Float { lcg.next() }

let sizes = [26, 128, 64, 32, 1]
let weights = (0..<4).map { l in PackedMatrix(k: sizes[l], n: sizes[l + 1], rowMajor: (0..<(sizes[l] * sizes[l + 1])).map { _ in rand() * 0.2 }) }
let biases = (0..<4).map { l in (0..<sizes[l + 1]).map { _ in rand() * 0.1 } }
let totalRows = 65_536
let input = (0..<(totalRows * 26)).map { _ in rand() }
var output = [Float](repeating: 0, count: totalRows)

func forwardRate(batch: Int) -> Double {
    var acts = (1..<4).map { [Float](repeating: 0, count: batch * sizes[$0]) }
    var best = Double.infinity
    for _ in 0..<5 {
        let t0 = cpuSeconds()
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                var start = 0
                while start < totalRows {
                    let n = min(batch, totalRows - start)
                    var src: UnsafeBufferPointer<Float> = UnsafeBufferPointer(rebasing: x[(start * 26)...])
                    for l in 0..<4 {
                        biases[l].withUnsafeBufferPointer { b in
                            if l == 3 {
                                denseForward(src, inputStride: sizes[l], weights: weights[l], bias: b, activation: .identity,
                                             UnsafeMutableBufferPointer(rebasing: y[start...]), outputStride: 1, rows: 0..<n)
                            } else {
                                acts[l].withUnsafeMutableBufferPointer { a in
                                    denseForward(src, inputStride: sizes[l], weights: weights[l], bias: b, activation: .relu,
                                                 a, outputStride: sizes[l + 1], rows: 0..<n)
                                    src = UnsafeBufferPointer(a)
                                }
                            }
                        }
                    }
                    start += n
                }
            }
        }
        best = min(best, cpuSeconds() - t0)
    }
    return Double(totalRows) / best
}

let macs = zip(sizes, sizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
for batch in [1, 16, 256, 4096] {
    let r = forwardRate(batch: batch)
    print(String(format: "forward 26-128-64-32-1  batch %5d: %8.0f rows/s  (%.2f GMAC/s)", batch, r, r * Double(macs) / 1e9))
}

// Weight gradient of the 128x64 layer over 256 rows.
do {
    let k = 128, n = 64, rows = 256
    let x = (0..<(rows * k)).map { _ in rand() }, d = (0..<(rows * n)).map { _ in rand() }
    var g = PackedMatrix(k: k, n: n)
    let reps = 400
    let t0 = cpuSeconds()
    x.withUnsafeBufferPointer { xb in
        d.withUnsafeBufferPointer { db in
            for _ in 0..<reps { denseWeightGradient(xb, inputStride: k, db, dOutStride: n, gradient: &g, rows: 0..<rows) }
        }
    }
    let s = cpuSeconds() - t0
    print(String(format: "weight gradient 128x64 over 256 rows: %.2f GMAC/s", Double(reps * k * n * rows) / s / 1e9))
}
}
}
