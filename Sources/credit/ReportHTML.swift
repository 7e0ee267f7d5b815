import CreditData
import CreditDomain
import CreditModels
import Foundation

/// The model report as one self-contained HTML page (inline CSS and SVG, no scripts), in the
/// profile's style and with its helpers (`ProfileHTML`): the same charts as the web page's
/// report, from the same `ModelReportDocument`. Each curve point is a `<circle class="pt">`
/// and each bar a `<rect class="bar">`, as on the web page.
enum ReportHTML {
    static func render(_ doc: ModelReportDocument) -> String {
        let r = doc.report
        let esc = ProfileHTML.esc
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Model report — \(esc(doc.modelID))</title>
        <style>\(ProfileHTML.css)\(css)</style></head><body>
        <header><h1>Model report · \(esc(doc.algorithm))</h1>
        <p class="sub">model \(esc(doc.modelID)) · \(esc(r.dataset)): \(ProfileHTML.int(r.rows)) rows, \(ProfileHTML.int(r.positives)) defaults ·
        threshold \(num(r.threshold)) (\(esc(doc.threshold.mode)))</p></header>
        <main><section class="grid">
        """
        h += card("ROC curve", line([("ROC", "s1", r.roc.map { ($0.x, $0.y) })], x: "false positive rate", y: "true positive rate", diagonal: true))
        h += card("Precision–recall", line([("precision–recall", "s1", r.precisionRecall.map { ($0.x, $0.y) })], x: "recall", y: "precision"))
        h += card("Calibration", line([("observed", "s1", r.calibration.map { ($0.meanPredicted, $0.observedRate) })],
                                      x: "mean predicted probability", y: "observed default rate", diagonal: true))
        h += card("Score distribution by class", bars([("goods", "s2", r.scoreGoods), ("defaults", "s1", r.scoreDefaults)],
                                                       x: "probability of default (bins of 0.05)", y: "rows",
                                                       xTick: { num($0 / Double(max(1, r.scoreGoods.count))) }))
        let maxCost = max(1, r.tradeoff.map(\.cost).max() ?? 1)
        h += card("Precision, recall and cost by threshold", line([
            ("precision", "s1", r.tradeoff.map { ($0.threshold, $0.precision) }),
            ("recall", "s2", r.tradeoff.map { ($0.threshold, $0.recall) }),
            ("cost (scaled)", "s3", r.tradeoff.map { ($0.threshold, $0.cost / maxCost) }),
        ], x: "threshold (refuse when p ≥ threshold)", y: "precision / recall / cost", marker: r.threshold)
            + "<p class=\"note\">Cost per row = \(num(r.costMissedDefault)) × defaults approved + \(num(r.costRefusedGood)) × goods refused, divided by \(num(maxCost)).</p>")
        let c = r.confusion
        h += card("Confusion matrix at the threshold", """
            <table><tr><th></th><th>refused (predicted default)</th><th>approved (predicted good)</th></tr>
            <tr><th>actual default</th><td class="n">\(c.tp)</td><td class="n">\(c.fn)</td></tr>
            <tr><th>actual good</th><td class="n">\(c.fp)</td><td class="n">\(c.tn)</td></tr></table>
            """)
        h += card("Feature importance", "<p class=\"note\">Mean absolute contribution to the log-odds of default.</p>"
            + hbars(r.importance.map { ($0.feature, $0.meanAbsContribution) }))
        let t = doc.training
        var training = "<table>"
        for (k, v) in [("data fingerprint (SHA-256)", t.dataFingerprint), ("fit rows", "\(t.fitRows)"), ("validation rows", "\(t.validationRows)"),
                       ("test rows", "\(t.testRows)"), ("defaults in fit rows", "\(t.positives)"), ("seed", "\(t.seed)"), ("balance", t.balance)] {
            training += "<tr><th>\(esc(k))</th><td><code>\(esc(v))</code></td></tr>"
        }
        training += "</table><table><tr><th>metric</th><th>training</th><th>validation</th></tr>"
        let m = doc.metrics
        for (k, a, b) in [("ROC AUC", m.training.rocAUC, m.validation.rocAUC), ("PR AUC", m.training.prAUC, m.validation.prAUC),
                          ("KS", m.training.ks, m.validation.ks), ("Brier", m.training.brier, m.validation.brier),
                          ("log loss", m.training.logLoss, m.validation.logLoss), ("precision", m.training.precision, m.validation.precision),
                          ("recall", m.training.recall, m.validation.recall), ("F1", m.training.f1, m.validation.f1)] {
            training += "<tr><th>\(k)</th><td class=\"n\">\(num(a))</td><td class=\"n\">\(num(b))</td></tr>"
        }
        h += card("Training data and metrics", training + "</table>")
        h += "</section></main><footer>credit report · self-contained page</footer></body></html>\n"
        return h
    }

    static let css = """
    .axis{stroke:#6b7785}.diagonal{stroke:#b8bec7;stroke-dasharray:4 3}.threshold{stroke:#1f2933;stroke-dasharray:2 2}
    polyline{fill:none;stroke-width:1.5}.s1 polyline{stroke:#c0504d}.s1 circle,rect.s1,text.s1{fill:#c0504d}
    .s2 polyline{stroke:#4c78a8}.s2 circle,rect.s2,text.s2{fill:#4c78a8}.s3 polyline{stroke:#59a14f}.s3 circle,rect.s3,text.s3{fill:#59a14f}
    svg text{font-size:10px;fill:#6b7785}rect.bar{fill:#4c78a8}rect.bar.s1{fill:#c0504d}rect.bar.s2{fill:#4c78a8}
    .card table{table-layout:fixed;width:100%}.card code{word-break:break-all}
    """

    static func num(_ x: Double) -> String { x.isNaN ? "–" : ProfileHTML.num(x) }
    static func card(_ title: String, _ body: String) -> String { "<div class=\"card\"><h3>\(ProfileHTML.esc(title))</h3>\(body)</div>" }

    static let W = 420.0, H = 300.0, L = 48.0, R = 12.0, T = 14.0, B = 40.0
    static func g(_ x: Double) -> String { String(format: "%.2f", x) }

    static func axes(x: String, y: String, xMax: Double, yMax: Double, xTick: ((Double) -> String)? = nil) -> (String, (Double) -> Double, (Double) -> Double) {
        let sx = { (v: Double) in L + (W - L - R) * v / xMax }, sy = { (v: Double) in H - B - (H - T - B) * v / yMax }
        var s = "<svg viewBox=\"0 0 \(g(W)) \(g(H))\" width=\"\(g(W))\" height=\"\(g(H))\" role=\"img\">"
        s += "<line class=\"axis\" x1=\"\(g(L))\" y1=\"\(g(H - B))\" x2=\"\(g(W - R))\" y2=\"\(g(H - B))\"/>"
        s += "<line class=\"axis\" x1=\"\(g(L))\" y1=\"\(g(T))\" x2=\"\(g(L))\" y2=\"\(g(H - B))\"/>"
        for i in 0...4 {
            let a = xMax * Double(i) / 4, b = yMax * Double(i) / 4
            s += "<text x=\"\(g(sx(a)))\" y=\"\(g(H - B + 14))\" text-anchor=\"middle\">\(xTick?(a) ?? num(a))</text>"
            s += "<text x=\"\(g(L - 4))\" y=\"\(g(sy(b) + 4))\" text-anchor=\"end\">\(num(b))</text>"
        }
        s += "<text x=\"\(g((L + W - R) / 2))\" y=\"\(g(H - 6))\" text-anchor=\"middle\">\(ProfileHTML.esc(x))</text>"
        s += "<text x=\"12\" y=\"\(g((T + H - B) / 2))\" transform=\"rotate(-90 12 \(g((T + H - B) / 2)))\" text-anchor=\"middle\">\(ProfileHTML.esc(y))</text>"
        return (s, sx, sy)
    }

    static func line(_ series: [(String, String, [(Double, Double)])], x: String, y: String, diagonal: Bool = false, marker: Double? = nil) -> String {
        var (s, sx, sy) = axes(x: x, y: y, xMax: 1, yMax: 1)
        if diagonal { s += "<line class=\"diagonal\" x1=\"\(g(sx(0)))\" y1=\"\(g(sy(0)))\" x2=\"\(g(sx(1)))\" y2=\"\(g(sy(1)))\"/>" }
        if let m = marker {
            s += "<line class=\"threshold\" x1=\"\(g(sx(m)))\" y1=\"\(g(sy(0)))\" x2=\"\(g(sx(m)))\" y2=\"\(g(sy(1)))\"/>"
            s += "<text x=\"\(g(sx(m) + 4))\" y=\"\(g(T + 10))\">threshold \(num(m))</text>"
        }
        for (k, (name, cls, points)) in series.enumerated() {
            s += "<g class=\"series \(cls)\"><polyline points=\"\(points.map { "\(g(sx($0.0))),\(g(sy($0.1)))" }.joined(separator: " "))\"/>"
            for (a, b) in points {
                s += "<circle class=\"pt\" cx=\"\(g(sx(a)))\" cy=\"\(g(sy(b)))\" r=\"2\"><title>\(ProfileHTML.esc(name)): \(num(a)), \(num(b))</title></circle>"
            }
            s += "</g><text class=\"\(cls)\" x=\"\(g(W - R - 4))\" y=\"\(g(T + 14 + 14 * Double(k)))\" text-anchor=\"end\">\(ProfileHTML.esc(name))</text>"
        }
        return s + "</svg>"
    }

    static func bars(_ series: [(String, String, [Int])], x: String, y: String, xTick: ((Double) -> String)? = nil) -> String {
        let n = series.first?.2.count ?? 0
        let maxV = Double(max(1, series.flatMap(\.2).max() ?? 1))
        var (s, sx, sy) = axes(x: x, y: y, xMax: Double(max(1, n)), yMax: maxV, xTick: xTick)
        let slot = (W - L - R) / Double(max(1, n)), bw = max(1, (slot - 2) / Double(max(1, series.count)))
        for (k, (name, cls, values)) in series.enumerated() {
            for (i, v) in values.enumerated() {
                s += "<rect class=\"bar \(cls)\" x=\"\(g(sx(Double(i)) + 1 + Double(k) * bw))\" y=\"\(g(sy(Double(v))))\" width=\"\(g(bw))\" height=\"\(g(sy(0) - sy(Double(v))))\"><title>\(ProfileHTML.esc(name)): \(v)</title></rect>"
            }
            s += "<text class=\"\(cls)\" x=\"\(g(W - R - 4))\" y=\"\(g(T + 14 + 14 * Double(k)))\" text-anchor=\"end\">\(ProfileHTML.esc(name))</text>"
        }
        return s + "</svg>"
    }

    static func hbars(_ rows: [(String, Double)]) -> String {
        let row = 22.0, width = 420.0, lw = 190.0, maxV = max(1e-12, rows.map(\.1).max() ?? 1)
        let height = max(10, Double(rows.count) * row)
        var s = "<svg viewBox=\"0 0 \(g(width)) \(g(height))\" width=\"\(g(width))\" height=\"\(g(height))\" role=\"img\">"
        for (i, (label, v)) in rows.enumerated() {
            let y = Double(i) * row
            s += "<text x=\"0\" y=\"\(g(y + 15))\">\(ProfileHTML.esc(label))</text>"
            s += "<rect class=\"bar\" x=\"\(g(lw))\" y=\"\(g(y + 4))\" height=\"15\" width=\"\(g(max(1, (width - lw - 70) * v / maxV)))\"/>"
            s += "<text x=\"\(g(width - 64))\" y=\"\(g(y + 15))\">\(num(v))</text>"
        }
        return s + "</svg>"
    }
}
