// The model report page: GET /v1/model/report drawn with charts.js (text only, no markup).
"use strict";

async function loadReport() {
  const $ = (id) => document.getElementById(id);
  const r = await fetch("/v1/model/report");
  const doc = await r.json();
  if (!r.ok) { $("model").textContent = (doc.error && doc.error.message) || ("no report (" + r.status + ")"); return; }
  const rep = doc.report;
  $("model").textContent = `Model ${doc.model_id.slice(0, 12)}… · ${doc.algorithm} · ${rep.dataset}: ${rep.rows} rows, ${rep.positives} defaults · threshold ${fmt(rep.threshold)} (${doc.threshold.mode})`;
  lineChart($("chart-roc"), [{ name: "ROC", cls: "s1", points: rep.roc.map((p) => [p.x, p.y]) }],
    { xLabel: "false positive rate", yLabel: "true positive rate", diagonal: true });
  lineChart($("chart-pr"), [{ name: "precision–recall", cls: "s1", points: rep.precision_recall.map((p) => [p.x, p.y]) }],
    { xLabel: "recall", yLabel: "precision" });
  lineChart($("chart-calibration"), [{ name: "observed", cls: "s1", points: rep.calibration.map((b) => [b.mean_predicted, b.observed_rate]) }],
    { xLabel: "mean predicted probability", yLabel: "observed default rate", diagonal: true });
  const labels = rep.score_defaults.map((_, i) => `${fmt(rep.score_edges[i])}–${fmt(rep.score_edges[i + 1])}`);
  barChart($("chart-scores"), labels, [{ name: "goods", cls: "s2", values: rep.score_goods }, { name: "defaults", cls: "s1", values: rep.score_defaults }],
    { xLabel: "probability of default (bins of 0.05)", yLabel: "rows", xTick: (i) => fmt(i / labels.length) });
  const maxCost = Math.max(1, ...rep.tradeoff.map((p) => p.cost));
  lineChart($("chart-tradeoff"), [
    { name: "precision", cls: "s1", points: rep.tradeoff.map((p) => [p.threshold, p.precision]) },
    { name: "recall", cls: "s2", points: rep.tradeoff.map((p) => [p.threshold, p.recall]) },
    { name: "cost (scaled)", cls: "s3", points: rep.tradeoff.map((p) => [p.threshold, p.cost / maxCost]) },
  ], { xLabel: "threshold (refuse when p ≥ threshold)", yLabel: "precision / recall / cost", marker: rep.threshold });
  $("cost-note").textContent = `Cost per row = ${fmt(rep.cost_missed_default)} × defaults approved + ${fmt(rep.cost_refused_good)} × goods refused, divided by ${fmt(maxCost)} to share the axis.`;
  const c = rep.confusion;
  fillTable($("confusion"), ["", "refused (predicted default)", "approved (predicted good)"],
    [["actual default", String(c.tp), String(c.fn)], ["actual good", String(c.fp), String(c.tn)]]);
  hbarChart($("chart-importance"), rep.importance.map((f) => f.feature), rep.importance.map((f) => f.mean_abs_contribution));
  const t = doc.training;
  fillTable($("training"), ["training", ""], [
    ["data fingerprint (SHA-256)", t.data_fingerprint], ["fit rows", String(t.fit_rows)], ["validation rows", String(t.validation_rows)],
    ["test rows", String(t.test_rows)], ["defaults in fit rows", String(t.positives)], ["seed", String(t.seed)], ["balance", t.balance]]);
  const m = doc.metrics, keys = ["roc_auc", "pr_auc", "ks", "brier", "log_loss", "precision", "recall", "f1"];
  fillTable($("metrics"), ["metric", "training", "validation"], keys.map((k) => [k, fmt(num(m.training[k])), fmt(num(m.validation[k]))]));
}

function num(x) { return typeof x === "number" ? x : NaN; }

document.addEventListener("DOMContentLoaded", loadReport);
