import CreditDomain
import ArgumentParser
import CreditBench
import CreditCore
import CreditModels
import Foundation

/// Thread CPU time in seconds (the machine may be shared; wall time would measure the scheduler).
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension SplitMix64 {
    /// A seeded benchmark input, uniform in [-1, 1).
    mutating func signedUnit() -> Float { Float(uniform() * 2 - 1) }
}

/// OpenBLAS loaded at run time (dlopen), so no target that `swift test` builds links it.
struct OpenBLAS {
    typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    let sgemm: SGEMM
    let config: String
    init?(threads: Int32) {
        guard let h = dlopen("libopenblas.so.0", RTLD_NOW) ?? dlopen("libopenblas.so", RTLD_NOW),
              let s = dlsym(h, "cblas_sgemm") else { return nil }
        sgemm = unsafeBitCast(s, to: SGEMM.self)
        if let set = dlsym(h, "openblas_set_num_threads") {
            unsafeBitCast(set, to: (@convention(c) (Int32) -> Void).self)(threads)
        }
        if let cfg = dlsym(h, "openblas_get_config") {
            config = String(cString: unsafeBitCast(cfg, to: (@convention(c) () -> UnsafePointer<CChar>).self)())
        } else { config = "OpenBLAS" }
    }
    static let rowMajor: Int32 = 101, noTrans: Int32 = 111
}

struct KernelRow: Codable {
    var batch: Int
    /// CreditCore kernel copy that ran (`KernelVariant.rawValue`); nil in reports from before
    /// the run-time dispatch (then: whatever the build compiled).
    var variant: String?
    var oursRowsPerSecond: Double
    var openblasRowsPerSecond: Double?
    var ratio: Double?
    var maxAbsDifference: Double?
}

struct ModelRow: Codable {
    var model: String
    var algorithm: String
    var inputWidth: Int
    var batch: Int
    var rowsPerSecond: Double
    var nanosPerRow: Double
    /// The dispatched CreditCore kernel copy (`Kernels.variant`) these rows ran with.
    var kernels: String?
}

/// `LogitModel.contributions` (reason codes; one row per call) of an artifact.
struct ContributionRow: Codable {
    var model: String
    var algorithm: String
    var nanosPerRow: Double
}

struct KernelReport: Codable {
    var layers: [Int]
    var openblas: String?
    /// `Kernels.summary` of the process: the copy the dispatch chose (used by the model rows).
    var dispatch: String?
    var forward: [KernelRow]
    var models: [ModelRow]
    var contributions: [ContributionRow]?
}

struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "MLP forward: CreditCore vs OpenBLAS cblas_sgemm; LogitModel.logits by batch for artifacts.",
        discussion: """
            The forward table is measured for each CreditCore kernel copy in --variants (default: \
            every copy this CPU can run, i.e. portable and, with AVX2+FMA, haswell), each forced \
            explicitly. The model rows use the copy the run-time dispatch chose for this process \
            (set CREDIT_KERNELS=portable|haswell to force it; docs/matrix-core.md).
            """)

    @Option(help: "Layer widths of the MLP (input first).") var layers: String = "26,128,64,32,1"
    @Option(help: "Batch sizes.") var batches: String = "1,4,16,64,256,1024,4096"
    @Option(name: .customLong("openblas-threads")) var openblasThreads: Int32 = 1
    @Option(help: "CreditCore kernel copies for the forward table: 'available' or a list of portable,haswell.")
    var variants: String = "available"
    @Option(help: "Model artifacts whose logits to time by batch (any algorithm).") var model: [String] = []
    @Option(help: "Model inputs: uniform (seeded values in [-1, 1)) or splits (for tree models: values drawn from the model's own split thresholds and category codes, 5 % missing, so rows take diverse paths like real applicants).")
    var inputs: String = "uniform"
    @Option(name: .customLong("out-json")) var outJSON: String
    @Option(name: .customLong("out-md")) var outMD: String

    func run() throws {
        let variantList: [KernelVariant]
        if variants == "available" {
            variantList = KernelVariant.allCases.filter(Kernels.isAvailable)
        } else {
            variantList = try variants.split(separator: ",").map { name in
                guard let v = KernelVariant(rawValue: String(name)) else {
                    throw ValidationError("--variants: unknown kernel copy '\(name)' (portable, haswell or available)")
                }
                guard Kernels.isAvailable(v) else {
                    throw ValidationError("--variants: '\(name)' cannot run on this CPU (needs AVX2 and FMA)")
                }
                return v
            }
        }
        log("kernels: forward table for \(variantList.map(\.rawValue).joined(separator: ", ")); dispatch: \(Kernels.summary)")
        let sizes = layers.split(separator: ",").compactMap { Int($0) }
        let batchList = batches.split(separator: ",").compactMap { Int($0) }
        var rng = SplitMix64(seed: 12345)
        let L = sizes.count - 1
        let rowMajorW = (0..<L).map { l in (0..<(sizes[l] * sizes[l + 1])).map { _ in rng.signedUnit() * 0.2 } }
        let weights = (0..<L).map { PackedMatrix(k: sizes[$0], n: sizes[$0 + 1], rowMajor: rowMajorW[$0]) }
        let biases = (0..<L).map { l in (0..<sizes[l + 1]).map { _ in rng.signedUnit() * 0.1 } }
        let totalRows = 65_536
        let input = (0..<(totalRows * sizes[0])).map { _ in rng.signedUnit() }
        let blas = OpenBLAS(threads: openblasThreads)

        // Ours: CreditCore.denseForward layer by layer (the MLP's inference path).
        func ours(batch: Int, variant: KernelVariant, output: inout [Float]) -> Double {
            var acts = (1..<L).map { [Float](repeating: 0, count: batch * sizes[$0]) }
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = cpuSeconds()
                input.withUnsafeBufferPointer { x in
                    output.withUnsafeMutableBufferPointer { y in
                        var start = 0
                        while start < totalRows {
                            let n = min(batch, totalRows - start)
                            var src = UnsafeBufferPointer(rebasing: x[(start * sizes[0])...])
                            for l in 0..<L {
                                biases[l].withUnsafeBufferPointer { b in
                                    if l == L - 1 {
                                        denseForward(src, inputStride: sizes[l], weights: weights[l], bias: b, activation: .identity,
                                                     UnsafeMutableBufferPointer(rebasing: y[(start * sizes[L])...]), outputStride: sizes[L],
                                                     rows: 0..<n, variant: variant)
                                    } else {
                                        acts[l].withUnsafeMutableBufferPointer { a in
                                            denseForward(src, inputStride: sizes[l], weights: weights[l], bias: b, activation: .relu,
                                                         a, outputStride: sizes[l + 1], rows: 0..<n, variant: variant)
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

        // OpenBLAS: C = bias (broadcast), C += X·W (sgemm, row-major), ReLU; same layers.
        func openblas(_ blas: OpenBLAS, batch: Int, output: inout [Float]) -> Double {
            let acts = (1...L).map { UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * sizes[$0]) }
            defer { for a in acts { a.deallocate() } }
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = cpuSeconds()
                var start = 0
                while start < totalRows {
                    let n = min(batch, totalRows - start)
                    for l in 0..<L {
                        let k = sizes[l], m = sizes[l + 1]
                        let c = acts[l]
                        for r in 0..<n { for j in 0..<m { c[r * m + j] = biases[l][j] } }
                        rowMajorW[l].withUnsafeBufferPointer { w in
                            if l == 0 {
                                input.withUnsafeBufferPointer { x in
                                    blas.sgemm(OpenBLAS.rowMajor, OpenBLAS.noTrans, OpenBLAS.noTrans, Int32(n), Int32(m), Int32(k), 1,
                                               x.baseAddress! + start * k, Int32(k), w.baseAddress, Int32(m), 1, c.baseAddress, Int32(m))
                                }
                            } else {
                                blas.sgemm(OpenBLAS.rowMajor, OpenBLAS.noTrans, OpenBLAS.noTrans, Int32(n), Int32(m), Int32(k), 1,
                                           acts[l - 1].baseAddress, Int32(k), w.baseAddress, Int32(m), 1, c.baseAddress, Int32(m))
                            }
                        }
                        if l < L - 1 { for i in 0..<(n * m) { c[i] = c[i] < 0 ? 0 : c[i] } }
                    }
                    output.withUnsafeMutableBufferPointer { y in
                        for i in 0..<(n * sizes[L]) { y[start * sizes[L] + i] = acts[L - 1][i] }
                    }
                    start += n
                }
                best = min(best, cpuSeconds() - t0)
            }
            return Double(totalRows) / best
        }

        var rows: [KernelRow] = []
        var table = MarkdownTable(["batch", "CreditCore kernels", "CreditCore rows/s", "OpenBLAS rows/s", "CreditCore / OpenBLAS", "max |Δ| of outputs"])
        for b in batchList {
            // OpenBLAS once per batch size; each CreditCore copy against it.
            var y2 = [Float](repeating: 0, count: totalRows * sizes[L])
            let r2 = blas.map { openblas($0, batch: b, output: &y2) }
            for variant in variantList {
                var y1 = [Float](repeating: 0, count: totalRows * sizes[L])
                let r1 = ours(batch: b, variant: variant, output: &y1)
                var row = KernelRow(batch: b, variant: variant.rawValue, oursRowsPerSecond: r1)
                if let r2 {
                    row.openblasRowsPerSecond = r2
                    row.ratio = r1 / r2
                    row.maxAbsDifference = Double(zip(y1, y2).map { abs($0 - $1) }.max() ?? 0)
                }
                rows.append(row)
                table.add(["\(b)", variant.rawValue, Fmt.count(r1), row.openblasRowsPerSecond.map(Fmt.count) ?? "not installed",
                           row.ratio.map(Fmt.ratio) ?? "—", row.maxAbsDifference.map { String(format: "%.1e", $0) } ?? "—"])
                log("forward batch \(b), \(variant.rawValue): ours \(Fmt.count(r1)) rows/s, OpenBLAS \(r2.map(Fmt.count) ?? "-")")
            }
        }

        // Any artifact's LogitModel.logits by batch (trees once gbdt lands, MLP, logistic).
        var modelRows: [ModelRow] = []
        var mtable = MarkdownTable(["model", "algorithm", "input width", "CreditCore kernels", "batch", "rows/s", "ns/row"])
        var contribRows: [ContributionRow] = []
        var ctable = MarkdownTable(["model", "algorithm", "contributions ns/row"])
        for path in model {
            let (artifact, id) = try ModelArtifact.load(path: path)
            let m = artifact.model.model
            let w = m.inputWidth
            var g = SplitMix64(seed: 99)
            let n = 16_384
            var x = (0..<(n * w)).map { _ in g.signedUnit() }
            if inputs == "splits", let gb = m as? GBDTModel {
                // Per column: the thresholds the model splits on (numeric) or its cardinality.
                var thr = [[Float]](repeating: [], count: w)
                for (i, f) in gb.feature.enumerated() where f >= 0 && gb.catOffset[i] < 0 { thr[Int(f)].append(gb.threshold[i]) }
                var splitRNG = SplitMix64(seed: 7)
                func next() -> UInt64 { splitRNG.next() }
                for r in 0..<n {
                    for c in 0..<w {
                        let card = Int(gb.featureCardinality[c])
                        let v: Float
                        if next() % 20 == 0 { v = .nan }
                        else if card > 0 { v = Float(next() % UInt64(card)) }
                        else if thr[c].isEmpty { v = 0 }
                        else {
                            let t = thr[c][Int(next() % UInt64(thr[c].count))]
                            v = next() % 2 == 0 ? t : t.nextDown
                        }
                        x[r * w + c] = v
                    }
                }
            } else if inputs != "uniform" {
                throw ValidationError("--inputs must be uniform or splits (splits needs a gbdt model)")
            }
            var out = [Float](repeating: 0, count: n)
            // A GBDT model is also timed on its node-array walk (the evaluator before the compiled layout).
            var variants: [(String, (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, Range<Int>, ModelScratch) -> Void)] = [
                (artifact.model.algorithm, { m.logits($0, $1, rows: $2, scratch: $3) })]
            if let gb = m as? GBDTModel {
                variants.append(("gbdt (node-array walk)", { x, o, r, _ in gb.walkLogits(x, o, rows: r) }))
            }
            for (label, run) in variants {
                for b in batchList {
                    let scratch = m.makeScratch(maxRows: b)
                    var best = Double.infinity
                    for _ in 0..<5 {
                        let t0 = cpuSeconds()
                        x.withUnsafeBufferPointer { xb in
                            out.withUnsafeMutableBufferPointer { ob in
                                var s = 0
                                while s < n {
                                    let e = min(n, s + b)
                                    run(xb, ob, s..<e, scratch)
                                    s = e
                                }
                            }
                        }
                        best = min(best, cpuSeconds() - t0)
                    }
                    let r = Double(n) / best
                    modelRows.append(ModelRow(model: String(id.prefix(12)), algorithm: label, inputWidth: w,
                                              batch: b, rowsPerSecond: r, nanosPerRow: 1e9 / r, kernels: Kernels.variant.rawValue))
                    mtable.add([String(id.prefix(12)), label, "\(w)", Kernels.variant.rawValue, "\(b)", Fmt.count(r), String(format: "%.0f", 1e9 / r)])
                }
            }
            // Reason-code attributions, one row per call (what the daemon does per applicant).
            let cn = 2048
            let scratch = m.makeScratch(maxRows: 1)
            var phi = [Float](repeating: 0, count: w)
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = cpuSeconds()
                x.withUnsafeBufferPointer { xb in
                    phi.withUnsafeMutableBufferPointer { pb in
                        for r in 0..<cn { _ = m.contributions(UnsafeBufferPointer(rebasing: xb[(r * w)..<((r + 1) * w)]), pb, scratch: scratch) }
                    }
                }
                best = min(best, cpuSeconds() - t0)
            }
            contribRows.append(ContributionRow(model: String(id.prefix(12)), algorithm: artifact.model.algorithm, nanosPerRow: best / Double(cn) * 1e9))
            ctable.add([String(id.prefix(12)), artifact.model.algorithm, String(format: "%.0f", best / Double(cn) * 1e9)])
            // As the daemon does: logits of a batch of 1024, then contributions of its rows
            // (a GBDT model reuses the leaves its logits recorded). A GBDT model is also timed
            // with path adds instead of its per-leaf table (the evaluator before issue 16).
            typealias Contrib = (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, ModelScratch) -> Void
            var afterVariants: [(String, Contrib)] = [("\(artifact.model.algorithm) (rows of the last logits batch)",
                                                       { _ = m.contributions($0, $1, scratch: $2) })]
            if let gb = m as? GBDTModel, gb.usesLeafAttributionTable {
                afterVariants.append(("gbdt (path adds, rows of the last logits batch)", { _ = gb.pathContributions($0, $1, scratch: $2) }))
            }
            for (label, contrib) in afterVariants {
                let bs = m.makeScratch(maxRows: 1024)
                var lo = [Float](repeating: 0, count: 1024)
                var bestAfter = Double.infinity
                for _ in 0..<5 {
                    var spent = 0.0
                    x.withUnsafeBufferPointer { xb in
                        lo.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: 0..<1024, scratch: bs) }
                        let t0 = cpuSeconds()
                        phi.withUnsafeMutableBufferPointer { pb in
                            for r in 0..<1024 { contrib(UnsafeBufferPointer(rebasing: xb[(r * w)..<((r + 1) * w)]), pb, bs) }
                        }
                        spent = cpuSeconds() - t0
                    }
                    bestAfter = min(bestAfter, spent)
                }
                contribRows.append(ContributionRow(model: String(id.prefix(12)), algorithm: label, nanosPerRow: bestAfter / 1024 * 1e9))
                ctable.add([String(id.prefix(12)), label, String(format: "%.0f", bestAfter / 1024 * 1e9)])
            }
            if let gb = m as? GBDTModel {
                // The node-array walk (allocates its result array; the evaluator before the compiled layout).
                var bestWalk = Double.infinity
                for _ in 0..<5 {
                    let t0 = cpuSeconds()
                    x.withUnsafeBufferPointer { xb in
                        for r in 0..<cn { _ = gb.walkContributionsDouble(UnsafeBufferPointer(rebasing: xb[(r * w)..<((r + 1) * w)])) }
                    }
                    bestWalk = min(bestWalk, cpuSeconds() - t0)
                }
                let label = "gbdt (node-array walk)"
                contribRows.append(ContributionRow(model: String(id.prefix(12)), algorithm: label, nanosPerRow: bestWalk / Double(cn) * 1e9))
                ctable.add([String(id.prefix(12)), label, String(format: "%.0f", bestWalk / Double(cn) * 1e9)])
            }
        }

        let report = KernelReport(layers: sizes, openblas: blas?.config, dispatch: Kernels.summary, forward: rows, models: modelRows,
                                  contributions: contribRows.isEmpty ? nil : contribRows)
        try prettyJSON(report).write(toFile: outJSON, atomically: true, encoding: .utf8)
        var md = "MLP forward \(sizes.map(String.init).joined(separator: "-")) (ReLU), rows/s, thread CPU time, best of 5, \(totalRows) rows per pass; OpenBLAS: \(blas?.config ?? "not installed"), \(openblasThreads) thread(s). CreditCore kernels: each copy forced (`portable` = SSE2 baseline, `haswell` = AVX2+FMA; docs/matrix-core.md); this process's dispatch: \(Kernels.summary).\n\n" + table.text
        if !modelRows.isEmpty {
            md += "\n`LogitModel.logits` of the trained artifacts by batch (seeded random inputs of the model's width, thread CPU time, best of 5; kernels as dispatched: \(Kernels.variant.rawValue)):\n\n" + mtable.text
            md += "\n`LogitModel.contributions` (reason-code attributions, one row per call, 2,048 rows, best of 5):\n\n" + ctable.text
        }
        try md.write(toFile: outMD, atomically: true, encoding: .utf8)
    }
}
