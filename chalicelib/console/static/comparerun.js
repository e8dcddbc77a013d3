// One whole-dataset run: state and progress polled while it runs (segments, keys,
// differences so far, rate, ETA), cancel and resume, its differences paged with the
// type filter, the summary once it ends, and the export: every page of
// /api/compare-runs/{id}/export (X-Next-After / Link rel="next") assembled into one file.
import { session, get, post, call, ApiError } from "./api.js";
import { h, replace, table, badge, select, input, busy, toast, fmtTime, fmtNum, fmtPct, jsonView, kv } from "./dom.js";
import { keyText, valueCell } from "./compare.js";
import { segmentsText } from "./compareruns.js";

const PAGE = 25;
const POLL_MS = 1000;
// The types the differences route filters on (format_only entries are listed, not filterable).
const DIFF_TYPES = ["value_mismatch", "type_mismatch", "ttl_mismatch", "missing"];
const CANCELLABLE = ["running", "paused"];
const RESUMABLE = ["paused", "cancelled", "failed"];

function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  const n = Math.round(Number(s));
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min ${n % 60} s`;
  return `${Math.floor(n / 3600)} h ${Math.floor((n % 3600) / 60)} min`;
}

// The "next" page of an export: X-Next-After, else the Link header's rel="next" target's `after`.
export function nextAfter(headers) {
  const direct = headers.get("X-Next-After");
  if (direct) return direct;
  const link = headers.get("Link") || "";
  const m = link.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!m) return null;
  return new URL(m[1], location.origin).searchParams.get("after");
}

// Every page of the export, in order -> {parts, pages, bytes}.
async function fetchExport(runId, format, limit, differenceType, onPage) {
  const parts = [];
  let after = 0, pages = 0, bytes = 0;
  for (;;) {
    const r = await call("GET", `/api/compare-runs/${runId}/export`, { raw: true, headers: { Accept: "*/*" },
      query: { format, limit, after, difference_type: differenceType } });
    if (r.status !== 200) {
      const e = (r.json && r.json.error) || {};
      throw new ApiError(r.status, e.code || `HTTP_${r.status}`, e.message || r.text, e.details, r.json);
    }
    parts.push(r.text);
    pages += 1; bytes += new Blob([r.text]).size;
    onPage && onPage(pages, bytes);
    const next = nextAfter(r.headers);
    if (!next) return { parts, pages, bytes };
    after = next;
  }
}

function diffValue(d, side) {
  const x = d.detail || {};
  return side === 1 ? (x.cluster1_value ?? x.pro_value) : (x.cluster2_value ?? x.test_value);
}

export async function renderRun(ctx, id) {
  const { main } = ctx;
  let run = await get(`/api/compare-runs/${id}`);
  if (!ctx.alive) return;
  const cassandra = run.engine === "cassandra";
  const [L, R] = cassandra ? ["pro", "test"] : ["cluster1", "cluster2"];
  const canSteer = session.can("operator");

  // ---------------------------------------------------------------- state and progress
  const stateBadge = h("span", { id: "run-state" });
  const reason = h("span", { class: "small muted", id: "run-reason" });
  const bar = h("div", { style: { width: "0%" } });
  const progress = h("div", { class: "progress", role: "progressbar", "aria-label": "progress", "aria-valuemin": "0", "aria-valuemax": "100", id: "run-progress" }, bar);
  const percent = h("span", { class: "small muted", id: "run-percent" });
  const cards = h("div", { class: "cards", id: "run-cards" });
  const actions = h("div", { class: "row", id: "run-actions" });
  const actionOut = h("div");
  const segBox = h("div", { id: "run-segments" });
  const summaryBox = h("div", { id: "run-summary" });
  const facts = h("div", { id: "run-facts" });
  let shownState = null;

  const steer = (verb, label, cls) => h("button", { type: "button", class: cls, id: `run-${verb}`, onclick: ev => busy(ev.target, async () => {
    run = await post(`/api/compare-runs/${id}/${verb}`, {});
    toast(`Run ${verb === "cancel" ? "cancelled" : "resumed"}`);
    drawState(true);
    ensurePolling();
  }, actionOut) }, label);

  function drawState(focusActions = false) {
    const p = run.progress || {};
    stateBadge.dataset.state = run.state;
    replace(stateBadge, badge(run.state));
    reason.textContent = run.state_reason || "";
    const pct = Number(p.percent || 0);
    bar.style.width = `${Math.min(100, pct)}%`;
    progress.setAttribute("aria-valuenow", String(pct));
    percent.textContent = `${fmtPct(pct)} of about ${fmtNum(p.estimated_keys)} ${cassandra ? "rows" : "keys"}`;
    const items = [
      ["segments", "segments done", segmentsText(p)], ["scanned", cassandra ? "rows read" : "keys scanned", fmtNum(p.keys_scanned)],
      ["compared", cassandra ? "rows compared" : "keys compared", fmtNum(p.keys_compared)], ["identical", "identical", fmtNum(p.identical)],
      ["differences", "differences so far", fmtNum(p.differences)], ["rate", cassandra ? "rows / s" : "keys / s", fmtNum(p.keys_per_second, 1)],
      ["eta", "time left", run.state === "running" ? fmtSeconds(p.eta_seconds) : "—"], ["elapsed", "running time", fmtSeconds(p.elapsed_seconds)],
    ];
    replace(facts, kv([["Engine", run.engine], ["Priority", run.priority], ["Created", fmtTime(run.created_at)],
      ["Finished", fmtTime(run.finished_at)], run.description ? ["Description", run.description] : null]));
    replace(cards, items.map(([k, label, v]) => h("div", { class: "card", "data-k": k }, h("div", { class: "v" }, v), h("div", { class: "k" }, label))));
    if (shownState !== run.state) {   // the buttons are redrawn only when the state changes (keeps the focus)
      shownState = run.state;
      replace(actions, canSteer ? [CANCELLABLE.includes(run.state) ? steer("cancel", "Cancel the run", "danger") : "",
        RESUMABLE.includes(run.state) ? steer("resume", "Resume", "") : ""] : "");
      if (focusActions) { const b = actions.querySelector("button"); if (b) b.focus(); }
    }
    replace(segBox, table([
      { label: "Segment", render: s => h("code", { class: "small" }, s.segment_id), wrap: true }, { label: "Side", key: "side" },
      { label: "Node", render: s => s.node || "", narrow: true }, { label: "State", render: s => badge(s.state) },
      { label: cassandra ? "Rows" : "Keys", num: true, render: s => fmtNum(s.keys_scanned) }, { label: "Differences", num: true, render: s => fmtNum(s.differences) },
      { label: "Attempts", num: true, render: s => fmtNum(s.attempts), narrow: true },
      { label: "Last error", render: s => s.last_error || "", wrap: true, narrow: true },
    ], run.segments || [], { empty: "No segments.", rowAttrs: s => ({ "data-segment-state": s.state }) }));
    const s = run.summary;
    replace(summaryBox, s ? [h("h2", {}, "Summary"), s.overview ? h("p", {}, s.overview) : "",
      s.percentages ? h("div", { class: "row" }, Object.entries(s.percentages).map(([k, v]) => badge(`${k.replace(/_/g, " ")} ${fmtPct(v)}`, k.startsWith("match") ? "ok" : "warn"))) : "",
      (s.recommendations || []).length ? [h("h3", {}, "Recommendations"), h("ul", { id: "run-recommendations" }, s.recommendations.map(x => h("li", {}, x)))] : "",
      h("details", {}, h("summary", {}, "the whole summary"), jsonView(s))] : h("p", { class: "muted small" }, "The summary is built when the run ends."));
  }

  // ---------------------------------------------------------------- differences
  let offset = 0, seenDiffs = -1;
  const dtype = select("difference_type", [["", "any difference"], ...DIFF_TYPES], "", { id: "run-diff-type", label: "difference type" });
  const diffBox = h("div", { id: "run-diffs" });
  const loadDiffs = async () => {
    const data = await get(`/api/compare-runs/${id}/differences`, { limit: PAGE, offset, difference_type: dtype.value });
    if (!ctx.alive) return;
    const items = data.items || [];
    replace(diffBox, table([
      { label: "Key", render: d => h("code", {}, keyText(d.key)), wrap: true },
      cassandra ? { label: "Field", render: d => d.field || "" } : { label: "Type", render: d => d.value_type || "", narrow: true },
      { label: "Difference", render: d => badge(d.difference_type, "warn") },
      { label: "Missing in", render: d => d.missing_in || "", narrow: true },
      { label: L, render: d => valueCell(diffValue(d, 1), diffValue(d, 2)), wrap: true },
      { label: R, render: d => valueCell(diffValue(d, 2), diffValue(d, 1)), wrap: true },
      { label: "Detail", render: d => (d.detail && d.detail.message) || "", wrap: true, narrow: true },
    ], items, { empty: dtype.value ? "No difference of this type." : "No differences found (yet).", rowAttrs: d => ({ "data-key": keyText(d.key), "data-type": d.difference_type }) }),
    h("div", { class: "pager" }, h("span", { class: "small muted", id: "run-diff-count" },
      data.total ? `${fmtNum(offset + 1)}–${fmtNum(offset + items.length)} of ${fmtNum(data.total)}` : "0 of 0"),
      h("button", { type: "button", class: "secondary", id: "run-diff-prev", disabled: offset === 0, onclick: ev => { offset = Math.max(0, offset - PAGE); busy(ev.target, loadDiffs, diffBox); } }, "Previous"),
      h("button", { type: "button", class: "secondary", id: "run-diff-next", disabled: !data.has_more, onclick: ev => { offset += PAGE; busy(ev.target, loadDiffs, diffBox); } }, "Next")));
  };
  dtype.addEventListener("change", () => { offset = 0; busy(null, loadDiffs, diffBox); });

  // ---------------------------------------------------------------- export
  const format = select("format", [["csv", "CSV"], ["jsonl", "JSON Lines"]], "csv", { id: "run-export-format", label: "export format" });
  const limit = input("limit", { type: "number", value: 5000, min: 1, max: 20000, id: "run-export-limit", label: "rows per request" });
  const exportStatus = h("div", { id: "run-export-status", class: "small", "aria-live": "polite" });
  const exportOut = h("div");
  let blobUrl = null;
  const revoke = () => { if (blobUrl) URL.revokeObjectURL(blobUrl); blobUrl = null; };
  ctx.onLeave(revoke);
  const exportButton = h("button", { type: "button", id: "run-export", onclick: ev => busy(ev.target, async () => {
    const fmt = format.value;
    const n = Math.min(20000, Math.max(1, Number(limit.value) || 5000));
    replace(exportStatus, "Fetching…");
    const got = await fetchExport(id, fmt, n, dtype.value, (pages, bytes) => { exportStatus.textContent = `Fetched ${pages} page(s), ${fmtNum(bytes / 1024, 1)} KB…`; });
    revoke();
    const name = `compare-run-${id}${dtype.value ? `-${dtype.value}` : ""}.${fmt}`;
    blobUrl = URL.createObjectURL(new Blob(got.parts, { type: fmt === "csv" ? "text/csv" : "application/x-ndjson" }));
    const link = h("a", { href: blobUrl, download: name, id: "run-export-link" }, name);
    Object.assign(exportStatus.dataset, { pages: String(got.pages), bytes: String(got.bytes), filename: name });
    replace(exportStatus, "Ready: ", link, ` (${fmtNum(got.bytes / 1024, 1)} KB in ${got.pages} page(s)). Not downloaded? Use the link.`);
    link.click();
  }, exportOut) }, "Download every difference");

  // ---------------------------------------------------------------- page
  const pub = run.public_config || {};
  replace(main,
    h("div", { class: "spread" }, h("h1", { id: "run-title" }, run.name || `Run ${id}`), h("a", { href: "#/compare-runs" }, "All runs")),
    h("section", { class: "panel stack", "aria-label": "state and progress" },
      h("div", { class: "row" }, stateBadge, reason), h("div", { class: "row" }, h("div", { class: "grow" }, progress), percent),
      cards, actions, actionOut,
      facts,
      h("details", {}, h("summary", {}, "segments"), segBox),
      h("details", {}, h("summary", {}, "configuration (passwords masked)"), jsonView(pub))),
    h("section", { class: "panel", id: "run-summary-section" }, summaryBox),
    h("section", { class: "panel", "aria-labelledby": "run-diffs-title" }, h("div", { class: "spread" }, h("h2", { id: "run-diffs-title" }, "Differences"), h("div", { class: "row" }, dtype)), diffBox),
    h("section", { class: "panel stack", "aria-labelledby": "run-export-title" }, h("h2", { id: "run-export-title" }, "Export"),
      h("p", { class: "small muted" }, "Every difference of the run (of the chosen type, if one is chosen above) as one file, fetched page by page."),
      h("div", { class: "row" }, format, h("label", { class: "check small muted" }, "rows per request", limit), exportButton), exportStatus, exportOut));
  drawState();
  await busy(null, loadDiffs, diffBox);
  seenDiffs = (run.progress || {}).differences ?? 0;

  // ---------------------------------------------------------------- polling while it runs
  let timer = null, polling = false;
  function ensurePolling() {
    if (timer || run.state !== "running") return;
    timer = setInterval(async () => {
      if (!ctx.alive || polling || document.hidden) return;
      polling = true;
      try {
        run = await get(`/api/compare-runs/${id}`);
        if (!ctx.alive) return;
        drawState();
        const n = (run.progress || {}).differences ?? 0;
        if (n !== seenDiffs || run.state !== "running") { seenDiffs = n; await loadDiffs(); }
        if (run.state !== "running") { clearInterval(timer); timer = null; }
      } catch { /* the next tick retries */ } finally { polling = false; }
    }, POLL_MS);
  }
  ctx.onLeave(() => { if (timer) clearInterval(timer); });
  ensurePolling();
}
