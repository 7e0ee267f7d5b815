import Foundation

/// Counts at one decision threshold: a row is predicted "default" (refused) when its
/// probability is `>= threshold`.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    public var tp: Int
    public var fp: Int
    public var tn: Int
    public var fn: Int

    public init(tp: Int, fp: Int, tn: Int, fn: Int) {
        self.tp = tp; self.fp = fp; self.tn = tn; self.fn = fn
    }

    /// Precision of the default class; 0 when nothing is predicted positive.
    public var precision: Double { tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp) }
    /// Recall of the default class; 0 when there are no positives.
    public var recall: Double { tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn) }
    public var f1: Double {
        let p = precision, r = recall
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
}

/// Precision, recall and F1 of the default class at one threshold.
public struct ThresholdMetrics: Codable, Sendable, Equatable {
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var confusion: ConfusionMatrix

    public init(threshold: Double, confusion: ConfusionMatrix) {
        self.threshold = threshold
        self.confusion = confusion
        precision = confusion.precision
        recall = confusion.recall
        f1 = confusion.f1
    }
}

/// One decile of the calibration table (rows sorted by predicted probability).
public struct CalibrationBin: Codable, Sendable, Equatable {
    public var bin: Int
    public var rows: Int
    public var meanPredicted: Double
    public var observedRate: Double
    public var minPredicted: Double
    public var maxPredicted: Double

    enum CodingKeys: String, CodingKey {
        case bin, rows
        case meanPredicted = "mean_predicted", observedRate = "observed_rate"
        case minPredicted = "min_predicted", maxPredicted = "max_predicted"
    }
}

/// The metrics of one evaluated set. JSON keys (see docs/models.md): `rows`, `positives`,
/// `roc_auc`, `pr_auc`, `ks`, `brier`, `log_loss`, `threshold`, `precision`, `recall`, `f1`,
/// `confusion` (at the chosen threshold), `at_0_5` (the same block at 0.5), `calibration`.
/// Undefined values (e.g. ROC AUC of a set with one class) are NaN, written as "nan".
public struct EvaluationMetrics: Codable, Sendable, Equatable {
    public var rows: Int
    public var positives: Int
    public var rocAUC: Double
    public var prAUC: Double
    public var ks: Double
    public var brier: Double
    public var logLoss: Double
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var confusion: ConfusionMatrix
    public var at0_5: ThresholdMetrics
    public var calibration: [CalibrationBin]

    enum CodingKeys: String, CodingKey {
        case rows, positives, rocAUC = "roc_auc", prAUC = "pr_auc", ks, brier, logLoss = "log_loss"
        case threshold, precision, recall, f1, confusion, at0_5 = "at_0_5", calibration
    }

    /// NaN-safe equality (two NaNs compare equal), for round-trip checks.
    public static func == (a: EvaluationMetrics, b: EvaluationMetrics) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return a.rows == b.rows && a.positives == b.positives && same(a.rocAUC, b.rocAUC)
            && same(a.prAUC, b.prAUC) && same(a.ks, b.ks) && same(a.brier, b.brier)
            && same(a.logLoss, b.logLoss) && a.threshold == b.threshold && a.confusion == b.confusion
            && a.at0_5 == b.at0_5 && a.calibration.count == b.calibration.count
    }
}

/// Evaluation metrics in Double precision. Labels are `true` for default (positive).
public enum Metrics {
    /// Probabilities are clipped to [eps, 1 - eps] for the log loss.
    public static let logLossEpsilon = 1e-15

