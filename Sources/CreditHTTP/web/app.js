// The analyst page: a form built from GET /v1/model, POST /v1/score, the answer drawn as
// text and an SVG bar chart. Every value goes in through textContent or setAttribute, never
// as markup, so an applicant id like <script> shows as text.
"use strict";

const $ = (id) => document.getElementById(id);
const svgNS = "http://www.w3.org/2000/svg";
let model = null;

async function loadModel() {
  const r = await fetch("/v1/model");
  if (!r.ok) { $("model").textContent = "No model loaded (" + r.status + ")."; return; }
  model = await r.json();
  $("model").textContent = `Model ${model.model_id.slice(0, 12)}… · ${model.algorithm} · threshold ${model.threshold.toFixed(3)} (${model.threshold_mode})`;
  const box = $("fields");
  for (const f of model.fields) {
    const label = document.createElement("label");
    label.append(f.name.replaceAll("_", " "));
    let input;
    if (f.kind === "categorical") {
      input = document.createElement("select");
      const empty = document.createElement("option");
      empty.value = ""; empty.textContent = "(missing)";
      input.append(empty);
      for (const c of f.categories) {
        const o = document.createElement("option");
        o.value = c; o.textContent = c;
        input.append(o);
      }
    } else {
      input = document.createElement("input");
      input.type = "number"; input.step = "any";
    }
    input.name = f.name;
    input.id = "field-" + f.name;
    label.append(input);
    box.append(label);
  }
}

async function score(event) {
  event.preventDefault();
  const body = {};
  for (const el of $("applicant").elements) {
    if (!el.name || el.value === "") continue;
    body[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  const r = await fetch("/v1/score", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await r.json();
  $("result").hidden = false;
  if (!r.ok || answer.error) {
    const e = answer.error || {};
    $("row-error").hidden = false;
    $("row-error").textContent = e.message || `${e.field} = '${e.value}': ${e.reason}`;
    $("decision").textContent = "error"; $("decision").className = "decision";
    $("probability").textContent = "–"; $("threshold").textContent = "–";
    drawReasons([]);
    return;
  }
  $("row-error").hidden = true;
  $("decision").textContent = answer.decision;
  $("decision").className = "decision " + answer.decision;
  $("probability").textContent = answer.probability_default.toFixed(4);
  $("threshold").textContent = answer.threshold.toFixed(4);
  drawReasons(answer.reasons);
}

function drawReasons(reasons) {
  const svg = $("reasons");
  while (svg.firstChild) svg.firstChild.remove();
  const rowHeight = 26, width = 640, labelWidth = 330;
  const max = Math.max(1e-9, ...reasons.map((r) => r.contribution));
  svg.setAttribute("height", String(Math.max(10, reasons.length * rowHeight)));
  reasons.forEach((reason, i) => {
    const text = document.createElementNS(svgNS, "text");
    text.setAttribute("x", "0"); text.setAttribute("y", String(i * rowHeight + 17));
    text.textContent = reason.text;
    const bar = document.createElementNS(svgNS, "rect");
    bar.setAttribute("class", "reason-bar");
    bar.setAttribute("x", String(labelWidth)); bar.setAttribute("y", String(i * rowHeight + 5));
    bar.setAttribute("height", "16");
    bar.setAttribute("width", String(Math.max(1, (width - labelWidth - 60) * reason.contribution / max)));
    const value = document.createElementNS(svgNS, "text");
    value.setAttribute("x", String(width - 55)); value.setAttribute("y", String(i * rowHeight + 17));
    value.textContent = reason.contribution.toFixed(3);
    svg.append(text, bar, value);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("applicant").addEventListener("submit", score);
  loadModel();
});
