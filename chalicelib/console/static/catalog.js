// Catalog: import specs, documents with health, endpoints with filters.
import { session, get, post, put, del, call, itemsOf, jobOf, waitForJob, setHashQuery } from "./api.js";
import { h, replace, table, badge, method, field, input, select, textarea, busy, toast, fmtTime, fmtNum, kv, tabs as tabList, pathText } from "./dom.js";
import { timeline } from "./charts.js";

const PAGE = 50;

function parseJsonField(text, name) {
  if (!text || !text.trim()) return undefined;
  try { return JSON.parse(text); } catch (e) { throw Object.assign(new Error(`${name} is not valid JSON: ${e.message}`), { code: "VALIDATION_ERROR" }); }
}

function importPanel(onDone) {
  let mode = "paste";
  const body = h("div", { role: "tabpanel" });
  const paste = textarea("content", { code: true, id: "import-content", placeholder: "openapi: 3.0.3\ninfo: …", label: "spec text" });
  const file = h("input", { type: "file", id: "import-file", accept: ".yaml,.yml,.json,application/json,application/yaml", "aria-label": "spec file" });
  const url = input("url", { type: "url", id: "import-url", placeholder: "https://example.com/openapi.yaml", label: "spec URL" });
  const name = input("name", { id: "import-name", placeholder: "from info.title", label: "name" });
  const baseUrl = input("base_url", { id: "import-base-url", placeholder: "from servers[0]", label: "base URL" });
  const auth = textarea("auth_config", { code: true, id: "import-auth", rows: 4, label: "auth config",
    placeholder: '{"type": "apiKey", "in": "header", "name": "token", "value": "…"}' });
  const asyncBox = h("input", { type: "checkbox", id: "import-async", name: "async" });
  const out = h("div", { id: "import-result" });
  const views = {
    paste: field("Spec (YAML or JSON)", paste, { wide: true }),
    file: field("Spec file", file, { wide: true }),
    url: field("Spec URL", url, { wide: true }),
  };
  const tabs = tabList([["paste", "Paste"], ["file", "File"], ["url", "URL"]], mode, k => { mode = k; replace(body, views[mode]); }, { label: "spec source" });
  replace(body, views[mode]);
  const submit = h("button", { type: "submit", id: "import-submit" }, "Import");
  const form = h("form", { class: "panel", id: "import-form" },
    h("h2", {}, "Import a spec"), tabs, body,
    h("div", { class: "fields" }, field("Name", name), field("Base URL", baseUrl)),
    h("details", {}, h("summary", {}, "Upstream auth (optional)"),
      field("auth_config (JSON, stored encrypted)", auth, { wide: true })),
    h("div", { class: "row" }, submit, h("label", { class: "check", title: "URL imports only" }, asyncBox, "fetch the URL as a job")), out);
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(submit, async () => {
      const extra = {};
      if (name.value.trim()) extra.name = name.value.trim();
      if (baseUrl.value.trim()) extra.base_url = baseUrl.value.trim();
      const ac = parseJsonField(auth.value, "auth_config");
      if (ac) extra.auth_config = ac;
      let docBody;
      let madeTemplate = null;   // a template this attempt stored: removed again if the document fails
      if (mode === "url") {
        if (!url.value.trim()) throw new Error("enter a URL");
        // The Name names the template too, so a retry under another name does not hit the same (name, version).
        const meta = { url: url.value.trim(), ...(extra.name ? { name: extra.name } : {}), ...(asyncBox.checked ? { async: true } : {}) };
        let r;
        try { r = await call("POST", "/api/templates/import-url", { body: meta, withStatus: true }); }
        catch (err) {
          if (err.status === 409) err.message += " — a template with this name and version is stored: enter another Name, or delete it on the Templates page.";
          throw err;
        }
        let tpl = r.data;
        const job = jobOf(r.data, r.status);
        if (job) tpl = await runJob(job, out, "Fetching the spec");
        madeTemplate = tpl.template_id || tpl.id;
        docBody = { template_id: madeTemplate, ...extra };
      } else {
        let content = paste.value;
        if (mode === "file") {
          if (!file.files.length) throw new Error("choose a file");
          content = await file.files[0].text();
        }
        if (!content.trim()) throw new Error("the spec is empty");
        docBody = { content, ...extra };
      }
      let doc;
      try {
        doc = await post("/api/documents", docBody);
      } catch (err) {
        if (madeTemplate) { try { await del(`/api/templates/${madeTemplate}`); } catch { /* listed on the templates page */ } }
        throw err;
      }
      const d = doc.document || doc;
      const warnings = doc.warnings || d.warnings || [];
      replace(out, h("div", { class: "notice", "data-testid": "import-done" },
        h("strong", {}, `Imported ${d.name || "document"} ${d.version || ""}`), " — ",
        `${fmtNum(d.total_endpoints ?? (doc.endpoints || []).length)} endpoints. `,
        h("a", { href: `#/endpoints?document_id=${d.id}` }, "Browse endpoints"), " · ",
        h("a", { href: `#/document/${d.id}` }, "Document"),
        warnings.length ? h("details", {}, h("summary", {}, `${warnings.length} warning(s)`),
          h("ul", {}, warnings.slice(0, 50).map(w => h("li", {}, typeof w === "string" ? w : `${w.pointer || w.path || ""} ${w.message || w.msg || JSON.stringify(w)}`)))) : ""));
      toast("Spec imported");
      onDone && onDone(d);
    }, out);
  });
  return form;
}