    /// Exact ROC AUC (Mann–Whitney U with average ranks, so tied scores count one half).
    /// NaN when a class is absent.
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count)
        let pos = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let neg = labels.count - pos
        guard pos > 0, neg > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPos = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j) / 2 + 1  // ranks are 1-based
            for k in i...j where labels[order[k]] { rankSumPos += avgRank }
            i = j + 1
        }
        let u = rankSumPos - Double(pos) * Double(pos + 1) / 2
        return u / (Double(pos) * Double(neg))
    }

    /// Cumulative (tp, fp) after each group of tied scores, scanning from the highest score.
    static func sweep(scores: [Double], labels: [Bool]) -> [(score: Double, tp: Int, fp: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var out: [(Double, Int, Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let s = scores[order[i]]
            while i < order.count && scores[order[i]] == s {
                if labels[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            out.append((s, tp, fp))
        }
        return out
    }

    /// Average precision (area under the precision–recall curve as a step sum,
    /// sum over thresholds of (R_n - R_{n-1}) * P_n; ties form one threshold). NaN with no positives.
    public static func averagePrecision(scores: [Double], labels: [Bool]) -> Double {
        let pos = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard pos > 0 else { return .nan }
        var ap = 0.0, prevRecall = 0.0
        for p in sweep(scores: scores, labels: labels) {
            let recall = Double(p.tp) / Double(pos)
            let precision = Double(p.tp) / Double(p.tp + p.fp)
            ap += (recall - prevRecall) * precision
            prevRecall = recall
        }
        return ap
    }

    /// Kolmogorov–Smirnov statistic: max over thresholds of TPR - FPR. NaN when a class is absent.
    public static func ks(scores: [Double], labels: [Bool]) -> Double {
        let pos = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let neg = labels.count - pos
        guard pos > 0, neg > 0 else { return .nan }
        var best = 0.0
        for p in sweep(scores: scores, labels: labels) {
            best = max(best, abs(Double(p.tp) / Double(pos) - Double(p.fp) / Double(neg)))
        }
        return best
    }

    public static func brier(probabilities: [Double], labels: [Bool]) -> Double {
        guard !labels.isEmpty else { return .nan }
        var s = 0.0
        for (p, y) in zip(probabilities, labels) { let d = p - (y ? 1 : 0); s += d * d }
        return s / Double(labels.count)
    }

    /// Mean negative log-likelihood with probabilities clipped to [1e-15, 1 - 1e-15].
    public static func logLoss(probabilities: [Double], labels: [Bool]) -> Double {
        guard !labels.isEmpty else { return .nan }
        var s = 0.0
        for (p0, y) in zip(probabilities, labels) {
            let p = min(max(p0, logLossEpsilon), 1 - logLossEpsilon)
            s -= y ? Foundation.log(p) : Foundation.log(1 - p)
        }
        return s / Double(labels.count)
    }

    public static func confusion(probabilities: [Double], labels: [Bool], threshold: Double) -> ConfusionMatrix {
        var m = ConfusionMatrix(tp: 0, fp: 0, tn: 0, fn: 0)
        for (p, y) in zip(probabilities, labels) {
            switch (p >= threshold, y) {
            case (true, true): m.tp += 1
            case (true, false): m.fp += 1
            case (false, false): m.tn += 1
            case (false, true): m.fn += 1
            }
        }
        return m
    }

    /// Calibration table: rows sorted by probability, cut into `bins` groups of (nearly)
    /// equal size; empty groups are left out.
    public static func calibration(probabilities: [Double], labels: [Bool], bins: Int = 10) -> [CalibrationBin] {
        let n = probabilities.count
        guard n > 0 else { return [] }
        let order = probabilities.indices.sorted { probabilities[$0] < probabilities[$1] }
        var out: [CalibrationBin] = []
        for b in 0..<bins {
            let lo = b * n / bins, hi = (b + 1) * n / bins
            guard hi > lo else { continue }
            var sp = 0.0, sy = 0.0
            for k in lo..<hi { sp += probabilities[order[k]]; sy += labels[order[k]] ? 1 : 0 }
            out.append(CalibrationBin(bin: b + 1, rows: hi - lo, meanPredicted: sp / Double(hi - lo),
                                      observedRate: sy / Double(hi - lo),
                                      minPredicted: probabilities[order[lo]], maxPredicted: probabilities[order[hi - 1]]))
        }
        return out
    }

    /// All metrics of one set at the chosen `threshold` (and at 0.5).
    public static func evaluate(probabilities: [Double], labels: [Bool], threshold: Double) -> EvaluationMetrics {
        let chosen = ThresholdMetrics(threshold: threshold,
                                      confusion: confusion(probabilities: probabilities, labels: labels, threshold: threshold))
        let half = ThresholdMetrics(threshold: 0.5,
                                    confusion: confusion(probabilities: probabilities, labels: labels, threshold: 0.5))
        return EvaluationMetrics(
            rows: labels.count, positives: labels.reduce(0) { $0 + ($1 ? 1 : 0) },
            rocAUC: rocAUC(scores: probabilities, labels: labels),
            prAUC: averagePrecision(scores: probabilities, labels: labels),
            ks: ks(scores: probabilities, labels: labels),
            brier: brier(probabilities: probabilities, labels: labels),
            logLoss: logLoss(probabilities: probabilities, labels: labels),
            threshold: threshold, precision: chosen.precision, recall: chosen.recall, f1: chosen.f1,
            confusion: chosen.confusion, at0_5: half,
            calibration: calibration(probabilities: probabilities, labels: labels))
    }
}

/// JSON coding used for metrics files and the artifact: sorted keys, NaN/inf as strings.
public enum CreditJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
