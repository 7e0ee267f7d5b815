// The portfolio page: GET /v1/portfolio (what every face scored since the model was loaded).
"use strict";

async function loadPortfolio() {
  const $ = (id) => document.getElementById(id);
  const r = await fetch("/v1/portfolio");
  const p = await r.json();
  if (!r.ok) { $("model").textContent = (p.error && p.error.message) || String(r.status); return; }
  $("model").textContent = `Model ${p.model_id.slice(0, 12)}…` + (p.since ? ` · since ${new Date(p.since * 1000).toISOString()}` : " · nothing scored yet");
  fillTable($("summary"), ["", ""], [["applicants scored", String(p.scored)], ["row errors", String(p.errors)],
    ["refused", String(p.refused)], ["approval rate", p.approval_rate === null ? "–" : (100 * p.approval_rate).toFixed(1) + " %"]]);
  const labels = p.score_counts.map((_, i) => `${fmt(p.score_edges[i])}–${fmt(p.score_edges[i + 1])}`);
  barChart($("chart-scores"), labels, [{ name: "applicants", cls: "s1", values: p.score_counts }],
    { xLabel: "probability of default (bins of 0.05)", yLabel: "applicants", xTick: (i) => fmt(i / labels.length) });
  const top = p.reasons.slice(0, 10);
  hbarChart($("chart-reasons"), top.map((x) => x.feature), top.map((x) => x.count));
  fillTable($("psi"), ["feature", "PSI", "band", "largest shift"], p.features.map((f) => {
    let worst = null;
    const total = f.bins.reduce((s, b) => s + b.count, 0);
    for (const b of f.bins) {
      const d = total ? b.count / total - b.expected : 0;
      if (worst === null || Math.abs(d) > Math.abs(worst.d)) worst = { d, label: b.label };
    }
    const shift = worst && total ? `${worst.label}: ${(100 * worst.d).toFixed(1)} points` : "–";
    return [f.name, { text: fmt(f.psi), cls: "psi " + f.band }, { text: f.band, cls: "psi " + f.band }, shift];
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("refresh").addEventListener("click", loadPortfolio);
  loadPortfolio();
});
