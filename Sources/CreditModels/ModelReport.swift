import CreditDomain
import Foundation

/// One point of a curve: ROC (x = false positive rate, y = true positive rate) or
/// precision–recall (x = recall, y = precision), reached by refusing `p >= threshold`.
public struct CurvePoint: Codable, Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var threshold: Double
}

/// Precision, recall and cost of refusing `p >= threshold` (cost per row: `missed_default` per
/// default approved plus `refused_good` per good applicant refused).
public struct TradeoffPoint: Codable, Sendable, Equatable {
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var cost: Double
}

/// Mean absolute contribution of one feature to the log-odds (its reason-code weight).
public struct FeatureImportance: Codable, Sendable, Equatable {
    public var feature: String
    public var meanAbsContribution: Double

    enum CodingKeys: String, CodingKey { case feature, meanAbsContribution = "mean_abs_contribution" }
}

/// What a model does on a labelled set, for people: the curves, the trade-off around the
/// chosen threshold, the confusion matrix, feature importance, and the training distribution
/// of every feature (the reference for drift). `credit train` computes it on the validation
/// rows and stores it in the artifact (`report`, optional: older artifacts have none);
/// `credit report` computes it on other data. Everything is drawn from these numbers: the
/// offline HTML, `GET /v1/model/report` and the web page.
public struct ModelReport: Codable, Sendable, Equatable {
    /// Which rows: "validation" at training, else the data location given.
    public var dataset: String
    public var rows: Int
    public var positives: Int
    public var threshold: Double
    /// The cost weights of the trade-off chart (the cost rule's, else 1 and 1: the error count).
    public var costMissedDefault: Double
    public var costRefusedGood: Double
    public var roc: [CurvePoint]
    public var precisionRecall: [CurvePoint]
    public var calibration: [CalibrationBin]
    /// Score histogram by class: `scoreEdges` (bins + 1 edges over [0, 1]), rows per bin.
    public var scoreEdges: [Double]
    public var scoreDefaults: [Int]
    public var scoreGoods: [Int]
    public var tradeoff: [TradeoffPoint]
    public var confusion: ConfusionMatrix
    public var importance: [FeatureImportance]
    /// Training (fit rows) distribution of each feature, in schema order.
    public var distributions: [FeatureDistribution]

    enum CodingKeys: String, CodingKey {
        case dataset, rows, positives, threshold
        case costMissedDefault = "cost_missed_default", costRefusedGood = "cost_refused_good"
        case roc, precisionRecall = "precision_recall", calibration
        case scoreEdges = "score_edges", scoreDefaults = "score_defaults", scoreGoods = "score_goods"
        case tradeoff, confusion, importance, distributions
    }

    /// Most points kept on the ROC and precision–recall curves (evenly through the sweep).
    public static let maxCurvePoints = 200
    public static let scoreBins = 20
    /// Trade-off thresholds: 0, 0.02, ..., 1.
    public static let tradeoffSteps = 50

    /// The report of `probabilities` against `labels` (true = default).
    public static func compute(dataset: String, probabilities p: [Double], labels: [Bool], threshold: Double,
                               rule: ThresholdRule, importance: [FeatureImportance],
                               distributions: [FeatureDistribution]) -> ModelReport {
        precondition(p.count == labels.count)
        let pos = labels.reduce(0) { $0 + ($1 ? 1 : 0) }, neg = labels.count - pos
        var a = 1.0, b = 1.0
        if case .cost(let m, let r) = rule { a = m; b = r }

        // Curves from the sweep (descending thresholds), thinned evenly, ends kept.
        let sweep = Metrics.sweep(scores: p, labels: labels)
        var roc = [CurvePoint(x: 0, y: 0, threshold: (p.max() ?? 1).nextUp)]
        var pr: [CurvePoint] = []
        for i in thin(sweep.count, to: maxCurvePoints - 1) {
            let s = sweep[i]
            roc.append(CurvePoint(x: neg == 0 ? 0 : Double(s.fp) / Double(neg), y: pos == 0 ? 0 : Double(s.tp) / Double(pos), threshold: s.score))
            pr.append(CurvePoint(x: pos == 0 ? 0 : Double(s.tp) / Double(pos), y: Double(s.tp) / Double(s.tp + s.fp), threshold: s.score))
        }

        let edges = (0...scoreBins).map { Double($0) / Double(scoreBins) }
        var defaults = [Int](repeating: 0, count: scoreBins), goods = defaults
        for (x, y) in zip(p, labels) {
            let k = min(scoreBins - 1, max(0, Int(x * Double(scoreBins))))
            if y { defaults[k] += 1 } else { goods[k] += 1 }
        }

        let tradeoff = (0...tradeoffSteps).map { i -> TradeoffPoint in
            let t = Double(i) / Double(tradeoffSteps)
            let c = Metrics.confusion(probabilities: p, labels: labels, threshold: t)
            return TradeoffPoint(threshold: t, precision: c.precision, recall: c.recall,
                                 cost: labels.isEmpty ? 0 : (a * Double(c.fn) + b * Double(c.fp)) / Double(labels.count))
        }
        return ModelReport(dataset: dataset, rows: labels.count, positives: pos, threshold: threshold,
                           costMissedDefault: a, costRefusedGood: b, roc: roc, precisionRecall: pr,
                           calibration: Metrics.calibration(probabilities: p, labels: labels),
                           scoreEdges: edges, scoreDefaults: defaults, scoreGoods: goods, tradeoff: tradeoff,
                           confusion: Metrics.confusion(probabilities: p, labels: labels, threshold: threshold),
                           importance: importance, distributions: distributions)
    }