async function runJob(job, out, label) {
  const bar = h("div", { style: { width: "0%" } });
  const msg = h("span", { class: "small muted" }, "queued");
  replace(out, h("div", { class: "stack" }, h("div", {}, label, " — job ", h("code", {}, job.id)), h("div", { class: "progress" }, bar), msg));
  const done = await waitForJob(job, j => { bar.style.width = `${j.progress || 0}%`; msg.textContent = `${j.status} ${j.progress_message || ""}`; });
  if (done.status !== "succeeded") throw Object.assign(new Error(done.last_error || `job ${done.status}`), { code: "JOB_" + done.status.toUpperCase() });
  return done.result || {};
}
export { runJob };

export async function renderDocuments(ctx) {
  const { main } = ctx;
  const listBox = h("div", { id: "documents" });
  const filters = h("form", { class: "row", id: "doc-filters" },
    select("status", [["", "any status"], "active", "inactive", "error"], ctx.query.status, { label: "status" }),
    select("health_status", [["", "any health"], "healthy", "unhealthy", "unknown"], ctx.query.health_status, { label: "health" }),
    input("text", { placeholder: "search name", value: ctx.query.text || "", label: "search" }),
    h("button", { type: "submit", class: "secondary" }, "Filter"));
  const load = async () => {
    const q = Object.fromEntries(new FormData(filters));
    const data = await get("/api/documents", { ...q, limit: 200 });
    if (!ctx.alive) return;
    const docs = itemsOf(data);
    replace(listBox, table([
      { label: "Name", render: d => h("a", { href: `#/document/${d.id}` }, d.name) },
      { label: "Version", key: "version", narrow: true },
      { label: "Base URL", render: d => h("code", { class: "small" }, d.base_url), narrow: true, wrap: true },
      { label: "Status", render: d => badge(d.status) },
      { label: "Health", render: d => badge(d.health_status || "unknown") },
      { label: "Last check", render: d => fmtTime(d.last_health_check), narrow: true },
      { label: "Endpoints", num: true, render: d => `${fmtNum(d.active_endpoints)}/${fmtNum(d.total_endpoints)}` },
      { label: "", render: d => h("div", { class: "row" },
          h("a", { href: `#/endpoints?document_id=${d.id}` }, "endpoints"),
          session.can("operator") ? h("button", { type: "button", class: "link", onclick: ev => busy(ev.target, async () => {
            const r = await post(`/api/documents/${d.id}/health-check`, {});
            toast(`Health check: ${(r && (r.status || (r.check && r.check.status))) || "done"}`);
            await load();
          }) }, "check") : "") },
    ], docs, { empty: "No documents yet: import a spec above.", rowAttrs: d => ({ "data-document-id": d.id }) }),
    h("p", { class: "small muted" }, `${fmtNum(data.total ?? docs.length)} document(s)`));
  };
  filters.addEventListener("submit", ev => { ev.preventDefault(); busy(null, load, listBox); });
  replace(main, h("h1", {}, "Catalog"),
    session.can("operator") ? importPanel(() => load()) : h("p", { class: "notice" }, "Your key is read-only (viewer): importing is hidden."),
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Documents"), filters), listBox));
  await busy(null, load, listBox);
}

export async function renderDocument(ctx, id) {
  const { main } = ctx;
  let doc = await get(`/api/documents/${id}`);
  if (!ctx.alive) return;
  let refreshHead = async () => {};
  const out = h("div");
  const healthBox = h("div", { id: "health-timeline" });
  const loadHealth = async () => {
    const data = await get(`/api/documents/${id}/health-checks`, { limit: 200 });
    const checks = itemsOf(data).slice().sort((a, b) => new Date(a.checked_at || a.created_at) - new Date(b.checked_at || b.created_at));
    replace(healthBox, timeline(checks));
  };
  const edit = h("form", { class: "panel", id: "doc-edit" }, h("h2", {}, "Settings"),
    h("div", { class: "fields" },
      field("Base URL", input("base_url", { value: doc.base_url, label: "base URL" }), { wide: true }),
      field("Status", select("status", ["active", "inactive", "error"], doc.status, { label: "status" })),
      field("auth_config (JSON; ******** keeps a stored secret)", textarea("auth_config", { code: true, rows: 4, value: doc.auth_config ? JSON.stringify(doc.auth_config, null, 2) : "" }), { wide: true }),
      field("rate_limit_config (JSON)", textarea("rate_limit_config", { code: true, rows: 3, value: doc.rate_limit_config ? JSON.stringify(doc.rate_limit_config, null, 2) : "", placeholder: '{"requests": 10, "per_seconds": 1}' })),
      field("timeout_config (JSON)", textarea("timeout_config", { code: true, rows: 3, value: doc.timeout_config ? JSON.stringify(doc.timeout_config, null, 2) : "", placeholder: '{"connect_ms": 3000, "read_ms": 10000}' }))),
    h("div", { class: "row" }, session.can("operator") ? h("button", { type: "submit" }, "Save") : h("span", { class: "muted small" }, "read-only")), out);
  edit.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(ev.submitter, async () => {
      const f = edit.elements;
      const body = { base_url: f.base_url.value.trim(), status: f.status.value };
      for (const k of ["auth_config", "rate_limit_config", "timeout_config"]) {
        const v = parseJsonField(f[k].value, k);
        if (v !== undefined) body[k] = v;
      }
      await put(`/api/documents/${id}`, body);
      toast("Document saved");
      await refreshHead();
    }, out);
  });
  const reimport = h("form", { class: "panel", id: "doc-reimport" }, h("h2", {}, "Re-import a new version"),
    textarea("content", { code: true, placeholder: "new spec text", label: "new spec" }), h("div", { class: "row" }, h("button", { type: "submit" }, "Re-import")), h("div", { class: "diff" }));
  reimport.addEventListener("submit", ev => {
    ev.preventDefault();
    const box = reimport.querySelector(".diff");
    busy(ev.submitter, async () => {
      const res = await post(`/api/documents/${id}/reimport`, { content: reimport.elements.content.value });
      const diff = res.diff || res;
      const count = k => (res.counts && res.counts[k] !== undefined) ? res.counts[k] : Array.isArray(diff[k]) ? diff[k].length : diff[k];
      const list = k => Array.isArray(diff[k]) && diff[k].length && typeof diff[k][0] === "object"
        ? h("details", {}, h("summary", {}, `${k} (${diff[k].length})`),
            h("ul", {}, diff[k].slice(0, 200).map(e => h("li", {}, h("code", {}, `${e.method} ${e.path}`), e.changes ? ` — ${[].concat(e.changes).join(", ")}` : ""))))
        : "";
      await refreshHead();   // the new version, counts and update time
      replace(box, h("div", { class: "cards", "data-testid": "reimport-diff" }, ["added", "changed", "removed", "unchanged"].map(k =>
        h("div", { class: "card" }, h("div", { class: "v" }, fmtNum(count(k))), h("div", { class: "k" }, k)))),
        ["added", "changed", "removed"].map(list));
    }, box);
  });
  const title = h("h1", { id: "doc-title" });
  const facts = h("div", { class: "panel", id: "doc-facts" });
  const drawHead = () => {
    replace(title, `${doc.name} `, h("span", { class: "muted", id: "doc-version" }, doc.version || ""));
    replace(facts, kv([
      ["Status", badge(doc.status)], ["Health", badge(doc.health_status || "unknown")], ["Last check", fmtTime(doc.last_health_check)],
      ["Base URL", h("code", {}, doc.base_url)], ["Endpoints", `${fmtNum(doc.active_endpoints)} active / ${fmtNum(doc.total_endpoints)}`],
      ["Created", fmtTime(doc.created_at)], ["Updated", fmtTime(doc.updated_at)],
      doc.warnings && doc.warnings.length ? ["Warnings", `${doc.warnings.length}`] : null]));
  };
  refreshHead = async () => { doc = await get(`/api/documents/${id}`); if (ctx.alive) drawHead(); };
  drawHead();
  replace(main,
    h("div", { class: "spread" }, title,
      h("div", { class: "row" }, h("a", { class: "btn secondary", href: `#/endpoints?document_id=${id}` }, "Endpoints"),
        h("a", { class: "btn secondary", href: `#/stats?document_id=${id}` }, "Statistics"),
        session.can("operator") ? h("button", { type: "button", class: "secondary", onclick: ev => busy(ev.target, async () => {
          await post(`/api/documents/${id}/health-check`, {}); toast("Health check done"); await loadHealth(); await refreshHead();
        }) }, "Check health now") : "",
        session.can("operator") ? h("button", { type: "button", class: "danger", onclick: ev => {
          if (!confirm(`Delete ${doc.name} and its endpoints?`)) return;
          busy(ev.target, async () => { await del(`/api/documents/${id}`); toast("Document deleted"); location.hash = "#/catalog"; });
        } }, "Delete") : "")),
    facts,
    healthBox, edit, session.can("operator") ? reimport : "");
  await busy(null, loadHealth, healthBox);
}

