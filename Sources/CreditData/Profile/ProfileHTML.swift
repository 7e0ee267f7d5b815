import CreditDomain
import Foundation

/// Renders a `DataProfile` as one self-contained HTML page: inline CSS and SVG charts, no
/// scripts, fonts or other external assets.
public enum ProfileHTML {
    public static func render(_ p: DataProfile) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Profile — \(esc(p.dataset))</title>
        <style>\(css)</style></head><body>
        <header><h1>\(esc(p.dataset))</h1>
        <p class="sub">\(esc(p.source)) · \(int(p.rows)) rows · \(p.columns.count) columns</p></header>
        <main>
        """
        h += "<section class=\"top\">"
        if let b = p.classBalance { h += balanceCard(b) }
        h += missingOverviewCard(p)
        h += "</section>"
        h += "<h2>Columns</h2><p class=\"note\">Raw values as queried. Bars: rows per bin or category; "
            + "<span class=\"swatch rate\"></span> default rate among labelled rows in that group"
            + " (dashed line: overall rate).</p><section class=\"grid\">"
        let overall = p.classBalance?.defaultRate
        for c in p.columns { h += columnCard(c, overall: overall) }
        h += "</section>"
        if let report = p.cleaning { h += cleaningSection(report) }
        h += "</main><footer>credit profile · self-contained page</footer></body></html>\n"
        return h
    }

    public static let css = """
    :root{--bg:#f5f6f8;--card:#fff;--ink:#1f2933;--muted:#6b7785;--bar:#4c78a8;--bar2:#9ecae9;
    --rate:#d62728;--warn:#f58518;--line:#e3e7ec}
    *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
    background:var(--bg);color:var(--ink)}
    header{background:#1f2933;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}
    .sub{margin:4px 0 0;color:#c5ced8}main{padding:20px 32px;max-width:1500px;margin:auto}
    h2{font-size:18px;margin:28px 0 6px}.note{color:var(--muted);margin:0 0 12px}
    .top{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
    .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:16px}
    .card{background:var(--card);border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:14px 16px;
    border:1px solid var(--line)}
    .card h3{margin:0;font-size:15px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
    .card .label{color:var(--muted);font-weight:normal;font-size:13px}
    .badge{font-size:11px;padding:1px 7px;border-radius:9px;background:#e8eef6;color:#30506f;font-weight:600}
    .badge.categorical{background:#eef6e8;color:#3b6f30}.badge.id{background:#eee;color:#555}
    .badge.target{background:#fde8e8;color:#a11}
    .stats{display:grid;grid-template-columns:repeat(4,1fr);gap:4px 10px;margin:10px 0 6px;font-size:12px}
    .stats div span{display:block;color:var(--muted);font-size:11px}.stats b{font-weight:600}
    .warn{color:var(--warn);font-weight:600}svg{display:block;width:100%;height:auto}
    svg text{font-size:10px;fill:#52606d}svg .bar{fill:var(--bar)}svg .bar.invalid{fill:var(--warn)}
    svg .bar.miss{fill:#bcc5cf}svg .rate{stroke:var(--rate);fill:none;stroke-width:1.6}
    svg .dot{fill:var(--rate)}svg .avg{stroke:var(--rate);stroke-dasharray:3 3;opacity:.6}
    svg .axis{stroke:#c9d1da}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;vertical-align:middle}
    .swatch.rate{background:var(--rate)}.swatch.bar{background:var(--bar)}.swatch.un{background:#bcc5cf}
    .swatch.def{background:var(--rate)}
    table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
    th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
    th{background:#f0f3f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
    .corr{font-size:12px;color:#374151}.corr code{background:#f3f4f6;padding:0 3px;border-radius:3px}
    .big{font-size:28px;font-weight:700}.legend{font-size:12px;color:var(--muted);display:flex;gap:14px;margin-top:6px}
    footer{color:var(--muted);text-align:center;padding:24px;font-size:12px}
    """

    public static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    public static func int(_ x: Int) -> String {
        let s = String(x)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    public static func pct(_ x: Double?) -> String {
        guard let x else { return "–" }
        return String(format: "%.1f%%", x * 100)
    }

    public static func num(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e12 { return int(Int(x)) }
        return String(format: abs(x) < 1 ? "%.3f" : "%.2f", x)
    }

    public static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    static func balanceCard(_ b: ClassBalance) -> String {
        let total = max(1, b.labelled + b.unlabelled)
        let w = 560.0
        let x1 = w * Double(b.negatives) / Double(total)
        let x2 = w * Double(b.positives) / Double(total)
        let x3 = w - x1 - x2
        return """
        <div class="card" id="class-balance"><h3>Class balance <span class="label">target \(esc(b.target)) = \(esc(b.positive)) is a default</span></h3>
        <p><span class="big">\(pct(b.defaultRate))</span> default rate · \(int(b.positives)) defaults of \(int(b.labelled)) labelled loans · \(int(b.unlabelled)) without an outcome</p>
        <svg viewBox="0 0 560 34" role="img" aria-label="class balance">
        <rect class="bar" x="0" y="4" width="\(f(x1))" height="22"><title>repaid: \(b.negatives)</title></rect>
        <rect class="dot" x="\(f(x1))" y="4" width="\(f(x2))" height="22"><title>defaulted: \(b.positives)</title></rect>
        <rect class="bar miss" x="\(f(x1 + x2))" y="4" width="\(f(x3))" height="22"><title>no outcome: \(b.unlabelled)</title></rect>
        </svg>
        <div class="legend"><span><span class="swatch bar"></span> repaid \(int(b.negatives))</span><span><span class="swatch def"></span> defaulted \(int(b.positives))</span><span><span class="swatch un"></span> no outcome \(int(b.unlabelled))</span></div>
        </div>
        """
    }

    static func missingOverviewCard(_ p: DataProfile) -> String {
        let cols = p.columns
        let rowH = 16.0
        let height = Double(cols.count) * rowH + 8
        let maxMissing = max(1, cols.map(\.missing).max() ?? 1)
        var s = "<div class=\"card\" id=\"missing-overview\"><h3>Missing values per column</h3>"
        s += "<svg viewBox=\"0 0 560 \(f(height))\" role=\"img\" aria-label=\"missing values\">"
        for (i, c) in cols.enumerated() {
            let y = 4 + Double(i) * rowH
            let w = 250.0 * Double(c.missing) / Double(maxMissing)
            s += "<text x=\"0\" y=\"\(f(y + 11))\">\(esc(c.name))</text>"
            s += "<rect class=\"bar miss\" x=\"190\" y=\"\(f(y + 2))\" width=\"\(f(w))\" height=\"11\"><title>\(esc(c.name)): \(c.missing) missing</title></rect>"
            s += "<text x=\"\(f(196 + w))\" y=\"\(f(y + 11))\">\(int(c.missing)) (\(pct(Double(c.missing) / Double(max(1, c.count)))))</text>"
        }
        return s + "</svg></div>"
    }

    static func columnCard(_ c: ColumnProfile, overall: Double?) -> String {
        var s = "<div class=\"card column\" id=\"col-\(esc(c.name))\"><h3>\(esc(c.name))"
        if c.label != c.name { s += " <span class=\"label\">\(esc(c.label))</span>" }
        s += " <span class=\"badge \(c.kind.rawValue)\">\(c.kind.rawValue)</span>"
        if c.role != "feature" { s += " <span class=\"badge \(esc(c.role))\">\(esc(c.role))</span>" }
        s += "</h3><div class=\"stats\">"
        func stat(_ name: String, _ value: String, warn: Bool = false) {
            s += "<div><span>\(name)</span><b\(warn ? " class=\"warn\"" : "")>\(value)</b></div>"
        }
        stat("present", int(c.present))
        stat("missing", "\(int(c.missing)) (\(pct(Double(c.missing) / Double(max(1, c.count)))))", warn: c.missing > 0)
        stat("distinct", int(c.distinct))
        if let m = c.numeric {
            let out = m.outliersBelow + m.outliersAbove
            stat("outside range", m.rangeMin == nil && m.rangeMax == nil ? "no rule" : int(out), warn: out > 0)
            stat("min", num(m.min)); stat("q1", num(m.q1)); stat("median", num(m.median)); stat("q3", num(m.q3))
            stat("max", num(m.max), warn: m.outliersAbove > 0); stat("mean", num(m.mean)); stat("std", num(m.std))
            let lo = m.rangeMin.map(num) ?? "–∞", hi = m.rangeMax.map(num) ?? "∞"
            stat("valid range", m.rangeMin == nil && m.rangeMax == nil ? "–" : "\(lo) … \(hi)")
            s += "</div>"
            if c.role != "id" { s += histogram(m, missing: c.missingGroup, overall: overall, name: c.name, isTarget: c.role == "target") }
            if m.beyondChart > 0, let first = m.histogram.first, let last = m.histogram.last {
                s += "<p class=\"note\">\(int(m.beyondChart)) values outside \(num(first.lower ?? m.min))…\(num(last.upper ?? m.max)) "
                    + "are not drawn (min \(num(m.min)), max \(num(m.max))).</p>"
            }
        } else if let cats = c.categories {
            let invalid = cats.filter { $0.valid == false }
            if c.role != "id" { stat("top", cats.first.map { esc($0.label) } ?? "–") }
            if !invalid.isEmpty {
                stat("not in vocabulary", "\(invalid.count) values, \(int(invalid.reduce(0) { $0 + $1.count })) rows", warn: true)
            }
            s += "</div>"
            if c.role != "id" && c.distinct <= 200 { s += categoryBars(cats, missing: c.missingGroup, overall: overall, name: c.name) }
            else if c.role == "id" { s += "<p class=\"note\">Identifier: \(int(c.distinct)) distinct values of \(int(c.present)).</p>" }
        } else {
            s += "</div>"
        }
        return s + "</div>"
    }

    /// Vertical bars per bin, the default rate as a red line, a missing bar at the right.
    static func histogram(_ m: NumericSummary, missing: GroupStat, overall: Double?, name: String,
                          isTarget: Bool = false) -> String {
        let groups = m.histogram + (missing.count > 0 ? [missing] : [])
        let W = 380.0, H = 170.0, left = 34.0, right = 42.0, top = 8.0, bottom = 30.0
        let plotW = W - left - right, plotH = H - top - bottom
        let maxCount = Double(max(1, groups.map(\.count).max() ?? 1))
        let rates = groups.compactMap { $0.labelled >= 5 ? $0.defaultRate : nil }
        let maxRate = max(0.05, min(1, ((rates.max() ?? 0.5) * 1.15 * 10).rounded(.up) / 10))
        let step = plotW / Double(groups.count)
        var s = "<svg viewBox=\"0 0 \(f(W)) \(f(H))\" role=\"img\" aria-label=\"histogram of \(esc(name))\">"
        s += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(W - right))\" y2=\"\(f(top + plotH))\"/>"
        s += "<text x=\"\(f(left - 4))\" y=\"\(f(top + 8))\" text-anchor=\"end\">\(shortNumber(maxCount))</text>"
        s += "<text x=\"\(f(left - 4))\" y=\"\(f(top + plotH))\" text-anchor=\"end\">0</text>"
        s += "<text x=\"\(f(W - right + 4))\" y=\"\(f(top + 8))\">\(pct(maxRate))</text>"
        var points: [String] = []
        for (i, g) in groups.enumerated() {
            let x = left + Double(i) * step
            let h = plotH * Double(g.count) / maxCount
            let isMissing = g.label == "missing"
            s += "<rect class=\"bar\(isMissing ? " miss" : "")\" x=\"\(f(x + 1))\" y=\"\(f(top + plotH - h))\" width=\"\(f(max(1, step - 2)))\" height=\"\(f(h))\">"
            s += "<title>\(esc(g.label)): \(g.count) rows, default rate \(pct(g.defaultRate))</title></rect>"
            if let r = g.defaultRate, g.labelled >= 5, !isTarget {
                let y = top + plotH * (1 - min(1, r / maxRate))
                let cx = x + step / 2
                if !isMissing { points.append("\(f(cx)),\(f(y))") }
                s += "<circle class=\"dot\" cx=\"\(f(cx))\" cy=\"\(f(y))\" r=\"2.4\"/>"
            }
        }
        if points.count > 1 { s += "<polyline class=\"rate\" points=\"\(points.joined(separator: " "))\"/>" }
        if let o = overall, !isTarget {
            let y = top + plotH * (1 - min(1, o / maxRate))
            s += "<line class=\"avg\" x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(W - right))\" y2=\"\(f(y))\"/>"
        }
        // x labels: first edge, middle, last edge, and "missing".
        let binCount = m.histogram.count
        let perValue = binCount <= 12 && m.histogram.allSatisfy { !$0.label.contains("–") }
        if perValue {
            for (i, g) in m.histogram.enumerated() {
                s += "<text x=\"\(f(left + step * (Double(i) + 0.5)))\" y=\"\(f(H - 16))\" text-anchor=\"middle\">\(esc(g.label))</text>"
            }
        } else if let first = m.histogram.first, let last = m.histogram.last {
            s += "<text x=\"\(f(left))\" y=\"\(f(H - 16))\">\(shortNumber(first.lower ?? 0))</text>"
            let midX = left + step * Double(binCount) / 2
            let mid = m.histogram[binCount / 2].lower ?? 0
            s += "<text x=\"\(f(midX))\" y=\"\(f(H - 16))\" text-anchor=\"middle\">\(shortNumber(mid))</text>"
            let lastLabel = last.upper.map(shortNumber) ?? last.label
            s += "<text x=\"\(f(left + step * Double(binCount)))\" y=\"\(f(H - 16))\" text-anchor=\"end\">\(esc(lastLabel))</text>"
        }
        if missing.count > 0 {
            s += "<text x=\"\(f(W - right - step / 2))\" y=\"\(f(H - 4))\" text-anchor=\"middle\">missing</text>"
        }
        return s + "</svg>"
    }

    /// Horizontal bars per category (top 12, invalid spellings in orange), missing last.
    static func categoryBars(_ cats: [GroupStat], missing: GroupStat, overall: Double?, name: String) -> String {
        var shown = Array(cats.prefix(12))
        if cats.count > 12 {
            var other = GroupStat(label: "\(cats.count - 12) others")
            for g in cats.dropFirst(12) {
                other.count += g.count; other.labelled += g.labelled; other.defaults += g.defaults
            }
            shown.append(other)
        }
        if missing.count > 0 { shown.append(missing) }
        let rowH = 17.0, W = 380.0, labelW = 112.0, barW = 128.0, rateX = 288.0
        let H = Double(shown.count) * rowH + 20
        let maxCount = Double(max(1, shown.map(\.count).max() ?? 1))
        var s = "<svg viewBox=\"0 0 \(f(W)) \(f(H))\" role=\"img\" aria-label=\"categories of \(esc(name))\">"
        s += "<text x=\"\(f(rateX))\" y=\"10\">default rate</text>"
        for (i, g) in shown.enumerated() {
            let y = 16 + Double(i) * rowH
            let w = barW * Double(g.count) / maxCount
            let cls = g.label == "missing" && i == shown.count - 1 && missing.count > 0 ? "bar miss"
                : g.valid == false ? "bar invalid" : "bar"
            let shownLabel = g.label.count > 20 ? String(g.label.prefix(19)) + "…" : g.label
            let visible = shownLabel.replacingOccurrences(of: " ", with: "␣")
            s += "<text x=\"0\" y=\"\(f(y + 11))\">\(esc(g.valid == false ? "“\(visible)”" : shownLabel))</text>"
            s += "<rect class=\"\(cls)\" x=\"\(f(labelW))\" y=\"\(f(y + 2))\" width=\"\(f(max(1, w)))\" height=\"12\">"
            s += "<title>\(esc(g.label)): \(g.count) rows\(g.valid == false ? " (not in the vocabulary)" : ""), default rate \(pct(g.defaultRate))</title></rect>"
            s += "<text x=\"\(f(labelW + w + 4))\" y=\"\(f(y + 11))\">\(int(g.count))</text>"
            if let r = g.defaultRate {
                let rw = 40.0 * r
                s += "<rect class=\"dot\" x=\"\(f(rateX))\" y=\"\(f(y + 4))\" width=\"\(f(max(0.5, rw)))\" height=\"8\"/>"
                s += "<text x=\"\(f(rateX + rw + 3))\" y=\"\(f(y + 11))\">\(pct(r))</text>"
            }
        }
        if let o = overall {
            let x = rateX + 40 * o
            s += "<line class=\"avg\" x1=\"\(f(x))\" y1=\"14\" x2=\"\(f(x))\" y2=\"\(f(H))\"/>"
        }
        return s + "</svg>"
    }

    static func cleaningSection(_ r: CleaningReport) -> String {
        var s = "<h2>Cleaning report</h2><p class=\"note\">What applying the spec (\(r.purpose.rawValue)) does: "
            + "\(int(r.rowsIn)) rows in, \(int(r.rowsOut)) rows out."
        if !r.dropped.isEmpty {
            s += " Dropped: " + r.dropped.map { "\(int($0.count)) by \(esc($0.rule)) (\(esc($0.column)))" }
                .joined(separator: ", ") + "."
        }
        s += " Counts below are over the rows that come out.</p>"
        s += "<table id=\"cleaning\"><thead><tr><th>column</th><th>rule</th><th>missing</th><th>set missing</th>"
            + "<th>clipped</th><th>corrected</th><th>unknown</th><th>corrections (from → to × rows)</th></tr></thead><tbody>"
        for c in r.columns {
            let corr = c.corrections.prefix(10).map {
                "<code>\(esc($0.from.replacingOccurrences(of: " ", with: "␣")))</code> → <code>\(esc($0.to))</code> × \($0.count)"
            }.joined(separator: "<br>") + (c.corrections.count > 10 ? "<br>… \(c.corrections.count - 10) more" : "")
            s += "<tr><td><b>\(esc(c.name))</b></td><td>\(esc(c.rule))</td><td class=\"n\">\(int(c.missing))</td>"
                + "<td class=\"n\">\(int(c.setMissing))</td><td class=\"n\">\(int(c.clipped))</td>"
                + "<td class=\"n\">\(int(c.corrected))</td><td class=\"n\">\(int(c.unknown))</td>"
                + "<td class=\"corr\">\(corr)</td></tr>"
        }
        return s + "</tbody></table>"
    }
}
