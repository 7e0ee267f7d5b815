import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

@Suite struct TrainerTests {
    let raw = Synthetic.table(rows: 2000, seed: 31)

    func options(_ edit: (inout TrainingOptions) -> Void) -> TrainingOptions {
        var o = TrainingOptions()
        o.algorithm = "logistic"
        edit(&o)
        return o
    }

    @Test func zeroTestFractionAndExplicitTestIDs() throws {
        let noTest = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { $0.testFraction = 0 })
        #expect(noTest.test == nil)
        #expect(noTest.artifact.training.testRows == 0)
        #expect(noTest.artifact.training.fitRows + noTest.artifact.training.validationRows == 2000)

        let ids = Set((0..<300).map { String(format: "L%06d", $0) })
        let anchored = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options {
            $0.testIDs = ids
            $0.excludeIDs = ["L000000", "L001999"]
        })
        #expect(anchored.test?.rows == 299)   // L000000 excluded
        #expect(anchored.artifact.training.fitRows + anchored.artifact.training.validationRows == 2000 - 300 - 1)
        // Validation keeps the default rate of the remaining rows (stratified).
        let v = anchored.validation
        #expect(abs(Double(v.positives) / Double(v.rows) - Double(anchored.artifact.training.positives) / Double(anchored.artifact.training.fitRows)) < 0.01)
    }

    @Test func fingerprintFollowsTheTrainingRows() throws {
        let a = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { _ in })
        let again = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { _ in })
        #expect(a.artifact.training.dataFingerprint == again.artifact.training.dataFingerprint)
        // Same labels → same split; one feature changed on every row → another fingerprint.
        var changed = raw
        changed.replace(.numeric("loan_amnt", changed.column(named: "loan_amnt")!.numericValues!.map { $0.map { $0 + 1 } }))
        let b = try Trainer.train(raw: changed, spec: Synthetic.spec, options: options { _ in })
        #expect(a.artifact.training.dataFingerprint != b.artifact.training.dataFingerprint)
        // Another seed → other fit/validation rows → another fingerprint.
        let c = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { $0.seed = 5 })
        #expect(a.artifact.training.dataFingerprint != c.artifact.training.dataFingerprint)
    }

    @Test func autoKeepsTheBestAndUnknownAlgorithmIsRejected() throws {
        let auto = try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { $0.algorithm = "auto" })
        #expect(auto.leaderboard.count == Algorithms.all.count)
        let best = auto.leaderboard.max { $0.validationAUC < $1.validationAUC }!
        #expect(auto.artifact.model.algorithm == best.algorithm)
        #expect(throws: TrainingError.self) {
            try Trainer.train(raw: raw, spec: Synthetic.spec, options: options { $0.algorithm = "svm" })
        }
    }
}
