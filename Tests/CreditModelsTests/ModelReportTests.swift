import CreditDomain
import CreditModels
import CreditTestSupport
import Foundation
import Testing

/// The model report: curves, histogram, trade-off and confusion from known scores; the
/// report a training stores in the artifact, and artifacts without one.
@Suite struct ModelReportTests {
    // Four defaults and six goods with known scores (one tie across the classes at 0.6).
    let p: [Double] = [0.9, 0.8, 0.6, 0.3, 0.6, 0.5, 0.4, 0.2, 0.1, 0.05]
    let y: [Bool] = [true, true, true, true, false, false, false, false, false, false]

    @Test func curvesFromKnownScores() {
        let r = ModelReport.compute(dataset: "t", probabilities: p, labels: y, threshold: 0.55,
                                    rule: .cost(missedDefault: 5, refusedGood: 1), importance: [], distributions: [])
        #expect(r.rows == 10 && r.positives == 4)
        // ROC: (0,0), then one point per distinct score from the top.
        #expect(r.roc.count == 10)   // 9 distinct scores + origin
        #expect(r.roc[0].x == 0 && r.roc[0].y == 0)
        #expect(r.roc[1].y == 0.25 && r.roc[1].x == 0)            // 0.9
        #expect(r.roc[3].y == 0.75 && r.roc[3].x == 1.0 / 6)       // 0.6: one default and one good
        #expect(r.roc.last!.x == 1 && r.roc.last!.y == 1)
        // Precision–recall at 0.6: tp 3, fp 1.
        #expect(r.precisionRecall[2].x == 0.75 && r.precisionRecall[2].y == 0.75)
        // Confusion at 0.55: tp 3 (0.9, 0.8, 0.6), fp 1 (0.6), fn 1, tn 5.
        #expect(r.confusion == ConfusionMatrix(tp: 3, fp: 1, tn: 5, fn: 1))
        // Histogram: 20 bins over [0, 1], every row once, by class.
        #expect(r.scoreEdges.count == 21 && r.scoreDefaults.count == 20)
        #expect(r.scoreDefaults.reduce(0, +) == 4 && r.scoreGoods.reduce(0, +) == 6)
        #expect(r.scoreDefaults[18] == 1 && r.scoreGoods[12] == 1)   // 0.9 and 0.6
        // Trade-off: 51 thresholds; at 0 everyone is refused (cost 6 goods × 1 / 10 rows).
        #expect(r.tradeoff.count == 51)
        #expect(r.tradeoff[0].recall == 1 && r.tradeoff[0].precision == 0.4 && r.tradeoff[0].cost == 0.6)
        // At 1 nobody is refused: 4 defaults approved × 5 / 10.
        #expect(r.tradeoff[50].recall == 0 && r.tradeoff[50].cost == 2.0)
        #expect(r.costMissedDefault == 5 && r.costRefusedGood == 1)
        #expect(r.calibration.count == 10)
    }

    @Test func curvesAreThinnedWithTheirEnds() {
        var p: [Double] = [], y: [Bool] = []
        for i in 0..<5000 { p.append(Double(i) / 5000); y.append(i % 3 == 0) }
        let r = ModelReport.compute(dataset: "t", probabilities: p, labels: y, threshold: 0.5, rule: .fixed(0.5),
                                    importance: [], distributions: [])
        #expect(r.roc.count == ModelReport.maxCurvePoints)
        #expect(r.precisionRecall.count == ModelReport.maxCurvePoints - 1)
        #expect(r.roc.last!.x == 1 && r.roc.last!.y == 1)
        #expect(zip(r.roc, r.roc.dropFirst()).allSatisfy { $0.x <= $1.x && $0.y <= $1.y })
        #expect(r.costMissedDefault == 1 && r.costRefusedGood == 1)
    }

    @Test func trainingStoresTheReportAndOldArtifactsStillLoad() throws {
        var o = TrainingOptions()
        o.algorithm = "logistic"
        o.threshold = .minPrecision(0.5)
        let out = try Trainer.train(raw: Synthetic.table(rows: 1500, seed: 7), spec: Synthetic.spec, options: o)
        let report = try #require(out.artifact.report)
        #expect(report.dataset == (out.artifact.threshold.chosenOn ?? "validation") && report.rows == out.validation.rows)
        #expect(report.threshold == out.artifact.threshold.threshold)
        #expect(report.confusion == out.validation.confusion)
        let names = out.artifact.preprocessor.features.map(\.name)
        #expect(Set(report.importance.map(\.feature)) == Set(names))
        #expect(report.importance.first!.meanAbsContribution > 0)
        #expect(report.distributions.map(\.name) == names)
        for d in report.distributions {
            #expect(d.fractions.count == d.binCount)
            #expect(abs(d.fractions.reduce(0, +) - 1) < 1e-9, "\(d.name)")
        }
        // Round trip through the file: the report comes back equal.
        let back = try ModelArtifact.decode(out.fileData)
        #expect(back.artifact.report == report && back.modelID == out.modelID)
        // An artifact without the section (written before it existed) loads, and its bytes
        // and id do not depend on the new field.
        var old = out.artifact
        old.report = nil
        let (data, id) = try old.fileData()
        #expect(!String(decoding: data, as: UTF8.self).contains("\"report\""))
        let loaded = try ModelArtifact.decode(data)
        #expect(loaded.artifact.report == nil && loaded.modelID == id && id != out.modelID)
        #expect(ModelReportDocument(artifact: loaded.artifact, modelID: id) == nil)
        let doc = try #require(ModelReportDocument(artifact: back.artifact, modelID: back.modelID))
        let json = try JSONSerialization.jsonObject(with: try doc.json()) as! [String: Any]
        #expect(json["model_id"] as? String == out.modelID)
        #expect((json["report"] as? [String: Any])?["roc"] is [Any])
    }
}
