// SVG charts for the analyst pages, drawn with DOM calls only (textContent and
// setAttribute, never markup), so every echoed value is text. Each data point of a line
// chart is a <circle class="pt">, each bar a <rect class="bar">: the tests count them.
"use strict";

const svgNS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const e = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function clear(svg) { while (svg.firstChild) svg.firstChild.remove(); }

const W = 420, H = 300, L = 48, R = 12, T = 14, B = 40;

function axes(svg, xLabel, yLabel, xMax, yMax, xTick) {
  const sx = (x) => L + (W - L - R) * x / xMax;
  const sy = (y) => H - B - (H - T - B) * y / yMax;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  svg.append(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.append(svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  for (let i = 0; i <= 4; i++) {
    const x = xMax * i / 4, y = yMax * i / 4;
    svg.append(svgEl("text", { class: "tick", x: sx(x), y: H - B + 14, "text-anchor": "middle" }, xTick ? xTick(x) : fmt(x)));
    svg.append(svgEl("text", { class: "tick", x: L - 4, y: sy(y) + 4, "text-anchor": "end" }, fmt(y)));
  }
  svg.append(svgEl("text", { class: "label", x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, xLabel));
  svg.append(svgEl("text", { class: "label", x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, yLabel));
  return { sx, sy };
}

function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en");
  return Number(x.toFixed(3)).toString();
}

// series: [{name, cls, points: [[x, y], ...]}]; options: diagonal, marker (x of a vertical line).
function lineChart(svg, series, o) {
  clear(svg);
  const { sx, sy } = axes(svg, o.xLabel, o.yLabel, o.xMax || 1, o.yMax || 1);
  if (o.diagonal) svg.append(svgEl("line", { class: "diagonal", x1: sx(0), y1: sy(0), x2: sx(o.xMax || 1), y2: sy(o.yMax || 1) }));
  if (o.marker !== undefined) {
    svg.append(svgEl("line", { class: "threshold", x1: sx(o.marker), y1: sy(0), x2: sx(o.marker), y2: sy(o.yMax || 1) }));
    svg.append(svgEl("text", { class: "tick", x: sx(o.marker) + 4, y: T + 10 }, "threshold " + fmt(o.marker)));
  }
  series.forEach((s, k) => {
    const g = svgEl("g", { class: "series " + s.cls, "data-series": s.name });
    g.append(svgEl("polyline", { points: s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ") }));
    for (const [x, y] of s.points) {
      const c = svgEl("circle", { class: "pt", cx: sx(x), cy: sy(y), r: 2 });
      c.append(svgEl("title", {}, `${s.name}: ${fmt(x)}, ${fmt(y)}`));
      g.append(c);
    }
    svg.append(g);
    svg.append(svgEl("text", { class: "legend " + s.cls, x: W - R - 4, y: T + 14 + 14 * k, "text-anchor": "end" }, s.name));
  });
}

// Vertical bars: labels per bin; series [{name, cls, values}] drawn side by side.
function barChart(svg, labels, series, o) {
  clear(svg);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const { sx, sy } = axes(svg, o.xLabel, o.yLabel, labels.length, max, o.xTick);
  const slot = (W - L - R) / labels.length, bw = Math.max(1, (slot - 2) / series.length);
  series.forEach((s, k) => {
    s.values.forEach((v, i) => {
      const r = svgEl("rect", { class: "bar " + s.cls, x: sx(i) + 1 + k * bw, y: sy(v), width: bw, height: Math.max(0, sy(0) - sy(v)) });
      r.append(svgEl("title", {}, `${s.name} · ${labels[i]}: ${v}`));
      svg.append(r);
    });
    svg.append(svgEl("text", { class: "legend " + s.cls, x: W - R - 4, y: T + 14 + 14 * k, "text-anchor": "end" }, s.name));
  });
}

// Horizontal bars with their labels (feature importance, reasons).
function hbarChart(svg, labels, values) {
  clear(svg);
  const row = 22, width = 640, lw = 260, max = Math.max(1e-12, ...values);
  svg.setAttribute("width", width); svg.setAttribute("height", Math.max(10, labels.length * row));
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(10, labels.length * row)}`);
  labels.forEach((label, i) => {
    svg.append(svgEl("text", { x: 0, y: i * row + 15 }, label));
    svg.append(svgEl("rect", { class: "bar", x: lw, y: i * row + 4, height: 15, width: Math.max(1, (width - lw - 70) * values[i] / max) }));
    svg.append(svgEl("text", { x: width - 64, y: i * row + 15 }, fmt(values[i])));
  });
}

// A table from rows of cells (text only).
function fillTable(table, head, rows) {
  table.replaceChildren();
  const tr = document.createElement("tr");
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.append(th); }
  table.append(tr);
  for (const r of rows) {
    const row = document.createElement("tr");
    for (const cell of r) {
      const td = document.createElement("td");
      if (cell && typeof cell === "object") { td.textContent = cell.text; if (cell.cls) td.className = cell.cls; }
      else td.textContent = cell;
      row.append(td);
    }
    table.append(row);
  }
}