    /// At most `k` indices of `0..<n`, evenly spread, the last always included.
    static func thin(_ n: Int, to k: Int) -> [Int] {
        guard n > k else { return Array(0..<n) }
        return (1...k).map { ($0 * n) / k - 1 }
    }

    /// Mean |contribution| per feature (columns summed by their source feature) over the
    /// first `maxRows` rows of `x`, largest first (ties by name).
    public static func importance(model: any LogitModel, x: FeatureMatrix, features: [String], maxRows: Int = 2000) -> [FeatureImportance] {
        let n = min(x.rows, maxRows)
        let index = Dictionary(uniqueKeysWithValues: features.enumerated().map { ($1, $0) })
        let owner = x.columns.map { index[$0.source] ?? -1 }
        var sums = [Double](repeating: 0, count: features.count)
        guard n > 0 else { return [] }
        let scratch = model.makeScratch(maxRows: 1)
        var contrib = [Float](repeating: 0, count: x.cols)
        var perFeature = [Double](repeating: 0, count: features.count)
        x.values.withUnsafeBufferPointer { input in
            for r in 0..<n {
                let row = UnsafeBufferPointer(rebasing: input[(r * x.cols)..<((r + 1) * x.cols)])
                contrib.withUnsafeMutableBufferPointer { _ = model.contributions(row, $0, scratch: scratch) }
                for k in perFeature.indices { perFeature[k] = 0 }
                for (c, f) in owner.enumerated() where f >= 0 { perFeature[f] += Double(contrib[c]) }
                for k in perFeature.indices { sums[k] += abs(perFeature[k]) }
            }
        }
        return zip(features, sums).map { FeatureImportance(feature: $0, meanAbsContribution: $1 / Double(n)) }
            .sorted { ($0.meanAbsContribution, $1.feature) > ($1.meanAbsContribution, $0.feature) }
    }

    /// The training distribution of each feature of `stats` on `rows` of a cleaned table.
    public static func distributions(table: DataTable, stats: [FeatureStats], rows: [Int]) -> [FeatureDistribution] {
        stats.compactMap { f in
            guard let col = table.column(named: f.name) else { return nil }
            switch col.values {
            case .numeric(let v): return FeatureDistribution.numeric(name: f.name, values: v, rows: rows)
            case .categorical(let v): return FeatureDistribution.categorical(name: f.name, values: v, rows: rows)
            }
        }
    }
}

/// The report as served and rendered: the model's identity, threshold choice, training
/// information (data fingerprint) and stored metrics around the `ModelReport`.
public struct ModelReportDocument: Codable, Sendable {
    public var modelID: String
    public var algorithm: String
    public var threshold: ThresholdChoice
    public var training: TrainingInfo
    public var metrics: ArtifactMetrics
    public var report: ModelReport

    enum CodingKeys: String, CodingKey { case modelID = "model_id", algorithm, threshold, training, metrics, report }

    /// nil when the artifact carries no report (trained before reports existed) and none is given.
    public init?(artifact: ModelArtifact, modelID: String, report: ModelReport? = nil) {
        guard let r = report ?? artifact.report else { return nil }
        self.modelID = modelID
        algorithm = artifact.model.algorithm
        threshold = artifact.threshold
        training = artifact.training
        metrics = artifact.metrics
        self.report = r
    }

    /// Canonical JSON (sorted keys; NaN as "nan").
    public func json() throws -> Data { try CreditJSON.encoder().encode(self) }
}
