import CreditCore
import CreditModels
import Foundation
import Testing

@Suite struct MetricsTests {
    let labels: [Bool] = [false, false, true, true]
    let scores = [0.1, 0.4, 0.35, 0.8]

    @Test func rocAUCPerfectReversedRandomAndTied() {
        let y = [false, false, true, true, false, true]
        let perfect = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7]
        #expect(Metrics.rocAUC(scores: perfect, labels: y) == 1)
        #expect(Metrics.rocAUC(scores: perfect.map { -$0 }, labels: y) == 0)
        #expect(Metrics.rocAUC(scores: Array(repeating: 0.5, count: 6), labels: y) == 0.5)
        // Random scores: AUC near 0.5 on many rows.
        var rng = SplitMix64(seed: 7)
        let ry = (0..<20000).map { _ in Bool.random(using: &rng) }
        let rs = (0..<20000).map { _ in Double.random(in: 0..<1, using: &rng) }
        #expect(abs(Metrics.rocAUC(scores: rs, labels: ry) - 0.5) < 0.02)
        #expect(Metrics.rocAUC(scores: [0.1, 0.2], labels: [true, true]).isNaN)
    }

    @Test func rocAUCHandComputedWithTies() {
        #expect(Metrics.rocAUC(scores: scores, labels: labels) == 0.75)
        // pos {0.5, 0.9} vs neg {0.5, 0.5}: 0.9 beats both (2), 0.5 ties both (2 × 0.5) → 3/4.
        #expect(Metrics.rocAUC(scores: [0.5, 0.5, 0.5, 0.9], labels: [false, true, false, true]) == 0.75)
        // Brute-force pair count agrees on a tie-heavy random case.
        var rng = SplitMix64(seed: 3)
        let y = (0..<300).map { _ in Bool.random(using: &rng) }
        let s = (0..<300).map { _ in Double(Int.random(in: 0..<10, using: &rng)) }
        var wins = 0.0, pairs = 0.0
        for i in 0..<300 where y[i] { for j in 0..<300 where !y[j] {
            pairs += 1; wins += s[i] > s[j] ? 1 : (s[i] == s[j] ? 0.5 : 0)
        } }
        #expect(abs(Metrics.rocAUC(scores: s, labels: y) - wins / pairs) < 1e-12)
    }

    @Test func averagePrecisionAndKSHandComputed() {
        // sklearn's documented example: AP = 0.8333...
        #expect(abs(Metrics.averagePrecision(scores: scores, labels: labels) - 5.0 / 6.0) < 1e-12)
        // TPR - FPR: 0.8 → .5-0, 0.4 → .5-.5, 0.35 → 1-.5, 0.1 → 1-1.
        #expect(Metrics.ks(scores: scores, labels: labels) == 0.5)
        #expect(Metrics.averagePrecision(scores: [0.9, 0.1], labels: [true, false]) == 1)
    }

    @Test func brierAndLogLossWithClipping() {
        #expect(abs(Metrics.brier(probabilities: [0.1, 0.9, 0.8], labels: [false, true, false]) - 0.22) < 1e-12)
        let ll = Metrics.logLoss(probabilities: [0.2, 0.7], labels: [false, true])
        #expect(abs(ll - (-(log(0.8) + log(0.7)) / 2)) < 1e-12)
        let clipped = Metrics.logLoss(probabilities: [0, 1], labels: [true, false])
        #expect(clipped.isFinite)
        let eps = Metrics.logLossEpsilon
        #expect(abs(clipped - (-(log(eps) + log(1 - (1 - eps))) / 2)) < 1e-9)
        #expect(clipped > 34 && clipped < 35)
    }

    @Test func confusionPrecisionRecallAndEvaluate() {
        let p = [0.9, 0.6, 0.4, 0.2, 0.5]
        let y = [true, false, true, false, true]
        let m = Metrics.evaluate(probabilities: p, labels: y, threshold: 0.55)
        #expect(m.confusion == ConfusionMatrix(tp: 1, fp: 1, tn: 1, fn: 2))
        #expect(m.precision == 0.5 && abs(m.recall - 1.0 / 3) < 1e-12)
        #expect(abs(m.f1 - 0.4) < 1e-12)
        #expect(m.at0_5.confusion == ConfusionMatrix(tp: 2, fp: 1, tn: 1, fn: 1))   // 0.5 >= 0.5 refuses
        #expect(m.rows == 5 && m.positives == 3)
        #expect(m.calibration.reduce(0) { $0 + $1.rows } == 5)
    }

    @Test func calibrationDecilesAndJSONKeys() throws {
        let p = (0..<100).map { Double($0) / 100 }
        let y = (0..<100).map { $0 % 3 == 0 }
        let m = Metrics.evaluate(probabilities: p, labels: y, threshold: 0.3)
        #expect(m.calibration.count == 10)
        #expect(m.calibration.allSatisfy { $0.rows == 10 })
        #expect(abs(m.calibration[0].meanPredicted - 0.045) < 1e-12)
        let json = try JSONSerialization.jsonObject(with: CreditJSON.encoder().encode(m)) as! [String: Any]
        for key in ["rows", "positives", "roc_auc", "pr_auc", "ks", "brier", "log_loss", "threshold", "precision",
                    "recall", "f1", "confusion", "at_0_5", "calibration"] {
            #expect(json[key] != nil, "missing key \(key)")
        }
        let c = json["confusion"] as! [String: Any]
        #expect(Set(c.keys) == ["tp", "fp", "tn", "fn"])
    }
}

