import CreditCore
import CreditTestSupport
import Foundation
import Testing

/// The run-time kernel dispatch end to end: `credit train --algorithm mlp` in fresh processes
/// with `CREDIT_KERNELS` set (docs/matrix-core.md, "Run-time dispatch").
@Suite struct KernelDispatchCLITests {
    static func train(_ dir: String, kernels: String) throws -> (id: String, stderr: String) {
        let r = try run(CLITests.creditBinary.path,
                        ["train", "--data", "csv:\(dir)/train.csv", "--spec", "\(dir)/spec.json", "--algorithm", "mlp",
                         "--out", "\(dir)/\(kernels).credit", "--seed", "3"],
                        environment: [Kernels.environmentVariable: kernels])
        let o = r.stdout, e = r.stderr
        #expect(r.status == 0, "train (\(kernels)) failed: \(e)")
        let line = try #require(o.split(separator: "\n").first { $0.hasPrefix("model ") }, "no model line in: \(o)")
        return (String(line.split(separator: " ")[1]), e)
    }

    @Test func overrideReachesTrainingAndEachCopyIsDeterministic() throws {
        #expect(FileManager.default.isExecutableFile(atPath: CLITests.creditBinary.path))
        let dir = temporaryPath("kernels-cli")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Synthetic.csv(Synthetic.table(rows: 1500, seed: 4)).write(toFile: "\(dir)/train.csv", atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: "\(dir)/spec.json"))

        let p1 = try Self.train(dir, kernels: "portable")
        let p2 = try Self.train(dir, kernels: "portable")
        #expect(p1.stderr.contains("kernels: portable: forced by CREDIT_KERNELS=portable"), "\(p1.stderr.prefix(300))")
        #expect(p1.id == p2.id, "same data + seed + kernel copy must give the same model id")

        let h = try Self.train(dir, kernels: "haswell")
        if Kernels.isAvailable(.haswell) {
            #expect(h.stderr.contains("kernels: haswell: forced by CREDIT_KERNELS=haswell"), "\(h.stderr.prefix(300))")
            // Fused multiply-adds change the trained weights in the last bits, hence the id.
            #expect(h.id != p1.id, "the haswell copy should have trained with fused multiply-adds")
        } else {
            // A CPU without AVX2+FMA (e.g. a CI machine): the request falls back to portable,
            // with the same bits as the portable runs.
            #expect(h.stderr.contains("kernels: portable: CREDIT_KERNELS=haswell ignored"), "\(h.stderr.prefix(300))")
            #expect(h.id == p1.id)
        }
    }
}
