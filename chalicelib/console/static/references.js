// Resource references: a workflow node, form, dashboard... bound to an endpoint
// with a parameter mapping; create, invoke with an input, and see the usage.
import { session, get, post, patch, del, itemsOf, setHashQuery } from "./api.js";
import { h, replace, table, badge, field, input, select, textarea, busy, toast, fmtTime, fmtNum, kv, jsonView, method, pathText } from "./dom.js";
import { responseView } from "./endpoint.js";
import { statusBadge } from "./calls.js";

const TYPES = ["workflow_node", "scheduled_task", "form", "dashboard"];
const TARGET = { path: "path", query: "query", header: "headers", cookie: "cookies" };

function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map(v => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function mappingRow(key = "", value = "") {
  const tr = h("tr", { class: "map-row" });
  tr.append(h("td", {}, input("map_key", { value: key, placeholder: "query.limit", label: "mapping target" })),
    h("td", {}, input("map_value", { value, placeholder: "{{ input.limit }} or a literal", label: "mapping value" })),
    h("td", {}, h("button", { type: "button", class: "link", onclick: () => tr.remove() }, "remove")));
  return tr;
}

function parseLiteral(text) {
  const t = text.trim();
  if (/^\{\{[^]*\}\}$/.test(t) || t === "") return text;
  try { return JSON.parse(t); } catch { return text; }
}

function createForm(docs, onCreated) {
  const out = h("div", { id: "ref-result" });
  const docSel = select("document_id", [["", "— document —"], ...docs.map(d => [d.id, `${d.name} ${d.version || ""}`])], "", { id: "ref-document", label: "document" });
  const epSel = select("api_endpoint_id", [["", "— endpoint —"]], "", { id: "ref-endpoint", label: "endpoint" });
  const resId = input("resource_id", { id: "ref-resource-id", value: uuid4(), label: "resource id" });
  const tbody = h("tbody", { id: "ref-mapping" });
  const defaults = textarea("defaults", { code: true, rows: 3, id: "ref-defaults", placeholder: '{"limit": 10}', label: "defaults" });
  docSel.addEventListener("change", () => busy(null, async () => {
    const items = docSel.value ? itemsOf(await get("/api/endpoints", { document_id: docSel.value, limit: 500, sort: "path" })) : [];
    replace(epSel, h("option", { value: "" }, "— endpoint —"), items.map(e => h("option", { value: e.endpoint_id || e.id }, `${e.method} ${e.path}`)));
  }, out));
  // Choosing an endpoint proposes one mapping row per parameter: <in>.<name> <- {{ input.<name> }}
  epSel.addEventListener("change", () => busy(null, async () => {
    if (!epSel.value) return;
    const ep = await get(`/api/endpoints/${epSel.value}`);
    const params = ((ep.resolved && ep.resolved.parameters) || ep.parameters || []).filter(p => p && TARGET[p.in]);
    replace(tbody, params.map(p => mappingRow(`${TARGET[p.in]}.${p.name}`, `{{ input.${p.name.replace(/\W/g, "_")} }}`)));
    if (ep.request_body_schema) tbody.append(mappingRow("body", "{{ input.body }}"));
    if (!tbody.children.length) tbody.append(mappingRow());
  }, out));
  const f = h("form", { class: "panel", id: "ref-form" }, h("h2", {}, "New reference"),
    h("div", { class: "fields" },
      field("Resource type", select("resource_type", TYPES, "workflow_node", { id: "ref-type", label: "resource type" }), { required: true }),
      field("Resource id (UUID of your node, form…)", resId, { required: true }),
      field("Display name", input("display_name", { id: "ref-name", label: "display name" })),
      field("Document", docSel), field("Endpoint", epSel, { required: true }),
      field("Description", input("description", { id: "ref-description", label: "description" }), { wide: true })),
    h("h3", {}, "Parameter mapping"),
    h("p", { class: "small muted" }, "Targets: path.<name>, query.<name>, headers.<name>, cookies.<name>, body, body.<a.b>, content_type, timeout_ms. Values: a literal or a sandboxed Jinja2 expression over ",
      h("code", {}, "input"), " and ", h("code", {}, "reference"), "; a whole ", h("code", {}, "{{ expr }}"), " keeps its type."),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Target"), h("th", {}, "Value"), h("th", {}, ""))), tbody)),
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", id: "ref-add-map", onclick: () => tbody.append(mappingRow()) }, "Add mapping")),
    field("Defaults for input (JSON)", defaults, { wide: true }),
    h("div", { class: "row" }, h("button", { type: "submit", id: "ref-create" }, "Create reference")), out);
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(ev.submitter, async () => {
      const cfg = {};
      for (const tr of tbody.querySelectorAll("tr.map-row")) {
        const k = tr.querySelector("[name=map_key]").value.trim();
        if (k) cfg[k] = parseLiteral(tr.querySelector("[name=map_value]").value);
      }
      if (defaults.value.trim()) {
        try { cfg.defaults = JSON.parse(defaults.value); } catch (e) { throw Object.assign(new Error(`defaults is not valid JSON: ${e.message}`), { code: "VALIDATION_ERROR" }); }
      }
      const v = Object.fromEntries(new FormData(f));
      const r = await post("/api/references", { resource_type: v.resource_type, resource_id: v.resource_id.trim(), api_endpoint_id: epSel.value,
        display_name: v.display_name || null, description: v.description || null, reference_config: Object.keys(cfg).length ? cfg : null });
      toast("Reference created");
      f.elements.display_name.value = ""; resId.value = uuid4();
      onCreated(r);
    }, out);
  });
  return f;
}