@Suite struct SplitTests {
    let labels: [Bool] = (0..<1000).map { $0 % 9 == 0 || $0 % 7 == 0 }

    @Test func stratifiedProportionsAndCoverage() throws {
        let s = try stratifiedSplit(labels: labels, validation: 0.2, test: 0.2, seed: 1)
        let all = (s.fit + s.validation + s.test).sorted()
        #expect(all == Array(0..<1000))
        let pos = labels.filter { $0 }.count
        func rate(_ rows: [Int]) -> Double { Double(rows.filter { labels[$0] }.count) / Double(rows.count) }
        let overall = Double(pos) / 1000
        for part in [s.fit, s.validation, s.test] { #expect(abs(rate(part) - overall) < 0.01) }
        #expect(abs(s.test.count - 200) <= 1 && abs(s.validation.count - 200) <= 1)
    }

    @Test func deterministicPerSeed() throws {
        let a = try stratifiedSplit(labels: labels, validation: 0.25, test: 0.1, seed: 9)
        let b = try stratifiedSplit(labels: labels, validation: 0.25, test: 0.1, seed: 9)
        let c = try stratifiedSplit(labels: labels, validation: 0.25, test: 0.1, seed: 10)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func zeroTestAndInvalidFractions() throws {
        let s = try stratifiedSplit(labels: labels, validation: 0.3, test: 0, seed: 1)
        #expect(s.test.isEmpty && s.fit.count + s.validation.count == 1000)
        #expect(throws: SplitError.self) { try stratifiedSplit(labels: labels, validation: 0.6, test: 0.5, seed: 1) }
        #expect(throws: SplitError.self) { try stratifiedSplit(labels: labels, validation: -0.1, test: 0, seed: 1) }
    }
}

@Suite struct ThresholdTests {
    let p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    let y = [true, true, false, true, false, false, true, false]

    @Test func minPrecisionPicksHighestRecall() {
        let c = chooseThreshold(probabilities: p, labels: y, rule: .minPrecision(0.75))
        #expect(c.threshold == 0.6 && c.recall == 0.75 && c.precision == 0.75 && c.satisfied)
        let strict = chooseThreshold(probabilities: p, labels: y, rule: .minPrecision(1.0))
        #expect(strict.threshold == 0.8 && strict.recall == 0.5)
        let loose = chooseThreshold(probabilities: p, labels: y, rule: .minPrecision(0.5))
        // Recall 1 at 0.3 (precision 4/7) and at 0.2 (precision 1/2): ties go to the higher threshold.
        #expect(loose.threshold == 0.3 && loose.recall == 1)
    }

    @Test func unreachablePrecisionIsReported() {
        let c = chooseThreshold(probabilities: [0.9, 0.8, 0.1], labels: [false, true, true], rule: .minPrecision(0.9))
        #expect(!c.satisfied)
        #expect(c.precision == 2.0 / 3 && c.threshold == 0.1)
    }

    @Test func costMinimisation() {
        // A = 10 per missed default, B = 1 per refused good: best is refusing p >= 0.3 (cost 3).
        let a = chooseThreshold(probabilities: p, labels: y, rule: .cost(missedDefault: 10, refusedGood: 1))
        #expect(a.threshold == 0.3 && a.expectedCost == 3.0 / 8)
        // A = 1, B = 10: refuse only p >= 0.8 (cost 2: two missed defaults).
        let b = chooseThreshold(probabilities: p, labels: y, rule: .cost(missedDefault: 1, refusedGood: 10))
        #expect(b.threshold == 0.8 && b.expectedCost == 2.0 / 8)
        // Refusing costs more than anything: refuse nobody (threshold above every probability).
        let c = chooseThreshold(probabilities: [0.9, 0.1], labels: [false, true], rule: .cost(missedDefault: 1, refusedGood: 100))
        #expect(c.threshold > 0.9 && c.recall == 0 && c.expectedCost == 0.5)
    }
}
