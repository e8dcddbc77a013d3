// Statistics: calls, errors and p50/p95/p99 per time bucket, computed by the
// server (GET /api/stats/timeseries: exact for any number of calls), the
// server's per-status counts for one endpoint, and a document's health timeline.
import { get, itemsOf, setHashQuery } from "./api.js";
import { h, replace, select, field, busy, fmtNum, fmtPct, table, badge } from "./dom.js";
import { barChart, lineChart, timeline } from "./charts.js";

const WINDOWS = { "1h": "5m", "6h": "15m", "24h": "1h", "7d": "6h", "30d": "1d" };

// Server buckets -> the charts' shape.
export function chartBuckets(series) {
  return series.buckets.map(b => ({ t: new Date(b.start).getTime(), calls: b.calls, errors: b.errors, ok: b.calls - b.errors,
    error_rate: b.calls ? 100 * b.errors / b.calls : null, p50: b.p50_ms, p95: b.p95_ms, p99: b.p99_ms }));
}

const ms = v => v != null ? `${fmtNum(v, 1)} ms` : "—";

export async function render(ctx) {
  const { main, query } = ctx;
  const docs = itemsOf(await get("/api/documents", { limit: 500 }));
  if (!ctx.alive) return;
  const docSel = select("document_id", [["", "— all documents —"], ...docs.map(d => [d.id, `${d.name} ${d.version || ""}`])], query.document_id || "", { id: "stats-document", label: "document" });
  const epSel = select("endpoint_id", [["", "— every endpoint of the document —"]], "", { id: "stats-endpoint", label: "endpoint" });
  const winSel = select("window", Object.keys(WINDOWS), WINDOWS[query.window] ? query.window : "24h", { id: "stats-window", label: "window" });
  const box = h("div", { id: "stats-charts", "aria-live": "polite" });

  const loadEndpoints = async () => {
    const items = docSel.value ? itemsOf(await get("/api/endpoints", { document_id: docSel.value, limit: 500, sort: "path" })) : [];
    replace(epSel, h("option", { value: "" }, "— every endpoint of the document —"),
      items.map(e => h("option", { value: e.endpoint_id || e.id }, `${e.method} ${e.path}`)));
    if (query.endpoint_id && items.some(e => (e.endpoint_id || e.id) === query.endpoint_id)) epSel.value = query.endpoint_id;
  };

  const load = async () => {
    setHashQuery({ document_id: docSel.value, endpoint_id: epSel.value, window: winSel.value }, { push: false });
    const scope = epSel.value ? { endpoint_id: epSel.value } : docSel.value ? { document_id: docSel.value } : {};
    const [series, server, checks] = await Promise.all([
      get("/api/stats/timeseries", { ...scope, window: winSel.value, bucket: WINDOWS[winSel.value] }),
      epSel.value ? get(`/api/endpoints/${epSel.value}/stats`, { window: winSel.value }) : Promise.resolve(null),
      docSel.value ? get(`/api/documents/${docSel.value}/health-checks`, { limit: 200 }) : Promise.resolve(null),
    ]);
    if (!ctx.alive) return;
    const t = series.totals;
    const buckets = chartBuckets(series);
    const cards = [["calls", fmtNum(t.calls)], ["errors", fmtNum(t.errors)],
      ["error rate", t.calls ? fmtPct(100 * t.errors / t.calls) : "—"],
      ["p50", ms(t.p50_ms)], ["p95", ms(t.p95_ms)], ["p99", ms(t.p99_ms)]];
    const parts = [
      h("div", { class: "cards", id: "stats-cards" }, cards.map(([k, v]) => h("div", { class: "card", "data-card": k }, h("div", { class: "v" }, v), h("div", { class: "k" }, k)))),
      h("p", { class: "small muted" }, `Computed by the server over the last ${winSel.value}, in ${series.buckets.length} buckets of ${WINDOWS[winSel.value]}.`),
      h("div", { class: "grid2" },
        barChart(buckets, [{ key: "ok", label: "ok" }, { key: "errors", label: "errors", cls: "err" }], { title: "Calls" }),
        lineChart(buckets, [{ key: "error_rate", label: "error rate", cls: "l3" }], { title: "Error rate", unit: "%" }),
        lineChart(buckets, [{ key: "p50", label: "p50", cls: "l1" }, { key: "p95", label: "p95", cls: "l2" }, { key: "p99", label: "p99", cls: "l3" }], { title: "Latency p50 / p95 / p99", unit: " ms" })),
    ];
    if (server && server.by_status) parts.push(h("div", { class: "panel" }, h("h2", {}, "By status"),
      table([{ label: "Status", render: r => r.status_code ?? badge(r.error_type || "error", "bad") }, { label: "Error type", key: "error_type" }, { label: "Calls", num: true, key: "calls" }], server.by_status)));
    if (checks) {
      const list = itemsOf(checks).slice().sort((a, b) => new Date(a.checked_at || a.created_at) - new Date(b.checked_at || b.created_at));
      parts.push(timeline(list, { title: "Health checks" }));
    } else parts.push(h("p", { class: "muted small" }, "Choose a document to see its health-check timeline."));
    replace(box, ...parts);
  };

  docSel.addEventListener("change", async () => { query.endpoint_id = ""; await busy(null, loadEndpoints, box); busy(null, load, box); });
  epSel.addEventListener("change", () => busy(null, load, box));
  winSel.addEventListener("change", () => busy(null, load, box));
  replace(main, h("h1", {}, "Statistics"),
    h("div", { class: "panel fields" }, field("Document", docSel), field("Endpoint", epSel), field("Window", winSel)), box);
  await busy(null, loadEndpoints, box);
  await busy(null, load, box);
}
