// Dynamic APIs (seed 002 steps 1-7): list, editor (SQL editor, parameters, draft test), publish, test, call.
import { session, get, post, put, del, call, itemsOf, ApiError } from "./api.js";
import { h, replace, clear, table, badge, method, field, input, select, textarea, checkbox, busy, toast, fmtTime, fmtNum, jsonView, lines } from "./dom.js";
import { sqlEditor } from "./sqleditor.js";

const DATA_TYPES = ["string", "integer", "number", "boolean", "date", "datetime", "uuid"];
const PARAM_TYPES = ["query", "body", "header", "form", "path"];
const BUILTINS = ["skipCount", "maxResultCount", "sorting", "page", "pageSize"];
const EXAMPLE = {
  liquid: "SELECT id, name, created_at FROM items\nWHERE 1 = 1\n{% if name %}  AND name LIKE {{ name }}\n{% endif %}{% if ids %}  AND id IN {{ ids }}\n{% endif %}",
  jinja2: "SELECT id, name, created_at FROM items\nWHERE 1 = 1\n{% if name %}  AND name LIKE {{ name }}\n{% endif %}{% if ids %}  AND id IN {{ ids }}\n{% endif %}",
};

// ------------------------------------------------------------------ list

export async function renderList(ctx) {
  const { main } = ctx;
  const f = h("form", { class: "row" },
    select("status", [["", "any status"], "draft", "published", "offline"], ctx.query.status || "", { label: "status" }),
    input("category", { placeholder: "category", value: ctx.query.category || "" }),
    h("button", { type: "submit", class: "secondary" }, "Filter"));
  const box = h("div", { id: "dynamic-list" });
  const load = async () => {
    const data = await get("/api/dynamic-apis", { ...Object.fromEntries(new FormData(f)), limit: 200 });
    if (!ctx.alive) return;
    replace(box, table([
      { label: "Name", render: d => h("a", { href: `#/dynamic/${d.id}` }, d.name) },
      { label: "Method", render: d => method(d.http_method) },
      { label: "Category", key: "category", narrow: true },
      { label: "Engine", key: "template_engine", narrow: true },
      { label: "Status", render: d => badge(d.status) },
      { label: "Permissions", render: d => (d.permissions || []).join(", ") || "public", narrow: true },
      { label: "Updated", render: d => fmtTime(d.updated_at), narrow: true },
    ], itemsOf(data), { onRow: d => { location.hash = `#/dynamic/${d.id}`; }, empty: "No dynamic APIs yet." }));
  };
  f.addEventListener("submit", ev => { ev.preventDefault(); busy(null, load, box); });
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Dynamic APIs"),
      session.can("operator") ? h("a", { class: "btn", href: "#/dynamic/new", id: "dyn-new" }, "New dynamic API") : ""),
    h("div", { class: "panel" }, f, h("div", { class: "small muted" }, "Published APIs answer at ", h("code", {}, "/api/dynamic-api/invoke/{name}"),
      " · ", h("a", { href: "/api/dynamic-api/openapi.json", target: "_blank", rel: "noopener" }, "OpenAPI 3.1 of published APIs"))),
    h("div", { class: "panel" }, box));
  await busy(null, load, box);
}

// ------------------------------------------------------------------ editor

