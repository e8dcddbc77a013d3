// Call logs across endpoints: filters kept in the URL, one call opened in full.
import { get, itemsOf, setHashQuery } from "./api.js";
import { h, replace, table, badge, field, input, select, busy, fmtTime, fmtNum, kv, bodyView, jsonView, pathText } from "./dom.js";

const PAGE = 50;

export function statusBadge(l) {
  const sc = l.response_status_code ?? l.status_code;
  return sc === null || sc === undefined ? badge(l.error_type || "error", "bad") : badge(String(sc), sc < 400 ? "ok" : "bad");
}

// datetime-local value (local time) <-> ISO instant
const toLocal = iso => { if (!iso) return ""; const d = new Date(iso); if (isNaN(d)) return ""; const p = n => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; };
const fromLocal = v => v ? new Date(v).toISOString() : "";

export async function renderList(ctx) {
  const { main, query } = ctx;
  const docs = itemsOf(await get("/api/documents", { limit: 500 }));
  if (!ctx.alive) return;
  let offset = Number(query.offset || 0);
  const docSel = select("document_id", [["", "all documents"], ...docs.map(d => [d.id, `${d.name} ${d.version || ""}`])], query.document_id || "", { id: "calls-document", label: "document" });
  const epSel = select("endpoint_id", [["", "every endpoint"]], "", { id: "calls-endpoint", label: "endpoint" });
  const f = h("form", { class: "fields", id: "call-filters", role: "search" },
    field("Document", docSel), field("Endpoint", epSel),
    field("Status class", select("status_class", [["", "any"], "2xx", "3xx", "4xx", "5xx"], query.status_class || "", { id: "calls-status-class", label: "status class" })),
    field("Status code", input("status_code", { type: "number", min: 100, max: 599, value: query.status_code || "", id: "calls-status-code", label: "status code" })),
    field("Error type", select("error_type", [["", "any"], ["none", "no error"], "timeout", "connection", "ssl", "upstream_status", "refused", "too_large", "redirects", "auth"], query.error_type || "", { id: "calls-error-type", label: "error type" })),
    field("Since", input("since", { type: "datetime-local", value: toLocal(query.since), id: "calls-since", label: "since" })),
    field("Until", input("until", { type: "datetime-local", value: toLocal(query.until), id: "calls-until", label: "until" })),
    h("div", { class: "row" }, h("button", { type: "submit", id: "calls-apply" }, "Apply")));
  const box = h("div", { id: "call-list" });
  const filters = () => {
    const v = Object.fromEntries(new FormData(f));
    return { ...v, since: fromLocal(v.since), until: fromLocal(v.until) };
  };
  const loadEndpoints = async () => {
    const items = docSel.value ? itemsOf(await get("/api/endpoints", { document_id: docSel.value, limit: 500, sort: "path" })) : [];
    replace(epSel, h("option", { value: "" }, "every endpoint"), items.map(e => h("option", { value: e.endpoint_id || e.id }, `${e.method} ${e.path}`)));
    if (query.endpoint_id) epSel.value = query.endpoint_id;
  };
  const load = async () => {
    const q = filters();
    const data = await get("/api/call-logs", { ...q, limit: PAGE, offset });
    if (!ctx.alive) return;
    const items = itemsOf(data);
    replace(box, table([
      { label: "When", render: l => h("a", { href: `#/call/${l.id}` }, fmtTime(l.created_at)) },
      { label: "Method", render: l => h("span", { class: `method ${l.request_method}` }, l.request_method) },
      { label: "URL", render: l => h("code", { class: "small" }, pathText(l.request_url)), wrap: true },
      { label: "Status", render: statusBadge },
      { label: "Time", num: true, render: l => l.response_time_ms != null ? `${fmtNum(l.response_time_ms)} ms` : "—" },
      { label: "Error", render: l => l.error_message || "", narrow: true, wrap: true },
    ], items, { empty: "No call matches (the default window is the last 24 hours).", onRow: l => { location.hash = `#/call/${l.id}`; }, rowAttrs: l => ({ "data-log-id": l.id }) }),
    h("div", { class: "pager" }, h("span", { class: "small muted", id: "calls-total" }, `${fmtNum(data.total ?? items.length)} call(s)`),
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); setHashQuery({ ...query, ...filters(), offset }); busy(null, load, box); } }, "Previous"),
      h("button", { type: "button", class: "secondary", disabled: !data.has_more, onclick: () => { offset += PAGE; setHashQuery({ ...filters(), offset }); busy(null, load, box); } }, "Next")));
  };
  const apply = () => { offset = 0; setHashQuery(filters()); busy(null, load, box); };
  f.addEventListener("submit", ev => { ev.preventDefault(); apply(); });
  docSel.addEventListener("change", async () => { query.endpoint_id = ""; await busy(null, loadEndpoints, box); apply(); });
  epSel.addEventListener("change", apply);
  replace(main, h("h1", {}, "Call logs"), h("div", { class: "panel" }, f), h("div", { class: "panel" }, box));
  await busy(null, loadEndpoints, box);
  await busy(null, load, box);
}

export async function renderCall(ctx, id) {
  const { main } = ctx;
  const l = await get(`/api/call-logs/${id}`);
  if (!ctx.alive) return;
  const headersTable = hd => table([{ label: "Header", key: "k" }, { label: "Value", key: "v", wrap: true }],
    Object.entries(hd || {}).map(([k, v]) => ({ k, v: String(v) })), { empty: "No headers." });
  replace(main,
    h("div", { class: "spread" }, h("h1", {}, h("span", { class: `method ${l.request_method}` }, l.request_method), " ", h("code", {}, pathText(l.request_url))),
      h("div", { class: "row" }, h("a", { class: "btn secondary", href: `#/endpoint/${l.api_endpoint_id}` }, "Endpoint"),
        h("a", { class: "btn secondary", href: `#/calls?endpoint_id=${l.api_endpoint_id}` }, "Its calls"))),
    h("div", { class: "panel" }, kv([["Status", statusBadge(l)], ["When", fmtTime(l.created_at)],
      ["Time", l.response_time_ms != null ? `${fmtNum(l.response_time_ms)} ms` : null], ["Error", l.error_message],
      ["Error type", l.error_type], ["Sizes", `${fmtNum(l.request_size_bytes)} B sent, ${fmtNum(l.response_size_bytes)} B received`],
      ["Client", [l.client_ip, l.user_agent].filter(Boolean).join(" · ")],
      l.resource_reference_id ? ["Reference", h("a", { href: `#/reference/${l.resource_reference_id}` }, l.resource_reference_id)] : null,
      ["Log id", h("code", { class: "small" }, l.id)]])),
    h("div", { class: "grid2" },
      h("section", { class: "panel", id: "call-request" }, h("h2", {}, "Request"),
        l.request_params && Object.keys(l.request_params).length ? [h("h3", {}, "Parameters"), jsonView(l.request_params)] : "",
        h("h3", {}, "Headers"), headersTable(l.request_headers), h("h3", {}, "Body"), bodyView(l.request_body, { testid: "call-request-body" })),
      h("section", { class: "panel", id: "call-response" }, h("h2", {}, "Response"),
        h("h3", {}, "Headers"), headersTable(l.response_headers), h("h3", {}, "Body"), bodyView(l.response_body, { testid: "call-response-body" }))));
}
