import CreditDomain
@testable import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issues 3 and 15's quality bar for the gradient-boosted trees, through the real pipeline
/// (restore → spec query with the shipped spec's monotone constraints → cleaning → native
/// preprocessing → 5-fold cross-validation (early stopping per fold, out-of-fold predictions)
/// → threshold on the out-of-fold predictions whose precision's 95 % Wilson lower bound is
/// >= 0.80 → refit on all training rows → test metrics).
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
        let (outcome, seconds) = try Self.timed { try SharedLoanBook.anchorTraining(algorithm: "gbdt", validation: nil) }
        let t = outcome.artifact.training
        #expect(t.fitRows == 27_313 && t.validationRows == 0 && t.crossValidation?.folds == 5)
        let test = try #require(outcome.test)
        #expect(test.rows == 6_829)
        print(String(format: "GBDT anchor: AUC %.4f precision %.4f recall %.4f (pipeline incl. training %.1f s)",
                     test.rocAUC, test.precision, test.recall, seconds))
        #expect(test.rocAUC >= 0.940)
        #expect(test.precision >= 0.80)
        #expect(test.recall >= 0.78)

        // Reasons of the refused test applicants: each raised the risk (contribution > 0) and is
        // worded on its feature's adverse side; approved applicants get none.
        let book = try SharedLoanBook.book()
        let model = try ScoringModel(artifact: outcome.artifact, modelID: outcome.modelID)
        let idColumn = try #require(book.raw.column(named: book.spec.id))
        let testRows = (0..<book.raw.rowCount).filter { book.anchorTestIDs.contains(idColumn.text(row: $0)) }
        let results = try model.score(book.raw.selecting(rows: testRows))
        let allowed = Dictionary(uniqueKeysWithValues: model.wording.features.indices.map {
            (model.wording.features[$0].name, Set(model.wording.possibleReasons(feature: $0)))
        })
        var refused = 0, reasons = 0, notRaising = 0, notAdverse = 0, approvedWithReasons = 0
        for r in results {
            guard let s = r.score else { continue }
            if !s.refuse { if !s.reasons.isEmpty { approvedWithReasons += 1 }; continue }
            refused += 1
            for reason in s.reasons {
                reasons += 1
                if !(reason.contribution > 0) { notRaising += 1 }
                if allowed[reason.feature]?.contains(reason.text) != true || ReasonCodeTests.favourable.contains(reason.text) {
                    notAdverse += 1
                    print("not adverse: \(reason.feature): \(reason.text)")
                }
            }
        }
        print("GBDT anchor reasons: \(refused) refused test applicants, \(reasons) reasons, \(notRaising) with contribution <= 0, "
            + "\(notAdverse) not worded on the adverse side; \(approvedWithReasons) approved applicants with reasons")
        #expect(refused > 1_000 && reasons >= refused)
        #expect(notRaising == 0 && notAdverse == 0 && approvedWithReasons == 0)
    }

    /// Five split seeds of all labelled rows, sorted by loan id (stratified 20 % test, seeds 0–4).
    ///
    /// Issue 15's criterion: precision >= 0.80 and recall >= 0.75 on all five. With a threshold
    /// chosen at the point estimate of validation precision (issue 3), test precision was 0.80
    /// plus sampling noise and 4 of 5 splits met it; the Wilson lower bound of the out-of-fold
    /// precision (27k rows, ~6k defaults) leaves a margin for that noise.
    @Test("five split seeds: precision >= 0.80 and recall >= 0.75 on all five")
    func fiveSeeds() throws {
        let book = try SharedLoanBook.book()
        for seed in UInt64(0)...4 {
            var o = TrainingOptions()
            o.algorithm = "gbdt"
            o.seed = seed
            o.testFraction = 0.2
            o.threshold = .minPrecision(0.80)
            let (outcome, seconds) = try Self.timed { try Trainer.train(raw: book.raw, spec: book.spec, options: o) }
            let test = try #require(outcome.test)
            print(String(format: "GBDT split seed %d: AUC %.4f precision %.4f recall %.4f (%.1f s)",
                         seed, test.rocAUC, test.precision, test.recall, seconds))
            #expect(test.rocAUC >= 0.935, "seed \(seed)")
            #expect(test.recall >= 0.75, "seed \(seed)")
            #expect(test.precision >= 0.80, "seed \(seed)")
        }
    }
}
