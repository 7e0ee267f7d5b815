import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issue 3's quality bar for the gradient-boosted trees, through the real pipeline (restore →
/// spec query → cleaning → native preprocessing fitted on the fit rows → GBDTLearner with its
/// default hyperparameters → threshold on validation for precision >= 0.80 → test metrics).
@Suite("GBDT quality on the loan book", .serialized)
struct GBDTQualityTests {
    static func timed(_ body: () throws -> TrainingOutcome) rethrows -> (TrainingOutcome, Double) {
        let clock = ContinuousClock()
        var outcome: TrainingOutcome?
        let d = try clock.measure { outcome = try body() }
        return (outcome!, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    @Test("anchor protocol: test AUC >= 0.940, precision >= 0.80, recall >= 0.78")
    func anchor() throws {
        let (outcome, seconds) = try Self.timed { try SharedLoanBook.anchorTraining(algorithm: "gbdt") }
        let t = outcome.artifact.training
        #expect(t.fitRows + t.validationRows == 27_313)
        let test = try #require(outcome.test)
        #expect(test.rows == 6_829)
        print(String(format: "GBDT anchor: AUC %.4f precision %.4f recall %.4f (pipeline incl. training %.1f s)",
                     test.rocAUC, test.precision, test.recall, seconds))
        #expect(test.rocAUC >= 0.940)
        #expect(test.precision >= 0.80)
        #expect(test.recall >= 0.78)
    }

    /// Five split seeds of all labelled rows (stratified 20 % test, 20 % of the rest validation).
    ///
    /// The criterion: precision >= 0.80 and recall >= 0.75 on at least four of five
    /// splits. Training is deterministic, so the count is reproducible; but note that at a
    /// threshold chosen on validation for precision 0.80, test precision is 0.80 plus sampling
    /// noise (sd ≈ 0.016 with ~1,200 validation and ~1,500 test defaults) for any model: a
    /// change in cleaning or learning can move a split across 0.80 by chance. The test also
    /// asserts what a good model controls on every split: AUC, recall, and precision within
    /// ~1.5 sd of the target.
    @Test("five split seeds: precision >= 0.80 and recall >= 0.75 on at least four")
    func fiveSeeds() throws {
        let book = try SharedLoanBook.book()
        var passes = 0
        var precisions = [Double]()
        for seed in UInt64(1)...5 {
            var o = TrainingOptions()
            o.algorithm = "gbdt"
            o.seed = seed
            o.validationFraction = 0.2
            o.testFraction = 0.2
            o.threshold = .minPrecision(0.80)
            let (outcome, seconds) = try Self.timed { try Trainer.train(raw: book.raw, spec: book.spec, options: o) }
            let test = try #require(outcome.test)
            print(String(format: "GBDT split seed %d: AUC %.4f precision %.4f recall %.4f (%.1f s)",
                         seed, test.rocAUC, test.precision, test.recall, seconds))
            #expect(test.rocAUC >= 0.935, "seed \(seed)")
            #expect(test.recall >= 0.75, "seed \(seed)")
            #expect(test.precision >= 0.775, "seed \(seed)")
            precisions.append(test.precision)
            if test.precision >= 0.80 && test.recall >= 0.75 { passes += 1 }
        }
        let mean = precisions.reduce(0, +) / 5
        print("GBDT five splits: \(passes) of 5 reach precision >= 0.80 and recall >= 0.75; mean precision \(mean)")
        #expect(mean >= 0.79)
        #expect(passes >= 4)
    }
}
