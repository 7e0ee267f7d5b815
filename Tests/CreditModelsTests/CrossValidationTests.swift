import CreditCore
import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issue 15: stratified seeded k-fold cross-validation, the one-standard-error rule, the refit on
/// all training rows, and a min-precision threshold with a Wilson margin.
@Suite struct CrossValidationTests {
    @Test func foldsAreStratifiedBalancedAndSeeded() throws {
        var g = SplitMix64(seed: 4)
        let labels = (0..<1003).map { _ in g.uniform() < 0.22 }
        let folds = try stratifiedFolds(labels: labels, k: 5, seed: 42)
        #expect(folds.count == labels.count && folds.allSatisfy { (0..<5).contains($0) })
        let pos = labels.filter { $0 }.count
        for k in 0..<5 {
            let rows = folds.indices.filter { folds[$0] == k }
            #expect(abs(rows.count - labels.count / 5) <= 1)
            #expect(abs(rows.filter { labels[$0] }.count - pos / 5) <= 1)
        }
        #expect(try stratifiedFolds(labels: labels, k: 5, seed: 42) == folds)
        #expect(try stratifiedFolds(labels: labels, k: 5, seed: 43) != folds)
        #expect(throws: SplitError.self) { try stratifiedFolds(labels: [true, false, false, false], k: 2, seed: 1) }
        #expect(defaultFolds(rows: 700) == 10 && defaultFolds(rows: 5_000) == 5 && defaultFolds(rows: 27_313) == 5)
    }

    @Test func oneStandardErrorRulePrefersTheSimplerModelWithinOneError() {
        func result(_ name: String, _ aucs: [Double]) -> CrossValidationResult {
            CrossValidationResult(algorithm: name, outOfFold: [], foldAUC: aucs, foldRounds: [], fitSeconds: 0)
        }
        let complexity = ["logistic": 1, "gbdt": 2, "mlp": 3]
        // gbdt best; logistic's fold differences straddle 0 (mean 0.002, paired error 0.006) → logistic.
        let close = [result("mlp", [0.79, 0.80, 0.78]), result("gbdt", [0.79, 0.81, 0.80]), result("logistic", [0.80, 0.80, 0.794])]
        #expect(oneStandardErrorChoice(close) { complexity[$0]! } == 2)
        // logistic far below → the best.
        let far = [result("logistic", [0.70, 0.71, 0.70]), result("mlp", [0.80, 0.79, 0.805]), result("gbdt", [0.85, 0.86, 0.855])]
        #expect(oneStandardErrorChoice(far) { complexity[$0]! } == 2)
        // Hard and easy folds move both models alike (fold AUCs 0.75-0.95, the best's own error
        // 0.035), but gbdt wins every fold by 0.015-0.025: the paired error (0.0016) keeps gbdt,
        // where the best model's own error would have taken logistic 0.02 below it.
        let gbdt = [0.95, 0.85, 0.75, 0.90, 0.80]
        let logistic = zip(gbdt, [0.02, 0.025, 0.015, 0.02, 0.02]).map { $0 - $1 }
        let sameFolds = [result("logistic", logistic), result("gbdt", gbdt)]
        #expect(sameFolds[1].meanAUC - sameFolds[0].meanAUC < sameFolds[1].standardError)
        #expect(oneStandardErrorChoice(sameFolds) { complexity[$0]! } == 1)
        // A validation slice (one "fold", no error): the best, ties to the simpler.
        #expect(oneStandardErrorChoice([result("logistic", [0.80]), result("gbdt", [0.81])]) { complexity[$0]! } == 1)
        #expect(oneStandardErrorChoice([result("logistic", [0.81]), result("gbdt", [0.81])]) { complexity[$0]! } == 0)
    }

