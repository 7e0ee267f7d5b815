import CreditCore
import CreditModels
import Foundation
import Testing

/// Issue 15, small books: the registered gbdt learner switches to `GBDTLearner.smallBook` under
/// 5,000 training rows (docs/models.md, "Small books"), and a refit after cross-validation keeps
/// the rounds it was given.
@Suite struct SmallBookTests {
    static func gbdt(_ m: TrainedModel) throws -> GBDTModel { try #require(m.model as? GBDTModel) }

    @Test func smallBookKeepsTheShrinkageBudgetOfItsFormerSetting() {
        // η 0.01 with the rounds cap and the patience scaled from η 0.03, 1000 rounds, patience 50.
        let p = GBDTLearner.smallBook(GBDTParameters())
        #expect(p.learningRate == 0.01)
        #expect(abs(p.learningRate * Double(p.maxRounds) - 0.03 * 1000) < 1e-9)
        #expect(abs(p.learningRate * Double(p.earlyStoppingRounds) - 0.03 * 50) < 1e-9)
        #expect(p.maxDepth == 4 && p.maxLeaves == 16 && p.minDataInLeaf == 10 && p.lambda == 5)
        #expect(p.treeShape == nil && p.levelScore == nil)
        // A tiny book: the same, with oblivious trees scored by the cosine unless a shape was chosen.
        var tiny = GBDTLearner.tinyBook(GBDTParameters())
        #expect(tiny.treeShape == .oblivious && tiny.levelScore == .cosine)
        tiny.treeShape = nil; tiny.levelScore = nil
        #expect(tiny == p)
        var lossGuided = GBDTParameters()
        lossGuided.treeShape = .lossGuided
        #expect(GBDTLearner.tinyBook(lossGuided).treeShape == .lossGuided && GBDTLearner.tinyBook(lossGuided).levelScore == nil)
    }

    @Test func theBooksRowsDecideTheSettingForEveryFoldAndTheRefit() {
        let learner = GBDTLearner(smallBookRows: 5_000, tinyBookRows: 1_000)
        #expect(learner.parameters(forRows: 700) == GBDTLearner.tinyBook(GBDTParameters()))
        #expect(learner.parameters(forRows: 1_400) == GBDTLearner.smallBook(GBDTParameters()))
        #expect(learner.parameters(forRows: 27_000) == GBDTParameters())
        // A 1,100-row book: its 5 fold models see 880 rows, its refit 1,100; both the small-book
        // setting (before, the folds took the tiny one and chose rounds for another learner).
        let book = learner.forBook(rows: 1_100)
        #expect(book.parameters(forRows: 880) == GBDTLearner.smallBook(GBDTParameters()))
        #expect(book.fixingRounds(300).parameters(forRows: 1_100).treeShape == nil)
        // A 5,500-row book: folds of 4,400 rows would have taken η 0.01 and the refit η 0.1.
        let big = learner.forBook(rows: 5_500)
        #expect(big.parameters(forRows: 4_400) == GBDTParameters())
    }

    @Test func registeredLearnerUsesTheSmallBookSettingOnlyBelowItsRowLimit() throws {
        let entry = try #require(Algorithms.named("gbdt"))
        let train = gbdtSynthetic(rows: 600, seed: 3), valid = gbdtSynthetic(rows: 200, seed: 4)
        let registered = try Self.gbdt(entry.fit(train: train, validation: valid, seed: 7) { _ in })
        let small = try GBDTLearner(parameters: GBDTLearner.tinyBook(GBDTParameters())).fit(train: train, validation: valid, seed: 7) { _ in }
        let plain = try GBDTLearner().fit(train: train, validation: valid, seed: 7) { _ in }
        #expect(registered == small)
        #expect(registered != plain)
        #expect(registered.treeShape == .oblivious && plain.treeShape == .lossGuided)
        // Early stopping ends the small-book fit well before its cap of 3,000 rounds.
        #expect(small.treeRoots.count > 50 && small.treeRoots.count < 3_000)
        // At 5,000 rows and above the defaults apply.
        let big = gbdtSynthetic(rows: 5_000, seed: 5)
        let bigRegistered = try Self.gbdt(entry.fit(train: big, validation: valid, seed: 7) { _ in })
        let bigPlain = try GBDTLearner().fit(train: big, validation: valid, seed: 7) { _ in }
        #expect(bigRegistered == bigPlain)
    }

    @Test func aRefitKeepsItsRoundsUnderTheSmallBookSetting() throws {
        // smallBook sets its own rounds cap; the refit after cross-validation must still grow
        // exactly the rounds the folds chose (no validation set, so nothing stops it earlier).
        let entry = try #require(Algorithms.named("gbdt"))
        let train = gbdtSynthetic(rows: 600, seed: 3)
        let refit = try Self.gbdt(entry.fixingRounds(37).fit(train: train, validation: nil, seed: 7) { _ in })
        #expect(refit.treeRoots.count == 37)
        let learner = GBDTLearner(smallBookRows: 5_000).fixingRounds(120)
        #expect(learner.fixedRounds == 120)
        let fixed = try learner.fit(train: train, validation: nil, seed: 7) { _ in }
        #expect(fixed.treeRoots.count == 120)
    }
}
