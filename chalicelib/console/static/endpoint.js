// One endpoint: parameters and schemas, "try it", the formatted response and recent calls.
import { session, get, post, itemsOf } from "./api.js";
import { h, replace, table, badge, method, field, busy, fmtTime, fmtNum, jsonView, kv, select, errorBox } from "./dom.js";
import { paramInput, bodyMedia, exampleOf, schemaBlock, schemaTree } from "./schemaform.js";

function responsesOf(ep) {
  // {status: {mime: schema}} or {status: {description, content: {mime: {schema}}}}
  const out = [];
  for (const [code, r] of Object.entries(ep.response_schemas || {})) {
    if (r && r.content && typeof r.content === "object") {
      for (const [mime, m] of Object.entries(r.content)) out.push({ code, mime, schema: (m && m.schema) || m, description: r.description });
      if (!Object.keys(r.content).length) out.push({ code, description: r.description });
    } else if (r && typeof r === "object" && Object.keys(r).some(k => k.includes("/"))) {
      for (const [mime, sch] of Object.entries(r)) out.push({ code, mime, schema: sch && sch.schema ? sch.schema : sch });
    } else out.push({ code, schema: r && r.schema ? r.schema : null, description: r && r.description });
  }
  return out;
}

export function responseView(res) {
  const body = res.body;
  const ok = res.status_code < 400;
  const headers = res.headers || {};
  return h("div", { class: "stack", id: "try-response", "data-status": res.status_code },
    h("div", { class: "row" }, badge(`HTTP ${res.status_code}`, ok ? "ok" : "bad"),
      h("span", { class: "muted" }, `${fmtNum(res.response_time_ms)} ms`), res.log_id ? h("span", { class: "small muted" }, `log ${res.log_id}`) : ""),
    body === null || body === undefined || body === "" ? h("p", { class: "muted" }, "(empty body)") : jsonView(body, { testid: "response-body" }),
    h("details", {}, h("summary", {}, `headers (${Object.keys(headers).length})`),
      table([{ label: "Header", key: "k" }, { label: "Value", key: "v", wrap: true }], Object.entries(headers).map(([k, v]) => ({ k, v: String(v) })))));
}

function tryItForm(ep, onCalled) {
  const params = (ep.parameters || []).filter(p => p && p.name && ["path", "query", "header", "cookie"].includes(p.in));
  const inputs = params.map(p => paramInput(p, "try"));
  const media = bodyMedia(ep.request_body_schema);
  let bodyArea = null, mimeSel = null;
  if (media.length) {
    mimeSel = select("content_type", media.map(m => m.mime), media[0].mime, { label: "content type", id: "try-content-type" });
    bodyArea = h("textarea", { name: "body", class: "code", id: "try-body", spellcheck: "false", "aria-label": "request body" });
    const fill = () => { const m = media.find(x => x.mime === mimeSel.value) || media[0]; bodyArea.value = JSON.stringify(exampleOf(m.schema), null, 2); };
    mimeSel.addEventListener("change", fill);
    fill();
  }
  const out = h("div", { id: "try-result" });
  const send = h("button", { type: "submit", id: "try-send" }, "Send");
  const timeout = h("input", { type: "number", name: "timeout_ms", min: 1, placeholder: `${ep.timeout_ms || ""}`, "aria-label": "timeout ms" });
  const form = h("form", { class: "panel", id: "try-form" }, h("h2", {}, "Try it"),
    inputs.length ? h("div", { class: "fields" }, inputs.map(i => i.el)) : h("p", { class: "muted" }, "This operation takes no parameters."),
    bodyArea ? h("div", { class: "stack" }, h("div", { class: "row" }, h("strong", {}, "Body"), mimeSel, ep.request_body_schema && ep.request_body_schema.required ? h("span", { class: "small muted" }, "required") : ""), bodyArea) : "",
    h("div", { class: "row" }, session.can("operator") ? send : h("span", { class: "muted" }, "Calling needs the operator role."),
      h("label", { class: "field" }, h("span", {}, "timeout (ms)"), timeout)), out);
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(send, async () => {
      const req = { path_params: {}, query: {}, headers: {}, cookies: {} };
      const slot = { path: "path_params", query: "query", header: "headers", cookie: "cookies" };
      for (const i of inputs) {
        let v;
        try { v = i.read(); } catch (e) { throw Object.assign(new Error(`${i.param.name}: ${e.message}`), { code: "VALIDATION_ERROR" }); }
        if (v !== undefined) req[slot[i.param.in]][i.param.name] = v;
      }
      if (bodyArea && bodyArea.value.trim()) {
        const mime = mimeSel.value;
        if (mime.includes("json")) {
          try { req.body = JSON.parse(bodyArea.value); } catch (e) { throw Object.assign(new Error(`body is not valid JSON: ${e.message}`), { code: "VALIDATION_ERROR" }); }
        } else req.body = bodyArea.value;
        req.content_type = mime;
      }
      if (timeout.value) req.timeout_ms = Number(timeout.value);
      const res = await post(`/api/endpoints/${ep.id}/invoke`, req);
      replace(out, responseView(res));
      onCalled && onCalled(res);
    }, out);
  });
  return form;
}