    @Test func wilsonLowerBoundAndTheThresholdMargin() {
        // Wilson score interval, one-sided 95 % (z = 1.6448536269514722), 80 of 100.
        let z = 1.6448536269514722, n = 100.0, p = 0.8
        let reference = (p + z * z / (2 * n) - z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / (1 + z * z / n)
        #expect(abs(wilsonLowerBound(successes: 80, trials: 100, confidence: 0.95) - reference) < 1e-9)
        #expect(wilsonLowerBound(successes: 80, trials: 100, confidence: 0) == 0.8)
        #expect(wilsonLowerBound(successes: 800, trials: 1000, confidence: 0.95) > reference)   // more rows, less margin
        // A margin refuses more: a higher threshold, a lower recall, the bound itself >= P.
        var g = SplitMix64(seed: 9)
        let labels = (0..<4000).map { _ in g.uniform() < 0.25 }
        let probs = labels.map { min(1, max(0, ($0 ? 0.7 : 0.3) + 0.15 * g.normal())) }
        let plain = chooseThreshold(probabilities: probs, labels: labels, rule: .minPrecision(0.8))
        let margin = chooseThreshold(probabilities: probs, labels: labels, rule: .minPrecision(0.8), confidence: 0.95)
        #expect(plain.satisfied && margin.satisfied)
        #expect(margin.threshold > plain.threshold && margin.recall < plain.recall)
        #expect(margin.precisionLowerBound! >= 0.8 && margin.precisionLowerBound! < margin.precision)
        #expect(plain.precisionLowerBound == plain.precision)   // confidence 0: the point estimate
        #expect(margin.confidence == 0.95 && margin.rows == 4000)
    }

    @Test func aSmallBookTrainsWithoutAHoldoutAndIsRefitOnEveryTrainingRow() throws {
        let raw = Synthetic.table(rows: 800, seed: 12)
        var o = TrainingOptions()
        o.algorithm = "gbdt"
        o.testFraction = 0.3
        o.threshold = .minPrecision(0.6)
        let out = try Trainer.train(raw: raw, spec: Synthetic.spec, options: o)
        let t = out.artifact.training
        #expect(t.validationRows == 0 && t.fitRows == 560 && t.testRows == 240)
        let cv = try #require(t.crossValidation)
        #expect(cv.folds == 10 && cv.foldROCAUC.count == 10)
        #expect(abs(cv.rocAUCMean - cv.foldROCAUC.reduce(0, +) / 10) < 1e-12 && cv.rocAUCSD > 0)
        // Every training row has an out-of-fold prediction; the threshold was chosen on them.
        let oof = try #require(out.outOfFold)
        #expect(oof.count == 560 && oof.allSatisfy { $0.isFinite })
        #expect(out.artifact.threshold.chosenOn == "out_of_fold" && out.artifact.threshold.rows == 560)
        #expect(out.validation.rows == 560)
        // The refit has exactly the rounds cross-validation chose.
        let model = try #require(out.artifact.model.model as? GBDTModel)
        #expect(cv.rounds == model.treeRoots.count)
        // Same command, same bytes.
        #expect(try Trainer.train(raw: raw, spec: Synthetic.spec, options: o).modelID == out.modelID)
        // A fixed validation slice stays available.
        o.validationFraction = 0.2
        let slice = try Trainer.train(raw: raw, spec: Synthetic.spec, options: o)
        #expect(slice.artifact.training.crossValidation == nil && slice.artifact.training.validationRows == 160)
        #expect(slice.artifact.threshold.chosenOn == "validation")
    }

    @Test func commandLineReportsCrossValidationBesideTest() throws {
        let dir = temporaryPath("cv-cli")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = "\(dir)/book.csv", spec = "\(dir)/spec.json", metrics = "\(dir)/m.json"
        try Synthetic.csv(Synthetic.table(rows: 900, seed: 8)).write(toFile: data, atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: spec))
        let both = try CLITests.credit(["train", "--data", "csv:\(data)", "--spec", spec, "--cv", "4", "--validation", "0.2",
                                        "--out", "\(dir)/m.credit"])
        #expect(both.status != 0 && both.stderr.contains("--cv and --validation"), "\(both.stderr)")
        let run = try CLITests.credit(["train", "--data", "csv:\(data)", "--spec", spec, "--algorithm", "logistic", "--cv", "4",
                                       "--min-precision", "0.6", "--out", "\(dir)/m.credit", "--metrics", metrics])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("out-of-fold: rows 720") && run.stdout.contains("test: rows 180"), "\(run.stdout)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as? [String: Any])
        let cv = try #require(json["cross_validation"] as? [String: Any])
        #expect(cv["folds"] as? Int == 4 && (cv["fold_roc_auc"] as? [Double])?.count == 4 && cv["roc_auc_sd"] is Double)
        #expect((json["out_of_fold"] as? [String: Any])?["rows"] as? Int == 720)
        #expect((json["test"] as? [String: Any])?["rows"] as? Int == 180)
        let threshold = try #require(json["threshold"] as? [String: Any])
        #expect(threshold["chosen_on"] as? String == "out_of_fold" && threshold["confidence"] as? Double == 0.95)
        #expect((threshold["rule"] as? [String: Any])?["min_precision"] as? Double == 0.6)
    }
}