export async function renderList(ctx) {
  const { main, query } = ctx;
  const docs = itemsOf(await get("/api/documents", { limit: 500 }));
  if (!ctx.alive) return;
  const f = h("form", { class: "row", id: "ref-filters", role: "search" },
    select("resource_type", [["", "any type"], ...TYPES], query.resource_type || "", { label: "resource type" }),
    select("status", [["", "any status"], "active", "inactive", "error"], query.status || "", { label: "status" }),
    select("document_id", [["", "any document"], ...docs.map(d => [d.id, d.name])], query.document_id || "", { label: "document" }));
  const box = h("div", { id: "ref-list" });
  const statsBox = h("div", { id: "ref-stats" });
  const load = async () => {
    const q = Object.fromEntries(new FormData(f));
    const [data, st] = await Promise.all([get("/api/references", { ...q, limit: 200 }), get("/api/references/stats", { resource_type: q.resource_type, limit: 100 })]);
    if (!ctx.alive) return;
    replace(box, table([
      { label: "Name", render: r => h("a", { href: `#/reference/${r.id}` }, r.display_name || r.id.slice(0, 8)) },
      { label: "Type", render: r => badge(r.resource_type, "") },
      { label: "Endpoint", render: r => [method(r.endpoint_method || "?"), " ", h("code", { class: "small" }, pathText(r.endpoint_path || "(removed)"))], wrap: true },
      { label: "API", key: "api_name", narrow: true }, { label: "Status", render: r => badge(r.status) },
      { label: "Used", num: true, render: r => fmtNum(r.usage_count) }, { label: "Last used", render: r => fmtTime(r.last_used_at), narrow: true },
    ], itemsOf(data), { empty: "No references yet.", onRow: r => { location.hash = `#/reference/${r.id}`; }, rowAttrs: r => ({ "data-ref-id": r.id }) }));
    replace(statsBox, table([
      { label: "Resource", render: s => [badge(s.resource_type, ""), " ", h("code", { class: "small" }, s.resource_id)], wrap: true },
      { label: "References", num: true, key: "total_references" }, { label: "Active", num: true, key: "active_references" },
      { label: "Errors", num: true, key: "error_references" }, { label: "Usage", num: true, render: s => fmtNum(s.total_usage) },
      { label: "Last used", render: s => fmtTime(s.last_used), narrow: true }], itemsOf(st), { empty: "No usage yet." }));
  };
  f.addEventListener("change", () => { setHashQuery(Object.fromEntries(new FormData(f))); busy(null, load, box); });
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Resource references"), f),
    session.can("operator") ? createForm(docs, r => { location.hash = `#/reference/${r.id}`; }) : "",
    h("section", { class: "panel" }, h("h2", {}, "References"), box),
    h("section", { class: "panel" }, h("h2", {}, "Usage per resource"), statsBox));
  await busy(null, load, box);
}