function callRow(l) {
  const sc = l.response_status_code ?? l.status_code;
  return {
    ...l,
    _status: sc === null || sc === undefined ? badge(l.error_type || "error", "bad") : badge(String(sc), sc < 400 ? "ok" : "bad"),
  };
}

export async function render(ctx, id) {
  const { main } = ctx;
  const raw = await get(`/api/endpoints/${id}`);
  if (!ctx.alive) return;
  // `resolved` holds the same pieces with every $ref expanded (cycles stay marked).
  const ep = { ...raw, ...(raw.resolved || {}) };
  for (const k of ["parameters", "request_body_schema", "response_schemas"]) if (ep[k] == null) ep[k] = raw[k];
  const callsBox = h("div", { id: "recent-calls" });
  const loadCalls = async () => {
    const data = await get("/api/call-logs", { endpoint_id: id, limit: 20 });
    if (!ctx.alive) return;
    const rows = itemsOf(data).map(callRow);
    replace(callsBox, table([
      { label: "When", render: l => fmtTime(l.created_at) },
      { label: "Status", render: l => l._status },
      { label: "Time", num: true, render: l => l.response_time_ms != null ? `${fmtNum(l.response_time_ms)} ms` : "—" },
      { label: "URL", render: l => h("code", { class: "small" }, l.request_url), narrow: true, wrap: true },
      { label: "Error", render: l => l.error_message || "", narrow: true, wrap: true },
      { label: "", render: l => h("details", {}, h("summary", {}, "details"), jsonView({
          request: { method: l.request_method, url: l.request_url, headers: l.request_headers, params: l.request_params, body: l.request_body },
          response: { status: l.response_status_code, headers: l.response_headers, body: l.response_body } })) },
    ], rows, { empty: "No calls yet.", class: "calls" }));
  };
  const params = (ep.parameters || []);
  const responses = responsesOf(ep);
  const media = bodyMedia(ep.request_body_schema);
  replace(main,
    h("div", { class: "spread" },
      h("h1", {}, method(ep.method), " ", h("code", {}, ep.path)),
      h("div", { class: "row" }, h("a", { class: "btn secondary", href: `#/stats?endpoint_id=${id}&document_id=${ep.api_document_id || ep.document_id || ""}` }, "Statistics"),
        h("a", { class: "btn secondary", href: `#/endpoints?document_id=${ep.api_document_id || ep.document_id || ""}` }, "All endpoints"))),
    h("div", { class: "panel" },
      ep.summary ? h("p", {}, h("strong", {}, ep.summary)) : "",
      ep.description ? h("p", { class: "muted desc" }, ep.description) : "",
      kv([["Operation", ep.operation_id], ["Tags", (ep.tags || []).join(", ")], ["Status", badge(ep.is_deprecated ? "deprecated" : ep.status, ep.is_deprecated ? "warn" : ep.status)],
          ["Auth", ep.auth_required ? "required" : "none"], ["Timeout", ep.timeout_ms ? `${ep.timeout_ms} ms` : null],
          ["Calls", `${fmtNum(ep.call_count)} (${fmtNum(ep.success_count)} ok, ${fmtNum(ep.error_count)} errors), avg ${fmtNum(ep.avg_response_time_ms)} ms`]])),
    h("div", { class: "grid2" },
      h("section", { class: "panel" }, h("h2", {}, "Parameters"),
        table([{ label: "Name", render: p => h("code", {}, p.name) }, { label: "In", key: "in" },
               { label: "Type", render: p => schemaTree(p.schema || {}) }, { label: "Req.", render: p => p.required ? "yes" : "" },
               { label: "Description", key: "description", narrow: true, wrap: true }], params, { empty: "No parameters." }),
        media.length ? [h("h3", {}, "Request body"), ...media.map(m => h("div", {}, h("div", { class: "small muted" }, m.mime), schemaBlock(m.schema)))] : ""),
      h("section", { class: "panel" }, h("h2", {}, "Responses"),
        responses.length ? responses.map(r => h("details", { open: r.code.startsWith("2") },
          h("summary", {}, `${r.code} ${r.mime || ""} ${r.description ? "— " + r.description : ""}`), r.schema ? schemaBlock(r.schema) : h("p", { class: "muted" }, "no schema")))
          : h("p", { class: "muted" }, "No response schemas."))),
    tryItForm(ep, () => loadCalls()),
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Recent calls"),
      h("button", { type: "button", class: "secondary", onclick: ev => busy(ev.target, loadCalls, callsBox) }, "Refresh")), callsBox));
  await busy(null, loadCalls, callsBox);
}
