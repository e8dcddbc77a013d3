// Statistics: calls, error rate and p50/p95 over time (from call logs), health timeline.
import { get, itemsOf } from "./api.js";
import { h, replace, select, field, busy, fmtNum, fmtPct, kv, table, badge } from "./dom.js";
import { barChart, lineChart, timeline, bucketize, percentile } from "./charts.js";

const WINDOWS = { "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 24 * 3600e3 };
const MAX_LOGS = 2000;

async function fetchLogs(filter, since, until) {
  const out = [];
  for (let offset = 0; offset < MAX_LOGS; offset += 500) {
    const data = await get("/api/call-logs", { ...filter, since: new Date(since).toISOString(), until: new Date(until).toISOString(), limit: 500, offset });
    const items = itemsOf(data);
    out.push(...items);
    if (!data.has_more || !items.length) break;
  }
  return out;
}

export async function render(ctx) {
  const { main, query } = ctx;
  const docs = itemsOf(await get("/api/documents", { limit: 500 }));
  if (!ctx.alive) return;
  const docSel = select("document_id", [["", "— all documents —"], ...docs.map(d => [d.id, `${d.name} ${d.version || ""}`])], query.document_id || "", { id: "stats-document", label: "document" });
  const epSel = select("endpoint_id", [["", "— every endpoint of the document —"]], "", { id: "stats-endpoint", label: "endpoint" });
  const winSel = select("window", Object.keys(WINDOWS), query.window || "24h", { id: "stats-window", label: "window" });
  const box = h("div", { id: "stats-charts" });

  const loadEndpoints = async () => {
    const items = docSel.value ? itemsOf(await get("/api/endpoints", { document_id: docSel.value, limit: 500 })) : [];
    replace(epSel, h("option", { value: "" }, "— every endpoint of the document —"),
      items.map(e => h("option", { value: e.endpoint_id || e.id }, `${e.method} ${e.path}`)));
    if (query.endpoint_id && items.some(e => (e.endpoint_id || e.id) === query.endpoint_id)) epSel.value = query.endpoint_id;
  };

  const load = async () => {
    const until = Date.now(), span = WINDOWS[winSel.value], since = until - span;
    const filter = epSel.value ? { endpoint_id: epSel.value } : docSel.value ? { document_id: docSel.value } : {};
    const [logs, server, checks] = await Promise.all([
      fetchLogs(filter, since, until),
      epSel.value ? get(`/api/endpoints/${epSel.value}/stats`, { window: winSel.value }) : Promise.resolve(null),
      docSel.value ? get(`/api/documents/${docSel.value}/health-checks`, { limit: 200 }) : Promise.resolve(null),
    ]);
    if (!ctx.alive) return;
    const buckets = bucketize(logs, { from: since, to: until, count: 24 });
    const times = logs.map(l => l.response_time_ms).filter(v => v != null).map(Number).sort((a, b) => a - b);
    const errors = logs.filter(l => l.error_type || (l.response_status_code ?? 0) >= 400 || l.response_status_code == null).length;
    const summary = server || { calls: logs.length, errors, success_rate: logs.length ? (logs.length - errors) / logs.length : null,
      p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), p99_ms: percentile(times, 99) };
    const cards = [["calls", fmtNum(summary.calls)], ["errors", fmtNum(summary.errors)],
      ["error rate", summary.calls ? fmtPct(100 * summary.errors / summary.calls) : "—"],
      ["p50", summary.p50_ms != null ? `${fmtNum(summary.p50_ms, 1)} ms` : "—"], ["p95", summary.p95_ms != null ? `${fmtNum(summary.p95_ms, 1)} ms` : "—"],
      ["p99", summary.p99_ms != null ? `${fmtNum(summary.p99_ms, 1)} ms` : "—"]];
    const parts = [
      h("div", { class: "cards", id: "stats-cards" }, cards.map(([k, v]) => h("div", { class: "card" }, h("div", { class: "v" }, v), h("div", { class: "k" }, k)))),
      logs.length >= MAX_LOGS ? h("p", { class: "small muted" }, `Charts use the latest ${MAX_LOGS} calls of the window.`) : "",
      h("div", { class: "grid2" },
        barChart(buckets, [{ key: "ok", label: "ok" }, { key: "errors", label: "errors", cls: "err" }], { title: "Calls" }),
        lineChart(buckets, [{ key: "error_rate", label: "error rate", cls: "l3" }], { title: "Error rate", unit: "%" }),
        lineChart(buckets, [{ key: "p50", label: "p50", cls: "l1" }, { key: "p95", label: "p95", cls: "l2" }], { title: "Latency p50 / p95", unit: " ms" })),
    ];
    if (server && server.by_status) parts.push(h("div", { class: "panel" }, h("h3", {}, "By status"),
      table([{ label: "Status", render: r => r.status_code ?? badge(r.error_type || "error", "bad") }, { label: "Error type", key: "error_type" }, { label: "Calls", num: true, key: "calls" }], server.by_status)));
    if (checks) {
      const list = itemsOf(checks).slice().sort((a, b) => new Date(a.checked_at || a.created_at) - new Date(b.checked_at || b.created_at));
      parts.push(timeline(list, { title: "Health checks" }));
    } else parts.push(h("p", { class: "muted small" }, "Choose a document to see its health-check timeline."));
    replace(box, ...parts);
  };

  docSel.addEventListener("change", async () => { await busy(null, loadEndpoints, box); busy(null, load, box); });
  epSel.addEventListener("change", () => busy(null, load, box));
  winSel.addEventListener("change", () => busy(null, load, box));
  replace(main, h("h1", {}, "Statistics"),
    h("div", { class: "panel fields" }, field("Document", docSel), field("Endpoint", epSel), field("Window", winSel)), box);
  await busy(null, loadEndpoints, box);
  await busy(null, load, box);
}