// Tags of a document's endpoints with their counts (seed 000's tag filter).
async function documentTags(documentId) {
  const counts = new Map();
  for (let offset = 0; offset < 5000; offset += 500) {
    const data = await get("/api/endpoints", { document_id: documentId, limit: 500, offset, sort: "path" });
    for (const e of itemsOf(data)) for (const t of e.tags || []) counts.set(t, (counts.get(t) || 0) + 1);
    if (!data.has_more) break;
  }
  return [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

export async function renderEndpoints(ctx) {
  const { main, query } = ctx;
  const docs = itemsOf(await get("/api/documents", { limit: 500 }));
  if (!ctx.alive) return;
  let offset = Number(query.offset || 0);
  let sort = query.sort || "path";
  let tags = new Set((query.tag || "").split(",").filter(Boolean));
  const docSel = select("document_id", [["", "all documents"], ...docs.map(d => [d.id, `${d.name} ${d.version || ""}`])], query.document_id || "", { label: "document" });
  const tagText = input("tag_text", { value: [...tags].join(","), placeholder: "exact tag (comma-separated)", label: "tag" });
  const f = h("form", { class: "fields", id: "endpoint-filters", role: "search" },
    field("Document", docSel),
    field("Method", select("method", [["", "any"], "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], query.method || "", { label: "method" })),
    field("Status", select("status", [["", "any"], "active", "inactive", "deprecated"], query.status || "", { label: "status" })),
    field("Text", input("text", { value: query.text || "", placeholder: "path, summary, operationId", label: "text" })),
    field("Tag", tagText),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Apply")));
  const tagBox = h("div", { class: "tag-list", id: "endpoint-tags", role: "group", "aria-label": "tags" });
  const listBox = h("div", { id: "endpoints" });
  const filters = () => {
    const v = Object.fromEntries(new FormData(f));
    delete v.tag_text;
    return { ...v, tag: [...tags].join(",") || undefined };
  };
  const remember = push => setHashQuery({ ...filters(), sort: sort !== "path" ? sort : undefined, offset: offset || undefined }, { push });
  const drawTags = async () => {
    if (!docSel.value) { replace(tagBox, h("span", { class: "small muted" }, "Choose a document to list its tags.")); tagText.closest("label").hidden = false; return; }
    const list = await documentTags(docSel.value);
    if (!ctx.alive) return;
    tagText.closest("label").hidden = list.length > 0;
    replace(tagBox, list.length ? [h("span", { class: "small muted" }, "Tags: "),
      h("button", { type: "button", class: `chip ${tags.size ? "" : "on"}`, "aria-pressed": tags.size ? "false" : "true", onclick: () => { tags = new Set(); applyTags(); } }, "all"),
      list.map(([t, n]) => h("button", { type: "button", class: `chip ${tags.has(t) ? "on" : ""}`, "data-tag": t, "aria-pressed": tags.has(t) ? "true" : "false",
        onclick: () => { if (tags.has(t)) tags.delete(t); else tags.add(t); applyTags(); } }, t, h("span", { class: "count" }, ` ${n}`)))]
      : h("span", { class: "small muted" }, "This document's endpoints have no tags."));
  };
  const applyTags = () => { tagText.value = [...tags].join(","); offset = 0; remember(true); busy(null, drawTags, tagBox); busy(null, load, listBox); };
  const onSort = key => {
    const cur = sort.split(",")[0];
    sort = cur === key ? `-${key}` : cur === `-${key}` ? key : (["call_count", "error_count", "avg_response_time_ms"].includes(key) ? `-${key}` : key);
    offset = 0; remember(true); busy(null, load, listBox);
  };
  const load = async () => {
    const q = filters();
    const data = await get("/api/endpoints", { ...q, sort, limit: PAGE, offset });
    if (!ctx.alive) return;
    const items = itemsOf(data);
    const total = data.total ?? items.length;
    const first = sort.split(",")[0];
    replace(listBox, table([
      { label: "Method", render: e => method(e.method), sort: "method" },
      { label: "Path", render: e => h("a", { href: `#/endpoint/${e.id || e.endpoint_id}`, "data-path": e.path, class: "path-link" }, pathText(e.path)), sort: "path" },
      { label: "Summary", key: "summary", narrow: true, wrap: true },
      { label: "API", render: e => e.api_name || "", narrow: true, sort: "api_name" },
      { label: "Tags", render: e => (e.tags || []).join(", "), narrow: true },
      { label: "Status", render: e => badge(e.endpoint_status || e.status), sort: "status" },
      { label: "Calls", num: true, render: e => fmtNum(e.call_count), narrow: true, sort: "call_count" },
      { label: "Errors", num: true, render: e => fmtNum(e.error_count), narrow: true, sort: "error_count" },
      { label: "Avg ms", num: true, render: e => fmtNum(e.avg_response_time_ms), narrow: true, sort: "avg_response_time_ms" },
    ], items, { onRow: e => { location.hash = `#/endpoint/${e.id || e.endpoint_id}`; }, empty: "No endpoint matches.",
      sort: { key: first.replace(/^-/, ""), desc: first.startsWith("-"), onSort } }),
    h("div", { class: "pager" }, h("span", { class: "small muted", id: "endpoints-range" }, `${items.length ? offset + 1 : 0}–${offset + items.length} of ${fmtNum(total)}`),
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); remember(true); busy(null, load, listBox); } }, "Previous"),
      h("button", { type: "button", class: "secondary", disabled: !data.has_more, onclick: () => { offset += PAGE; remember(true); busy(null, load, listBox); } }, "Next")));
  };
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    if (!tagText.closest("label").hidden) tags = new Set(tagText.value.split(",").map(x => x.trim()).filter(Boolean));
    offset = 0; remember(true); busy(null, load, listBox);
  });
  f.addEventListener("change", ev => {
    if (ev.target.tagName !== "SELECT") return;
    offset = 0;
    if (ev.target === docSel) { tags = new Set(); tagText.value = ""; busy(null, drawTags, tagBox); }
    remember(true); busy(null, load, listBox);
  });
  replace(main, h("h1", {}, "Endpoints"), h("div", { class: "panel" }, f, tagBox), h("div", { class: "panel" }, listBox));
  busy(null, drawTags, tagBox);
  await busy(null, load, listBox);
}
