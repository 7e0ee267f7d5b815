import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing
import CMallocCounter

/// Heap allocations (malloc/calloc/realloc calls: every Swift array, string, class
/// instance, closure context and box goes through malloc) made by the calling thread while
/// `body` runs, counted by the test-only `CMallocCounter` target.
enum MallocCounter {
    static func count(_ body: () -> Void) -> Int {
        credit_malloc_count_begin()
        body()
        return credit_malloc_count_end()
    }
}

@Suite struct SessionAllocationTests {
    @Test func counterSeesAllocations() {
        var keep: [[Int]] = []
        let n = MallocCounter.count {
            for i in 0..<10 { keep.append([Int](repeating: i, count: 100)) }
        }
        #expect(n >= 10, "counted \(n)")
        #expect(keep.count == 10)
    }

    /// After one warm-up batch, scoring a batch (64 rows and 1 row) through the category-code
    /// path and streaming every row's reasons makes no Swift heap allocation, for each
    /// model family (gbdt also with oblivious trees, which take their own kernel).
    @Test(arguments: ["logistic", "mlp", "gbdt", "gbdt-oblivious"])
    func sessionPathAllocatesNothingAfterWarmUp(algorithm: String) throws {
        var o = TrainingOptions()
        o.algorithm = algorithm == "gbdt-oblivious" ? "gbdt" : algorithm
        if algorithm == "gbdt-oblivious" { o.gbdtTreeShape = .oblivious }
        o.seed = 7
        o.validationFraction = 0.2
        let outcome = try Trainer.train(raw: Synthetic.table(rows: 1500, seed: 99), spec: Synthetic.spec, options: o)
        let model = try ScoringModel(artifact: outcome.artifact, modelID: outcome.modelID)
        if algorithm == "gbdt-oblivious" {
            #expect((outcome.artifact.model.model as? GBDTModel)?.usesObliviousEvaluator == true)
        }
        let rows = 64
        let t = Synthetic.table(rows: rows, seed: 21, missingRate: 0.05)
        let num = model.plan.numericFeatures.map { n in t.column(named: n)!.numericValues!.map { $0 ?? .nan } }
        let codes: [[Int32]] = model.plan.categoricalFeatures.map { name in
            let f = model.inputFields.firstIndex { $0.name == name }!
            let list = model.inputFields[f].categories!
            return t.column(named: name)!.categoricalValues!.map { v in v.map { s in list.firstIndex(of: s).map { model.categoryCodes[f][$0] } ?? -2 } ?? -1 }
        }
        let expected = try model.score(t)
        let session = model.makeSession(maxRows: rows)
        var sum = 0.0, reasons = 0, textBytes = 0
        let (batch, single) = num.withUnsafeBufferPointers { numBuffers in
            codes.withUnsafeBufferPointers { codeBuffers in
                func run(_ n: Int) {
                    session.score(numeric: numBuffers, categoryCodes: codeBuffers, rows: n)
                    for r in 0..<n {
                        sum += session.probability(r)
                        session.forEachReason(r) { f, text, c in reasons += 1; textBytes += text.utf8.count; sum += c + Double(f) }
                    }
                }
                run(rows)   // warm-up
                let batch = MallocCounter.count { run(rows) }
                let single = MallocCounter.count { run(1) }
                run(rows)   // leave the full batch in the session for the check below
                return (batch, single)
            }
        }
        #expect(batch == 0, "\(algorithm): \(batch) allocations for a batch of \(rows)")
        #expect(single == 0, "\(algorithm): \(single) allocations for one applicant")
        #expect(reasons > 0 && textBytes > 0 && sum.isFinite)
        // The session still answers what the table path answers.
        for r in 0..<rows {
            guard let s = expected[r].score else { continue }
            #expect(session.probability(r).bitPattern == s.probability.bitPattern)
            #expect(session.reasons(r).map(\.feature) == s.reasons.map(\.feature))
        }
    }
}