export async function renderReference(ctx, id) {
  const { main } = ctx;
  const r = await get(`/api/references/${id}`);
  if (!ctx.alive) return;
  const out = h("div", { id: "ref-invoke-result" });
  const callsBox = h("div", { id: "ref-calls" });
  const statusBox = h("span", { id: "ref-status" }, badge(r.status));
  const usage = h("span", { id: "ref-usage" }, fmtNum(r.usage_count));
  const loadCalls = async () => {
    const [data, fresh] = await Promise.all([get("/api/call-logs", { reference_id: id, limit: 20 }), get(`/api/references/${id}`)]);
    if (!ctx.alive) return;
    replace(usage, fmtNum(fresh.usage_count)); replace(statusBox, badge(fresh.status));
    replace(callsBox, table([
      { label: "When", render: l => h("a", { href: `#/call/${l.id}` }, fmtTime(l.created_at)) }, { label: "Status", render: statusBadge },
      { label: "Time", num: true, render: l => l.response_time_ms != null ? `${fmtNum(l.response_time_ms)} ms` : "—" },
      { label: "URL", render: l => h("code", { class: "small" }, pathText(l.request_url)), wrap: true }], itemsOf(data), { empty: "Not invoked yet." }));
  };
  const inputArea = textarea("input", { code: true, rows: 5, id: "ref-input", value: JSON.stringify(Object.fromEntries(
    Object.values(r.reference_config || {}).flatMap(v => typeof v === "string" ? [...v.matchAll(/input\.(\w+)/g)].map(m => [m[1], ""]) : [])), null, 2), label: "input" });
  const invokeBtn = h("button", { type: "button", id: "ref-invoke" }, "Invoke");
  invokeBtn.addEventListener("click", () => busy(invokeBtn, async () => {
    let inp;
    try { inp = inputArea.value.trim() ? JSON.parse(inputArea.value) : {}; } catch (e) { throw Object.assign(new Error(`input is not valid JSON: ${e.message}`), { code: "VALIDATION_ERROR" }); }
    try {
      const res = await post(`/api/references/${id}/invoke`, { input: inp });
      replace(out, responseView(res));
    } finally { busy(null, loadCalls, callsBox); }
  }, out));
  replace(main,
    h("div", { class: "spread" }, h("h1", {}, r.display_name || `Reference ${r.id.slice(0, 8)}`),
      h("div", { class: "row" }, h("a", { href: "#/references" }, "All references"),
        session.can("operator") ? h("button", { type: "button", class: "secondary", id: "ref-toggle", onclick: ev => busy(ev.target, async () => {
          const next = r.stored_status === "inactive" ? "active" : "inactive";
          const u = await patch(`/api/references/${id}`, { status: next }); r.stored_status = u.stored_status || next;
          replace(statusBox, badge(u.status)); ev.target.textContent = r.stored_status === "inactive" ? "Activate" : "Deactivate";
        }) }, r.stored_status === "inactive" ? "Activate" : "Deactivate") : "",
        session.can("operator") ? h("button", { type: "button", class: "danger", onclick: ev => {
          if (!confirm("Delete this reference?")) return;
          busy(ev.target, async () => { await del(`/api/references/${id}`); toast("Reference deleted"); location.hash = "#/references"; });
        } }, "Delete") : "")),
    h("div", { class: "panel" }, kv([["Status", statusBox], ["Resource", `${r.resource_type} ${r.resource_id}`],
      ["Endpoint", h("a", { href: `#/endpoint/${r.api_endpoint_id}` }, `${r.endpoint_method || ""} ${r.endpoint_path || r.api_endpoint_id}`)],
      ["API", r.api_name], ["Used", usage], ["Last used", fmtTime(r.last_used_at)], ["Description", r.description]]),
      h("h3", {}, "Mapping"), jsonView(r.reference_config || {})),
    session.can("operator") ? h("section", { class: "panel" }, h("h2", {}, "Invoke"),
      field("Input (JSON, over the mapping's defaults)", inputArea, { wide: true }), h("div", { class: "row" }, invokeBtn), out) : "",
    h("section", { class: "panel" }, h("h2", {}, "Recent calls through this reference"), callsBox));
  await busy(null, loadCalls, callsBox);
}