function templateVariables(text) {
  const names = new Set();
  const re = /\{\{-?\s*([A-Za-z_]\w*)|\{%-?\s*(?:if|elsif|elif|unless|for\s+\w+\s+in)\s+([A-Za-z_]\w*)/g;
  let m;
  while ((m = re.exec(text || "")) !== null) names.add(m[1] || m[2]);
  for (const k of ["true", "false", "nil", "null", "none", "not", "forloop", "loop"]) names.delete(k);
  return [...names];
}

function paramRow(p, onRemove) {
  const tr = h("tr", { class: "param-row" });
  const cells = [
    input("name", { value: p.name || "", placeholder: "name", label: "parameter name" }),
    input("display_text", { value: p.display_text || "", placeholder: "display text", label: "display text" }),
    select("data_type", DATA_TYPES, p.data_type || "string", { label: "data type" }),
    select("param_type", PARAM_TYPES, p.param_type || "query", { label: "location" }),
    h("input", { type: "checkbox", name: "multiple", checked: !!p.multiple, "aria-label": "multiple" }),
    h("input", { type: "checkbox", name: "required", checked: !!p.required, "aria-label": "required" }),
    input("default_value", { value: p.default_value === null || p.default_value === undefined ? "" : (typeof p.default_value === "string" ? p.default_value : JSON.stringify(p.default_value)), placeholder: "default", label: "default value" }),
    h("input", { type: "checkbox", name: "sensitive", checked: !!p.sensitive, "aria-label": "sensitive" }),
    h("button", { type: "button", class: "link", onclick: () => { tr.remove(); onRemove && onRemove(); } }, "remove"),
  ];
  for (const c of cells) tr.append(h("td", {}, c));
  return tr;
}

function readParams(tbody) {
  return [...tbody.querySelectorAll("tr.param-row")].map((tr, i) => {
    const g = n => tr.querySelector(`[name=${n}]`);
    const p = {
      name: g("name").value.trim(), display_text: g("display_text").value.trim() || null,
      data_type: g("data_type").value, param_type: g("param_type").value,
      multiple: g("multiple").checked, required: g("required").checked, sensitive: g("sensitive").checked, rank: i,
    };
    const dv = g("default_value").value.trim();
    if (dv !== "") { try { p.default_value = JSON.parse(dv); } catch { p.default_value = dv; } }
    return p;
  }).filter(p => p.name);
}

async function loadPools() {
  if (!session.can("admin")) return null;
  return itemsOf(await get("/api/connection-pools", { limit: 500 }));
}

export async function renderEditor(ctx, id) {
  const { main } = ctx;
  const isNew = id === "new";
  const [def, pools] = await Promise.all([isNew ? Promise.resolve(null) : get(`/api/dynamic-apis/${id}`), loadPools()]);
  if (!ctx.alive) return;
  const d = def || { http_method: "GET", category: "default", template_engine: "liquid", script_type: "sql", is_multiple_result: true,
                     is_paging: false, is_sorting: false, max_page_size: 100, timeout_ms: 10000, parameters: [], permissions: [], sortable_columns: [] };
  const canWrite = session.can("operator");

  // 1. basic form
  const fName = input("name", { value: d.name || "", id: "dyn-name", placeholder: "list-items", label: "name" });
  const fMethod = select("http_method", ["GET", "POST", "PUT", "DELETE", "PATCH"], d.http_method, { id: "dyn-method", label: "HTTP method" });
  const fCategory = input("category", { value: d.category || "default", id: "dyn-category", label: "category" });
  const fRemark = textarea("remark", { value: d.remark || "", id: "dyn-remark", rows: 2, label: "remark" });
  // 2. SQL
  const fEngine = select("template_engine", [["liquid", "Liquid"], ["jinja2", "Jinja2 (sandboxed)"]], d.template_engine, { id: "dyn-engine", label: "template engine" });
  const fScriptType = select("script_type", [["sql", "SQL statement"], ["procedure", "stored procedure"]], d.script_type, { id: "dyn-script-type", label: "script type" });
  const fTemplate = textarea("script_template", { code: true, id: "dyn-template", value: d.script_template || "", placeholder: EXAMPLE.liquid, label: "SQL template" });
  const varsBox = h("div", { class: "small", id: "dyn-vars" });
  // 3. pool
  let fPool;
  if (pools) {
    fPool = select("connection_pool_id", [["", "— choose a connection pool —"], ...pools.map(p => [p.id, `${p.display_text} (${p.db_type} ${p.host}:${p.port}/${p.database})`])],
      d.connection_pool_id || "", { id: "dyn-pool", label: "connection pool" });
  } else {
    fPool = input("connection_pool_id", { value: d.connection_pool_id || "", id: "dyn-pool", placeholder: "pool id (ask an admin)", label: "connection pool id" });
  }
  const poolOut = h("div");
  // 4. paging / sorting
  const cMulti = checkbox("is_multiple_result", "multiple rows (list result)", d.is_multiple_result !== false);
  const cPaging = checkbox("is_paging", "paging (skipCount / maxResultCount, page / pageSize)", d.is_paging);
  const cSorting = checkbox("is_sorting", "sorting (sorting=\"name desc, id\")", d.is_sorting);
  const fSortable = input("sortable_columns", { value: (d.sortable_columns || []).join(", "), id: "dyn-sortable", placeholder: "id, name, created_at", label: "sortable columns" });
  const fDefaultSort = input("default_sorting", { value: d.default_sorting || "", id: "dyn-default-sorting", placeholder: "id desc", label: "default sorting" });
  const fMaxPage = input("max_page_size", { type: "number", value: d.max_page_size, min: 1, max: 10000, label: "max page size" });
  const fTimeout = input("timeout_ms", { type: "number", value: d.timeout_ms, min: 1, max: 300000, label: "timeout ms" });
  cPaging.querySelector("input").addEventListener("change", ev => { if (ev.target.checked) cMulti.querySelector("input").checked = true; });
  // 5. parameters
  const tbody = h("tbody", { id: "dyn-params" });
  const addParam = p => { tbody.append(paramRow(p || {}, refreshVars)); refreshVars(); };
  for (const p of d.parameters || []) tbody.append(paramRow(p, refreshVars));
  const paramsTable = h("div", { class: "table-wrap" }, h("table", { class: "params-table" },
    h("thead", {}, h("tr", {}, ["Name", "Display text", "Data type", "Location", "Multiple", "Required", "Default", "Sensitive", ""].map(t => h("th", {}, t)))), tbody));

  let editor = null;
  function refreshVars() {
    const used = templateVariables(fTemplate.value);
    const declared = new Set(readParams(tbody).map(p => p.name));
    clear(varsBox);
    if (editor) editor.markUndeclared(used.filter(v => !BUILTINS.includes(v) && !declared.has(v)));
    if (!used.length) { varsBox.append(h("span", { class: "muted" }, "No variables in the template yet.")); return; }
    varsBox.append("Variables: ");
    for (const v of used) {
      const builtin = BUILTINS.includes(v);
      const ok = builtin || declared.has(v);
      varsBox.append(h("span", { class: `badge ${ok ? "ok" : "warn"}`, title: builtin ? "built-in" : ok ? "declared" : "not declared" }, v), " ");
      if (!ok && canWrite) varsBox.append(h("button", { type: "button", class: "link small", onclick: () => addParam({ name: v }) }, `+ add ${v}`), " ");
    }
  }
  fTemplate.addEventListener("input", refreshVars);
  tbody.addEventListener("input", refreshVars);
  tbody.addEventListener("click", ev => { if (ev.target.closest("button")) setTimeout(refreshVars); });
  refreshVars();
  const poolDialect = () => ((pools || []).find(p => p.id === fPool.value) || {}).db_type || "postgresql";
  // The editor replaces the textarea once it is in the page (CodeMirror measures its box).
  const mountEditor = () => {
    editor = sqlEditor(fTemplate, { dialect: poolDialect(), onChange: refreshVars });
    if (editor) fPool.addEventListener("change", () => editor.setDialect(poolDialect()));
    refreshVars();
  };

  const saveOut = h("div", { id: "dyn-save-result" });
  const saveBtn = h("button", { type: "button", id: "dyn-save" }, isNew ? "Create (draft)" : "Save");
  const collect = (draft = false) => {
    const body = {
      name: fName.value.trim(), http_method: fMethod.value, category: fCategory.value.trim() || "default", remark: fRemark.value || null,
      template_engine: fEngine.value, script_type: fScriptType.value, script_template: fTemplate.value,
      connection_pool_id: fPool.value.trim(),
      is_multiple_result: cMulti.querySelector("input").checked, is_paging: cPaging.querySelector("input").checked,
      is_sorting: cSorting.querySelector("input").checked, sortable_columns: lines(fSortable.value),
      default_sorting: fDefaultSort.value.trim() || null,
      max_page_size: Number(fMaxPage.value) || 100, timeout_ms: Number(fTimeout.value) || 10000,
      parameters: readParams(tbody),
    };
    if (!body.name && !draft) throw new ApiError(400, "VALIDATION_ERROR", "step 1: the name is required");
    if (!body.script_template.trim()) throw new ApiError(400, "VALIDATION_ERROR", "step 2: the SQL template is required");
    if (!body.connection_pool_id) throw new ApiError(400, "VALIDATION_ERROR", "step 3: choose a connection pool");
    return body;
  };
  saveBtn.addEventListener("click", () => busy(saveBtn, async () => {
    const body = collect();
    const saved = isNew ? await post("/api/dynamic-apis", body) : await put(`/api/dynamic-apis/${id}`, body);
    toast(isNew ? "Dynamic API created" : "Dynamic API saved");
    if (isNew) location.hash = `#/dynamic/${saved.id}`;
    else { replace(saveOut, h("div", { class: "notice" }, `Saved (version ${saved.version ?? ""}).`)); }
  }, saveOut));

  const steps = h("div", { class: "steps" },
    h("section", { class: "panel step" }, h("h2", {}, "Basic information"),
      h("div", { class: "fields" }, field("Name (URL-safe)", fName, { required: true }), field("HTTP method", fMethod), field("Category", fCategory),
        field("Remark", fRemark, { wide: true }))),
    h("section", { class: "panel step" }, h("h2", {}, "SQL template"),
      h("div", { class: "fields" }, field("Engine", fEngine), field("Script type", fScriptType)),
      h("p", { class: "small muted" }, "Every ", h("code", {}, "{{ value }}"), " becomes a bind parameter (never spliced); a list becomes ",
        h("code", {}, "(…, …)"), " for IN. Use ", h("code", {}, "{% if name %}"), " for optional filters. Sorting comes only from the declared sortable columns."),
      fTemplate, varsBox),
    h("section", { class: "panel step" }, h("h2", {}, "Connection pool"),
      h("div", { class: "row" }, h("div", { class: "grow" }, fPool),
        session.can("admin") ? h("button", { type: "button", class: "secondary", onclick: ev => busy(ev.target, async () => {
          if (!fPool.value) throw new Error("choose a pool first");
          const r = await post(`/api/connection-pools/${fPool.value}/test`, {});
          replace(poolOut, h("div", { class: "notice" }, `Connected in ${fmtNum(r.duration_ms, 1)} ms — ${r.server_version || r.db_type || ""}`));
        }, poolOut) }, "Test connection") : "",
        session.can("admin") ? h("a", { href: "#/pools" }, "manage pools") : h("span", { class: "small muted" }, "Only admins can list pools.")),
      poolOut),
    h("section", { class: "panel step" }, h("h2", {}, "Result, paging and sorting"),
      h("div", { class: "stack" }, cMulti, cPaging, cSorting),
      h("div", { class: "fields" }, field("Sortable columns", fSortable), field("Default sorting", fDefaultSort), field("Max page size", fMaxPage), field("Timeout (ms)", fTimeout))),
    h("section", { class: "panel step" }, h("h2", {}, "Parameters"), paramsTable,
      h("div", { class: "row" }, canWrite ? h("button", { type: "button", class: "secondary", id: "dyn-add-param", onclick: () => addParam({}) }, "Add parameter") : "")),
  );

  // Testing the editor's content before it is saved: a throwaway draft copy is
  // created, tested (draft tests roll back) and deleted again.
  const draftParams = textarea("draft_params", { code: true, rows: 3, id: "dyn-draft-params", label: "draft test inputs", placeholder: '{"name": "beta"}' });
  const draftOut = h("div", { id: "dyn-draft-result" });
  const draftBtn = h("button", { type: "button", class: "secondary", id: "dyn-test-draft" }, "Test the unsaved draft");
  draftBtn.addEventListener("click", () => busy(draftBtn, async () => {
    let params = {};
    if (draftParams.value.trim()) {
      try { params = JSON.parse(draftParams.value); } catch (e) { throw new ApiError(400, "VALIDATION_ERROR", `test inputs are not valid JSON: ${e.message}`); }
    }
    const body = { ...collect(true), name: `draft-${Math.random().toString(36).slice(2, 10)}`, category: "console-draft" };
    const tmp = await post("/api/dynamic-apis", body);
    try {
      replace(draftOut, testResult(await post(`/api/dynamic-apis/${tmp.id}/test`, { params })));
    } finally {
      await del(`/api/dynamic-apis/${tmp.id}`).catch(() => toast(`could not remove the draft copy ${tmp.name}`, "bad"));
    }
  }, draftOut));
  const draftPanel = canWrite ? h("section", { class: "panel", id: "dyn-draft" }, h("h2", {}, "Test before saving"),
    h("p", { class: "small muted" }, "Runs the template as it is in the editor now against the chosen pool (nothing is saved; a test rolls back)."),
    field("Inputs (JSON)", draftParams, { wide: true }), h("div", { class: "row" }, draftBtn), draftOut) : "";

  const header = h("div", { class: "spread" }, h("h1", {}, isNew ? "New dynamic API" : d.name, " ", isNew ? "" : badge(d.status)),
    h("a", { href: "#/dynamic" }, "All dynamic APIs"));
  const saveBar = h("div", { class: "panel" }, h("div", { class: "row" }, canWrite ? saveBtn : h("span", { class: "muted" }, "Read-only (viewer)."),
    isNew ? h("span", { class: "small muted" }, "Saving checks the template compiles, every variable is declared, and the SQL is one statement.") : ""), saveOut);
  if (isNew) { replace(main, header, steps, draftPanel, saveBar); mountEditor(); return; }

  // 6. publish
  const fPerms = input("permissions", { value: (d.permissions || []).join(", "), id: "dyn-permissions", placeholder: "empty = public", label: "permissions" });
  const pubOut = h("div", { id: "dyn-publish-result" });
  const statusBadge = h("span", { id: "dyn-status" }, badge(d.status));
  const publish = h("section", { class: "panel step" }, h("h2", {}, "Publish"),
    h("div", { class: "row" }, "Status: ", statusBadge, h("span", { class: "small muted" }, d.published_at ? `published ${fmtTime(d.published_at)}` : "")),
    h("div", { class: "fields" }, field("Required permissions (comma-separated; empty = public)", fPerms, { wide: true })),
    h("div", { class: "row" },
      canWrite ? h("button", { type: "button", id: "dyn-publish", onclick: ev => busy(ev.target, async () => {
        const r = await post(`/api/dynamic-apis/${id}/publish`, { permissions: lines(fPerms.value) });
        replace(statusBadge, badge(r.status)); d.status = r.status;
        replace(pubOut, h("div", { class: "notice" }, "Published at ", h("code", {}, `${r.http_method} /api/dynamic-api/invoke/${r.name}`)));
        toast("Published");
      }, pubOut) }, "Publish") : "",
      canWrite ? h("button", { type: "button", class: "secondary", id: "dyn-unpublish", onclick: ev => busy(ev.target, async () => {
        const r = await post(`/api/dynamic-apis/${id}/unpublish`, {});
        replace(statusBadge, badge(r.status)); toast("Unpublished");
      }, pubOut) }, "Unpublish") : ""), pubOut);

  // 7. test
  const specs = [...(d.parameters || [])];
  const builtins = [];
  if (d.is_paging) builtins.push({ name: "skipCount", data_type: "integer", param_type: "query" }, { name: "maxResultCount", data_type: "integer", param_type: "query" });
  if (d.is_sorting) builtins.push({ name: "sorting", data_type: "string", param_type: "query" });
  const testInputs = [...specs, ...builtins].map(p => {
    const id_ = `dyn-in-${p.name}`;
    const el = p.data_type === "boolean"
      ? select(p.name, [["", "—"], "true", "false"], "", { id: id_, label: p.name })
      : input(p.name, { id: id_, type: p.data_type === "integer" || p.data_type === "number" ? (p.multiple ? "text" : "number") : p.data_type === "date" ? "date" : "text",
          placeholder: p.multiple ? "comma-separated" : (p.default_value != null ? `default ${p.default_value}` : p.data_type), label: p.name, step: p.data_type === "number" ? "any" : undefined });
    return { p, el, wrap: field(`${p.display_text || p.name} (${p.param_type}, ${p.data_type}${p.multiple ? "[]" : ""})`, el, { required: p.required }) };
  });
  const readInputs = () => {
    const out = {};
    for (const { p, el } of testInputs) {
      const v = el.value.trim();
      if (v === "") continue;
      out[p.name] = p.multiple ? lines(v) : v;
    }
    return out;
  };
  const logsBox = h("div");
  const loadLogs = async () => {
    const data = await get(`/api/dynamic-apis/${id}/logs`, { limit: 20 });
    replace(logsBox, table([
      { label: "When", render: l => fmtTime(l.created_at) }, { label: "Method", key: "http_method" },
      { label: "Status", render: l => badge(String(l.status_code), l.status_code < 400 ? "ok" : "bad") },
      { label: "ms", num: true, render: l => fmtNum(l.duration_ms, 1) }, { label: "Rows", num: true, key: "row_count" },
      { label: "Test", render: l => l.is_test ? "yes" : "" }, { label: "Error", key: "error_message", wrap: true, narrow: true },
    ], itemsOf(data), { empty: "No invocations yet." }));
  };
  const testOut = h("div", { id: "dyn-test-result" });
  const testBtn = h("button", { type: "button", id: "dyn-run-test" }, "Run test");
  testBtn.addEventListener("click", () => busy(testBtn, async () => {
    const r = await post(`/api/dynamic-apis/${id}/test`, { params: readInputs() });
    replace(testOut, testResult(r));
    busy(null, loadLogs, logsBox);
  }, testOut));
  const callOut = h("div", { id: "dyn-call-result" });
  const sendKey = h("input", { type: "checkbox", checked: true, id: "dyn-call-key", "aria-label": "send my key" });
  const callBtn = h("button", { type: "button", class: "secondary", id: "dyn-call" }, "Call the published API");
  callBtn.addEventListener("click", () => busy(callBtn, async () => {
    const vals = readInputs();
    const query = {}, headers = {}, body = {};
    for (const { p } of testInputs) {
      if (!(p.name in vals)) continue;
      if (p.param_type === "header") headers[p.name] = [].concat(vals[p.name]).join(",");
      else if ((p.param_type === "body" || p.param_type === "form") && d.http_method !== "GET") body[p.name] = vals[p.name];
      else query[p.name] = vals[p.name];
    }
    const r = await call(d.http_method, `/api/dynamic-api/invoke/${encodeURIComponent(d.name)}`,
      { query, headers, body: d.http_method !== "GET" ? body : undefined, raw: true, key: sendKey.checked ? session.key : null });
    replace(callOut, h("div", { class: "stack" }, h("div", { class: "row" }, badge(`HTTP ${r.status}`, r.status < 400 ? "ok" : "bad"),
      h("code", { class: "small" }, `${d.http_method} /api/dynamic-api/invoke/${d.name}`)), jsonView(r.json ?? r.text, { testid: "dyn-call-body" })));
  }, callOut));
  const testPanel = h("section", { class: "panel step" }, h("h2", {}, "Test"),
    testInputs.length ? h("div", { class: "fields" }, testInputs.map(t => t.wrap)) : h("p", { class: "muted" }, "No parameters."),
    h("div", { class: "row" }, canWrite ? testBtn : h("span", { class: "muted" }, "Testing needs the operator role."),
      callBtn, h("label", { class: "check small" }, sendKey, "send my key")),
    testOut, callOut);

  replace(main, header, steps, draftPanel, saveBar, publish, testPanel,
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Recent invocations"),
      h("button", { type: "button", class: "secondary", onclick: ev => busy(ev.target, loadLogs, logsBox) }, "Refresh")), logsBox));
  mountEditor();
  busy(null, loadLogs, logsBox);
}

function testResult(r) {
  const result = r.result;
  let resultView;
  const rows = result && Array.isArray(result.items) ? result.items : Array.isArray(result) ? result : null;
  if (rows && rows.length && typeof rows[0] === "object") {
    const cols = Object.keys(rows[0]);
    resultView = table(cols.map(c => ({ label: c, render: row => { const v = row[c]; return v !== null && typeof v === "object" ? JSON.stringify(v) : v; } })), rows);
  } else resultView = jsonView(result);
  const params = r.params || [];
  return h("div", { class: "stack" },
    h("div", { class: "row" }, badge("ok"), h("span", { class: "muted" }, `${fmtNum(r.duration_ms, 2)} ms`),
      r.row_count != null ? h("span", { class: "muted" }, `${fmtNum(r.row_count)} row(s)`) : "",
      result && result.totalCount !== undefined ? h("span", { class: "muted", id: "dyn-total" }, `totalCount ${fmtNum(result.totalCount)}`) : ""),
    h("h3", {}, "Rendered SQL"), h("pre", { class: "block sql", id: "dyn-test-sql" }, r.sql || ""),
    h("h3", {}, "Bound values"),
    h("div", { id: "dyn-test-params" }, table([{ label: "#", num: true, render: x => x.i }, { label: "Value", render: x => JSON.stringify(x.v) }, { label: "Type", render: x => x.v === null ? "null" : Array.isArray(x.v) ? "array" : typeof x.v }],
      params.map((v, i) => ({ i: i + 1, v })), { empty: "No bound values." })),
    (r.statements || []).length > 1 ? h("details", {}, h("summary", {}, `all statements (${r.statements.length})`), jsonView(r.statements)) : "",
    r.values ? h("details", {}, h("summary", {}, "converted inputs"), jsonView(r.values)) : "",
    h("h3", {}, "Result"), h("div", { id: "dyn-test-rows" }, resultView));
}
