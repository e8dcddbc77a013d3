// One endpoint: parameters and schemas, "try it", the formatted response and recent calls.
import { session, get, post, itemsOf } from "./api.js";
import { h, replace, table, badge, method, field, busy, fmtTime, fmtNum, jsonView, kv, select, bodyView, pathText } from "./dom.js";
import { paramInput, bodyMedia, exampleOf, schemaBlock, schemaTree, constraints } from "./schemaform.js";
import { markdown } from "./md.js";
import { statusBadge } from "./calls.js";

const FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"];
const isForm = mime => FORM_TYPES.includes(String(mime).split(";")[0].trim().toLowerCase());

// A form-encoded body: one input per property of the schema (an object is sent,
// the gateway encodes it); without properties, a `a=1&b=2` text.
function formBodyEditor(schema) {
  const props = Object.entries((schema && schema.properties) || {});
  const required = new Set((schema && schema.required) || []);
  if (!props.length) {
    const area = h("textarea", { name: "form_body", class: "code", rows: 4, id: "try-form-text", spellcheck: "false", "aria-label": "form body", placeholder: "To=%2B15551234567&Body=Hello" });
    return { el: area, read() {
      if (!area.value.trim()) return undefined;
      const out = {};
      for (const [k, v] of new URLSearchParams(area.value.trim())) out[k] = k in out ? [].concat(out[k], v) : v;
      return out;
    } };
  }
  const inputs = props.map(([name, sub]) => paramInput({ name, in: "body", schema: sub || {}, required: required.has(name), description: sub && sub.description }, "try-form"));
  return { el: h("div", { class: "fields", id: "try-form-fields" }, inputs.map(i => i.el)), read() {
    const out = {};
    for (const i of inputs) {
      let v;
      try { v = i.read(); } catch (e) { throw Object.assign(new Error(`body.${i.param.name}: ${e.message}`), { code: "VALIDATION_ERROR" }); }
      if (v !== undefined) out[i.param.name] = v;
    }
    return Object.keys(out).length ? out : undefined;
  } };
}

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
  let bodyArea = null, mimeSel = null, formEditor = null;
  const bodyBox = h("div", { class: "stack" });
  if (media.length) {
    const first = media.find(m => !isForm(m.mime) && m.mime.includes("json")) || media[0];
    mimeSel = select("content_type", media.map(m => m.mime), first.mime, { label: "content type", id: "try-content-type" });
    bodyArea = h("textarea", { name: "body", class: "code", id: "try-body", spellcheck: "false", "aria-label": "request body" });
    const fill = () => {
      const m = media.find(x => x.mime === mimeSel.value) || media[0];
      formEditor = null;
      if (isForm(m.mime)) { formEditor = formBodyEditor(m.schema); replace(bodyBox, formEditor.el); return; }
      const ex = exampleOf(m.schema);
      bodyArea.value = m.mime.includes("json") ? JSON.stringify(ex, null, 2) : (typeof ex === "string" ? ex : "");
      replace(bodyBox, bodyArea);
    };
    mimeSel.addEventListener("change", fill);
    fill();
  }
  const out = h("div", { id: "try-result", "aria-live": "polite" });
  const send = h("button", { type: "submit", id: "try-send" }, "Send");
  const timeout = h("input", { type: "number", name: "timeout_ms", min: 1, placeholder: `${ep.timeout_ms || ""}`, "aria-label": "timeout ms" });
  const form = h("form", { class: "panel", id: "try-form", novalidate: true }, h("h2", {}, "Try it"),
    inputs.length ? h("div", { class: "fields" }, inputs.map(i => i.el)) : h("p", { class: "muted" }, "This operation takes no parameters."),
    mimeSel ? h("div", { class: "stack" }, h("div", { class: "row" }, h("strong", {}, "Body"), mimeSel, ep.request_body_schema && ep.request_body_schema.required ? h("span", { class: "small muted" }, "required") : ""), bodyBox) : "",
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
      if (mimeSel) {
        const mime = mimeSel.value;
        if (formEditor) {
          const b = formEditor.read();
          if (b !== undefined) { req.body = b; req.content_type = mime; }
        } else if (bodyArea.value.trim()) {
          if (mime.includes("json")) {
            try { req.body = JSON.parse(bodyArea.value); } catch (e) { throw Object.assign(new Error(`body is not valid JSON: ${e.message}`), { code: "VALIDATION_ERROR" }); }
          } else req.body = bodyArea.value;
          req.content_type = mime;
        }
      }
      if (timeout.value) req.timeout_ms = Number(timeout.value);
      try {
        const res = await post(`/api/endpoints/${ep.id}/invoke`, req);
        replace(out, responseView(res));
      } finally {
        onCalled && onCalled();   // a failed call (502, timeout) is logged too
      }
    }, out);
  });
  return form;
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
    const rows = itemsOf(data);
    replace(callsBox, table([
      { label: "When", render: l => h("a", { href: `#/call/${l.id}` }, fmtTime(l.created_at)) },
      { label: "Status", render: statusBadge },
      { label: "Time", num: true, render: l => l.response_time_ms != null ? `${fmtNum(l.response_time_ms)} ms` : "—" },
      { label: "URL", render: l => h("code", { class: "small" }, pathText(l.request_url)), narrow: true, wrap: true },
      { label: "Error", render: l => l.error_message || "", narrow: true, wrap: true },
      { label: "", render: l => h("details", { class: "call-bodies" }, h("summary", {}, "bodies"),
          h("div", { class: "small muted" }, "request"), bodyView(l.request_body),
          h("div", { class: "small muted" }, "response"), bodyView(l.response_body, { testid: "logged-response-body" })) },
    ], rows, { empty: "No calls yet.", class: "calls" }),
    h("p", { class: "small" }, h("a", { href: `#/calls?endpoint_id=${id}` }, "All calls of this endpoint")));
  };
  const params = (ep.parameters || []);
  const responses = responsesOf(ep);
  const media = bodyMedia(ep.request_body_schema);
  replace(main,
    h("div", { class: "spread" },
      h("h1", {}, method(ep.method), " ", h("code", {}, pathText(ep.path))),
      h("div", { class: "row" }, h("a", { class: "btn secondary", href: `#/stats?endpoint_id=${id}&document_id=${ep.api_document_id || ep.document_id || ""}` }, "Statistics"),
        h("a", { class: "btn secondary", href: `#/endpoints?document_id=${ep.api_document_id || ep.document_id || ""}` }, "All endpoints"))),
    h("div", { class: "panel" },
      ep.summary ? h("p", {}, h("strong", {}, ep.summary)) : "",
      ep.description ? markdown(ep.description, { class: "desc" }) : "",
      kv([["Operation", ep.operation_id], ["Tags", (ep.tags || []).join(", ")], ["Status", badge(ep.is_deprecated ? "deprecated" : ep.status, ep.is_deprecated ? "warn" : ep.status)],
          ["Auth", ep.auth_required ? "required" : "none"], ["Timeout", ep.timeout_ms ? `${ep.timeout_ms} ms` : null],
          ["Calls", `${fmtNum(ep.call_count)} (${fmtNum(ep.success_count)} ok, ${fmtNum(ep.error_count)} errors), avg ${fmtNum(ep.avg_response_time_ms)} ms`]])),
    h("div", { class: "grid2" },
      h("section", { class: "panel" }, h("h2", {}, "Parameters"),
        table([{ label: "Name", render: p => h("code", {}, p.name) }, { label: "In", key: "in" },
               { label: "Type", render: p => schemaTree(p.schema || {}) }, { label: "Req.", render: p => p.required ? "yes" : "" },
               { label: "Constraints", render: p => h("span", { class: "small constraints" }, [...constraints(p.schema || {}), p.deprecated ? "deprecated" : ""].filter(Boolean).join(" · ")), wrap: true },
               { label: "Description", render: p => p.description ? markdown(p.description, { class: "small" }) : "", narrow: true, wrap: true }], params,
               { empty: "No parameters.", rowAttrs: p => ({ "data-param": `${p.in}.${p.name}` }) }),
        media.length ? [h("h3", {}, "Request body"), ...media.map(m => h("div", {}, h("div", { class: "small muted" }, m.mime), schemaBlock(m.schema)))] : ""),
      h("section", { class: "panel" }, h("h2", {}, "Responses"),
        responses.length ? responses.map(r => h("details", { open: r.code.startsWith("2") },
          h("summary", {}, `${r.code} ${r.mime || ""}`), r.description ? markdown(r.description, { class: "small" }) : "", r.schema ? schemaBlock(r.schema) : h("p", { class: "muted" }, "no schema")))
          : h("p", { class: "muted" }, "No response schemas."))),
    tryItForm(ep, () => loadCalls()),
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Recent calls"),
      h("button", { type: "button", class: "secondary", onclick: ev => busy(ev.target, loadCalls, callsBox) }, "Refresh")), callsBox));
  await busy(null, loadCalls, callsBox);
}
