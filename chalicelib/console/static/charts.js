// Inline SVG charts: bars, lines and a timeline (the figures come from the server). Sized by viewBox, so they fit 390 px and 1280 px.
import { h, s } from "./dom.js";

const W = 640, H = 200, PAD = { l: 44, r: 10, t: 10, b: 26 };

function scaleY(max) { return v => PAD.t + (H - PAD.t - PAD.b) * (1 - (max ? v / max : 0)); }
function niceMax(v) {
  if (!v || v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function fmtTick(t) {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function frame(svg, max, unit, buckets) {
  const y = scaleY(max);
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    svg.append(s("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
    svg.append(s("text", { x: PAD.l - 4, y: y(v) + 4, "text-anchor": "end", text: `${Math.round(v * 100) / 100}${unit}` }));
  }
  const n = buckets.length;
  const step = Math.max(1, Math.ceil(n / 6));
  buckets.forEach((b, i) => {
    if (i % step) return;
    svg.append(s("text", { x: PAD.l + (W - PAD.l - PAD.r) * (i + 0.5) / n, y: H - 8, "text-anchor": "middle", text: fmtTick(b.t) }));
  });
}

// buckets: [{t, ...}], series: [{key, cls, label}] stacked bars
export function barChart(buckets, series, { title, unit = "" } = {}) {
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title || "bar chart" });
  const totals = buckets.map(b => series.reduce((a, sr) => a + (b[sr.key] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  frame(svg, max, unit, buckets);
  const y = scaleY(max), n = buckets.length || 1, bw = (W - PAD.l - PAD.r) / n;
  buckets.forEach((b, i) => {
    let acc = 0;
    for (const sr of series) {
      const v = b[sr.key] || 0;
      if (!v) continue;
      const y0 = y(acc), y1 = y(acc + v);
      svg.append(s("rect", { class: `bar ${sr.cls || ""}`, x: PAD.l + i * bw + 1, y: y1, width: Math.max(1, bw - 2), height: Math.max(0, y0 - y1) },
        s("title", { text: `${new Date(b.t).toLocaleString()}: ${v} ${sr.label}` })));
      acc += v;
    }
  });
  return wrap(svg, title, series.map((sr, i) => [sr.cls === "err" ? "c3" : "c0", sr.label]));
}

// Lines with gaps where a bucket has no value (null).
export function lineChart(buckets, series, { title, unit = "" } = {}) {
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title || "line chart" });
  const vals = buckets.flatMap(b => series.map(sr => b[sr.key])).filter(v => v !== null && v !== undefined);
  const max = niceMax(Math.max(0, ...vals));
  frame(svg, max, unit, buckets);
  const y = scaleY(max), n = buckets.length || 1;
  const x = i => PAD.l + (W - PAD.l - PAD.r) * (i + 0.5) / n;
  series.forEach((sr, si) => {
    let d = "", pen = false;
    buckets.forEach((b, i) => {
      const v = b[sr.key];
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
      svg.append(s("circle", { cx: x(i), cy: y(v), r: 2.5, class: sr.cls, fill: "currentColor" },
        s("title", { text: `${new Date(b.t).toLocaleString()}: ${sr.label} ${Math.round(v * 100) / 100}${unit}` })));
    });
    if (d) svg.append(s("path", { class: sr.cls, d }));
  });
  return wrap(svg, title, series.map((sr, i) => [sr.cls ? sr.cls.replace("l", "c") : `c${i + 1}`, sr.label]));
}

function wrap(svg, title, legend) {
  return h("figure", { class: "panel", "data-chart": title || "" },
    h("div", { class: "spread" }, h("strong", {}, title || ""), h("div", { class: "legend" }, legend.map(([c, l]) => h("span", {}, h("i", { class: c }), l)))),
    svg);
}

// checks: [{checked_at, status, response_time_ms, error_message}] oldest -> newest
export function timeline(checks, { title = "Health checks" } = {}) {
  const TW = 640, TH = 48;
  const svg = s("svg", { class: "chart timeline", viewBox: `0 0 ${TW} ${TH}`, role: "img", "aria-label": title });
  if (!checks.length) {
    svg.append(s("text", { x: 8, y: 28, text: "no checks yet" }));
  } else {
    const t0 = new Date(checks[0].checked_at || checks[0].created_at).getTime();
    const t1 = new Date(checks[checks.length - 1].checked_at || checks[checks.length - 1].created_at).getTime();
    const span = Math.max(1, t1 - t0);
    const w = Math.max(3, Math.min(24, (TW - 20) / checks.length - 1));
    checks.forEach((c, i) => {
      const t = new Date(c.checked_at || c.created_at).getTime();
      const x = checks.length === 1 ? 10 : 10 + (TW - 20 - w) * (t - t0) / span;
      const st = ["success", "failed", "timeout"].includes(c.status) ? c.status : "other";
      svg.append(s("rect", { class: st, x: x.toFixed(1), y: 8, width: w, height: 22, rx: 2 },
        s("title", { text: `${new Date(t).toLocaleString()} — ${c.status}${c.response_time_ms != null ? `, ${c.response_time_ms} ms` : ""}${c.error_message ? `: ${c.error_message}` : ""}` })));
    });
    svg.append(s("text", { x: 10, y: 44, text: new Date(t0).toLocaleString() }));
    svg.append(s("text", { x: TW - 10, y: 44, "text-anchor": "end", text: new Date(t1).toLocaleString() }));
  }
  return h("figure", { class: "panel", "data-chart": title },
    h("div", { class: "spread" }, h("strong", {}, title),
      h("div", { class: "legend" }, h("span", {}, h("i", { class: "c0" }), "success"), h("span", {}, h("i", { class: "c3" }), "failed"), h("span", {}, h("i", { class: "c2" }), "timeout"))),
    svg);
}
