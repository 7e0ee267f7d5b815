import Foundation
import Testing
@testable import CreditModels

@Suite struct MLPAnchorTests {
    @Test func fixtureMatchesPublishedCounts() throws {
        let book = try MLPFixture.loadLoanBook()
        #expect(book.count == 34_485)
        let labelled = book.filter { $0.label != nil }
        #expect(labelled.count == 34_142)
        #expect(labelled.filter { $0.label == 1 }.count == 7_449)
        #expect(rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
    }

    @Test func anchorProtocolAUC() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let split = try MLPFixture.anchorSplit()
        #expect(split.test.rows == 6_829)
        #expect(split.train.rows + split.validation.rows == 27_313)
        let t1 = clock.now
        let model = try MLPLearner().fit(train: split.train, validation: split.validation, seed: 42) { p in
            if let v = p.validationLoss {
                print("epoch \(p.iteration) train \(p.trainLoss.map { String(format: "%.4f", $0) } ?? "-") val \(String(format: "%.4f", v)) \(p.message ?? "")")
            }
        }
        let t2 = clock.now
        var scores = [Float](repeating: 0, count: split.test.rows)
        let scratch = model.makeScratch(maxRows: 512)
        split.test.x.values.withUnsafeBufferPointer { x in
            scores.withUnsafeMutableBufferPointer { model.logits(x, $0, rows: 0..<split.test.rows, scratch: scratch) }
        }
        let auc = rocAUC(scores: scores, labels: split.test.y)
        print("MLP anchor: test ROC AUC \(String(format: "%.4f", auc)); load+encode \(t1 - t0), fit \(t2 - t1)")
        #expect(auc >= 0.915)
    }
}
