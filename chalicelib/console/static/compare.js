// Comparisons (seed 003): Redis and Cassandra forms, config groups, async progress,
// differences with filters and the summary, history and logs.
import { session, get, post, del, call, itemsOf, jobOf, waitForJob } from "./api.js";
import { h, replace, clear, table, badge, field, input, select, textarea, checkbox, busy, toast, fmtTime, fmtNum, fmtPct, jsonView, kv, lines, tabs as tabList } from "./dom.js";
import { sideBySide, differingFields, asJson } from "./jsondiff.js";

// ------------------------------------------------------------------ forms

export function redisSide(prefix, title, cfg = {}) {
  const nodes = (cfg.nodes || []).map(n => typeof n === "string" ? n : `${n.host}:${n.port}`).join("\n");
  const els = {
    name: input(`${prefix}_name`, { value: cfg.name || title, id: `${prefix}-name`, label: `${title} name` }),
    nodes: textarea(`${prefix}_nodes`, { value: nodes, id: `${prefix}-nodes`, rows: 2, placeholder: "127.0.0.1:6379 (one per line)", label: `${title} nodes` }),
    username: input(`${prefix}_username`, { value: cfg.username || "", id: `${prefix}-username`, label: `${title} username` }),
    password: h("input", { type: "password", name: `${prefix}_password`, id: `${prefix}-password`, value: cfg.password || "", autocomplete: "new-password", "aria-label": `${title} password` }),
    db: input(`${prefix}_db`, { type: "number", value: cfg.db ?? 0, min: 0, id: `${prefix}-db`, label: `${title} db` }),
  };
  const box = h("fieldset", { class: "panel" }, h("legend", {}, title),
    h("div", { class: "fields" }, field("Name", els.name), field("db", els.db), field("Nodes (host:port, one per line)", els.nodes, { wide: true, required: true }),
      field("Username (ACL)", els.username), field("Password", els.password)));
  return {
    el: box,
    read() {
      const out = { name: els.name.value.trim() || title, nodes: lines(els.nodes.value, false).map(s => {
        const i = s.lastIndexOf(":"); return i > 0 ? { host: s.slice(0, i), port: Number(s.slice(i + 1)) } : { host: s, port: 6379 };
      }), db: Number(els.db.value) || 0 };
      if (els.username.value.trim()) out.username = els.username.value.trim();
      if (els.password.value) out.password = els.password.value;
      return out;
    },
    fill(c) {
      if (!c) return;
      els.name.value = c.name || title;
      els.nodes.value = (c.nodes || []).map(n => typeof n === "string" ? n : `${n.host}:${n.port}`).join("\n");
      els.username.value = c.username || "";
      els.password.value = c.password || "";
      els.db.value = c.db ?? 0;
    },
  };
}

export function cassSide(prefix, title, cfg = {}) {
  const els = {
    cluster_name: input(`${prefix}_cluster_name`, { value: cfg.cluster_name || "", label: `${title} cluster` }),
    datacenter: input(`${prefix}_datacenter`, { value: cfg.datacenter || "", label: `${title} datacenter` }),
    hosts: input(`${prefix}_hosts`, { value: (cfg.hosts || []).join(", "), placeholder: "10.0.0.1, 10.0.0.2", label: `${title} hosts` }),
    port: input(`${prefix}_port`, { type: "number", value: cfg.port || 9042, label: `${title} port` }),
    username: input(`${prefix}_username`, { value: cfg.username || "", label: `${title} username` }),
    password: h("input", { type: "password", name: `${prefix}_password`, value: cfg.password || "", autocomplete: "new-password", "aria-label": `${title} password` }),
    keyspace: input(`${prefix}_keyspace`, { value: cfg.keyspace || "", label: `${title} keyspace` }),
    table: input(`${prefix}_table`, { value: cfg.table || "", label: `${title} table` }),
  };
  const box = h("fieldset", { class: "panel" }, h("legend", {}, title),
    h("div", { class: "fields" }, field("Cluster name", els.cluster_name), field("Datacenter", els.datacenter),
      field("Hosts", els.hosts, { required: true }), field("Port", els.port), field("Username", els.username), field("Password", els.password),
      field("Keyspace", els.keyspace, { required: true }), field("Table", els.table, { required: true })));
  return {
    el: box,
    read() {
      const out = { cluster_name: els.cluster_name.value.trim() || title, hosts: lines(els.hosts.value), port: Number(els.port.value) || 9042,
        keyspace: els.keyspace.value.trim(), table: els.table.value.trim() };
      if (els.datacenter.value.trim()) out.datacenter = els.datacenter.value.trim();
      if (els.username.value.trim()) out.username = els.username.value.trim();
      if (els.password.value) out.password = els.password.value;
      return out;
    },
    fill(c) {
      if (!c) return;
      for (const k of ["cluster_name", "datacenter", "port", "username", "password", "keyspace", "table"]) els[k].value = c[k] ?? (k === "port" ? 9042 : "");
      els.hosts.value = (c.hosts || []).join(", ");
    },
  };
}

function groupBar(kind, getState, setState) {
  const sel = select("config_group", [["", "— config group —"]], "", { id: `${kind}-group`, label: "config group" });
  const name = input("group_name", { placeholder: "new group name", id: `${kind}-group-name`, label: "group name" });
  const out = h("div");
  const refresh = async () => {
    const groups = itemsOf(await get("/api/config-groups", { group_type: kind, limit: 200 }));
    const cur = sel.value;
    replace(sel, h("option", { value: "" }, "— config group —"), groups.map(g => h("option", { value: g.id }, g.name)));
    sel.value = cur;
  };
  const bar = h("div", { class: "panel" }, h("div", { class: "row" },
    sel,
    h("button", { type: "button", class: "secondary", id: `${kind}-group-load`, onclick: ev => busy(ev.target, async () => {
      if (!sel.value) throw new Error("choose a config group");
      const g = await get(`/api/config-groups/${sel.value}`);
      setState(g);
      replace(out, h("div", { class: "notice small" }, `Loaded “${g.name}”. Masked passwords (********) are kept from the group when sent back.`));
    }, out) }, "Load"),
    session.can("operator") ? [name, h("button", { type: "button", class: "secondary", id: `${kind}-group-save`, onclick: ev => busy(ev.target, async () => {
      if (!name.value.trim()) throw new Error("enter a group name");
      const r = await post("/api/config-groups", { name: name.value.trim(), group_type: kind, ...getState() });
      toast(`Config group “${r.name}” saved`);
      await refresh(); sel.value = r.id; name.value = "";
    }, out) }, "Save as group")] : ""), out);
  busy(null, refresh, out);
  return bar;
}

async function run(path, body, out, onDone) {
  const r = await call("POST", path, { body, withStatus: true });
  const job = jobOf(r.data, r.status);
  let result = r.data;
  if (job) {
    const bar = h("div", { style: { width: "0%" } });
    const msg = h("span", { class: "small muted", id: "compare-progress-msg" }, "queued");
    replace(out, h("div", { class: "panel stack", id: "compare-progress" }, h("div", {}, "Running as job ", h("a", { href: "#/jobs" }, h("code", {}, job.id))),
      h("div", { class: "progress" }, bar), msg));
    const done = await waitForJob(job, j => { bar.style.width = `${j.progress || 0}%`; msg.textContent = `${j.status} · ${j.progress || 0}% ${j.progress_message || ""}`; });
    if (done.status !== "succeeded") throw Object.assign(new Error(done.last_error || `job ${done.status}`), { code: `JOB_${done.status.toUpperCase()}` });
    result = done.result || {};
    if (result.results) result = { ...result.results, history_id: result.history_id };
    else if (result.history_id) result = { ...(await get(`/api/query-history/${result.history_id}/results`)), history_id: result.history_id };
  }
  replace(out, resultView(result));
  onDone && onDone(result);
}

export async function renderForms(ctx) {
  const { main } = ctx;
  let tab = ctx.query.tab || "redis";
  let defaults = {};
  try { defaults = await get("/api/default-config"); } catch { /* the forms work without defaults */ }
  if (!ctx.alive) return;
  const body = h("div", { role: "tabpanel" });
  const out = h("div", { id: "compare-result" });
  const canRun = session.can("operator");
  const common = prefix => {
    const els = {
      name: input("name", { placeholder: "run name (history)", id: `${prefix}-run-name`, label: "run name" }),
      save: h("input", { type: "checkbox", checked: true, id: `${prefix}-save-history`, "aria-label": "save history" }),
      async: h("input", { type: "checkbox", id: `${prefix}-async`, "aria-label": "run as a job" }),
    };
    return {
      els,
      el: h("div", { class: "row" }, els.name, h("label", { class: "check" }, els.save, "save to history"), h("label", { class: "check" }, els.async, "run as a job (progress)")),
      read() { const o = { save_history: els.save.checked }; if (els.name.value.trim()) o.name = els.name.value.trim(); if (els.async.checked) o.async = true; return o; },
    };
  };

  const views = {
    redis() {
      const rd = defaults.redis || {};
      const c1 = redisSide("cluster1", "Cluster 1 (production)", rd.cluster1_config || {});
      const c2 = redisSide("cluster2", "Cluster 2 (test)", rd.cluster2_config || {});
      const mode = select("query_mode", [["specified", "specified keys"], ["sample", "sample (SCAN)"]], rd.query_mode || "specified", { id: "redis-mode", label: "query mode" });
      const keys = textarea("keys", { id: "redis-keys", rows: 5, placeholder: "user:1001\nuser:1002", label: "keys" });
      const sc = rd.sample_config || {};
      const sCount = input("sample_count", { type: "number", value: sc.count || 100, min: 1, label: "sample count" });
      const sPattern = input("sample_pattern", { value: sc.pattern || "*", label: "sample pattern" });
      const sSource = select("sample_source", [["cluster1", "from cluster 1"], ["cluster2", "from cluster 2"]], sc.source_cluster || "cluster1", { label: "sample source" });
      const ttl = h("input", { type: "checkbox", id: "redis-ttl", checked: !!rd.compare_ttl, "aria-label": "compare TTL" });
      const recheck = input("recheck_rounds", { type: "number", value: rd.recheck_rounds ?? 1, min: 0, max: 10, label: "recheck rounds" });
      const keysBox = field("Keys (one per line)", keys, { wide: true });
      const sampleBox = h("div", { class: "fields" }, field("Count", sCount), field("Pattern", sPattern), field("Source", sSource));
      const sync = () => { keysBox.hidden = mode.value !== "specified"; sampleBox.hidden = mode.value !== "sample"; };
      mode.addEventListener("change", sync); sync();
      const cm = common("redis");
      const state = () => ({ cluster1_config: c1.read(), cluster2_config: c2.read(),
        query_config: { query_mode: mode.value, keys: lines(keys.value, false), sample_config: { count: Number(sCount.value), pattern: sPattern.value, source_cluster: sSource.value },
          compare_ttl: ttl.checked, recheck_rounds: Number(recheck.value) } });
      const setState = g => {
        c1.fill(g.cluster1_config); c2.fill(g.cluster2_config);
        const q = g.query_config || {};
        if (q.query_mode) mode.value = q.query_mode;
        if (q.keys) keys.value = q.keys.join("\n");
        if (q.sample_config) { sCount.value = q.sample_config.count ?? sCount.value; sPattern.value = q.sample_config.pattern ?? sPattern.value; sSource.value = q.sample_config.source_cluster || sSource.value; }
        if (q.compare_ttl !== undefined) ttl.checked = !!q.compare_ttl;
        if (q.recheck_rounds !== undefined) recheck.value = q.recheck_rounds;
        sync();
      };
      const submit = h("button", { type: "submit", id: "redis-run" }, "Compare");
      const form = h("form", { id: "redis-form" }, groupBar("redis", state, setState), h("div", { class: "grid2" }, c1.el, c2.el),
        h("div", { class: "panel" }, h("div", { class: "fields" }, field("Mode", mode), field("Recheck rounds", recheck),
          h("label", { class: "check" }, ttl, "compare TTL")), keysBox, sampleBox),
        h("div", { class: "panel stack" }, cm.el, canRun ? submit : h("p", { class: "muted" }, "Running comparisons needs the operator role.")));
      form.addEventListener("submit", ev => {
        ev.preventDefault();
        busy(submit, async () => {
          const s = state();
          const b = { cluster1_config: s.cluster1_config, cluster2_config: s.cluster2_config, query_mode: s.query_config.query_mode,
            compare_ttl: s.query_config.compare_ttl, recheck_rounds: s.query_config.recheck_rounds, ...cm.read() };
          if (b.query_mode === "specified") b.keys = s.query_config.keys; else b.sample_config = s.query_config.sample_config;
          await run("/api/redis/compare", b, out);
        }, out);
      });
      return form;
    },
    cassandra() { return cassandraForm(false); },
    sharding() { return cassandraForm(true); },
  };

  function cassandraForm(sharded) {
    const kind = sharded ? "sharding" : "cassandra";
    const pro = cassSide(`${kind}-pro`, "Production", defaults.pro_config || {});
    const test = cassSide(`${kind}-test`, "Test", defaults.test_config || {});
    const keys = input("keys", { placeholder: "user_id (comma-separated for a composite key)", id: `${kind}-keys`, label: "key columns" });
    const values = textarea("values", { rows: 5, id: `${kind}-values`, placeholder: "1001\n1002\n(composite: JSON list per line)", label: "key values" });
    const fields = input("fields_to_compare", { placeholder: "empty = every column", label: "fields to compare" });
    const exclude = input("exclude_fields", { placeholder: "created_at, updated_at", label: "exclude fields" });
    const sh = { pro: h("input", { type: "checkbox", checked: true, "aria-label": "shard production" }), test: h("input", { type: "checkbox", "aria-label": "shard test" }),
      interval: input("interval_seconds", { type: "number", value: 604800, label: "interval seconds" }), count: input("table_count", { type: "number", value: 14, label: "table count" }) };
    const cm = common(kind);
    const readValues = () => lines(values.value, false).map(v => { if (/^[[{]/.test(v)) { try { return JSON.parse(v); } catch { return v; } } return v; });
    const state = () => {
      const st = { pro_config: pro.read(), test_config: test.read(), query_config: { keys: lines(keys.value), fields_to_compare: lines(fields.value), exclude_fields: lines(exclude.value) } };
      if (sharded) st.sharding_config = { use_sharding_for_pro: sh.pro.checked, use_sharding_for_test: sh.test.checked, interval_seconds: Number(sh.interval.value), table_count: Number(sh.count.value) };
      return st;
    };
    const setState = g => {
      pro.fill(g.pro_config); test.fill(g.test_config);
      const q = g.query_config || {};
      keys.value = (q.keys || []).join(", "); fields.value = (q.fields_to_compare || []).join(", "); exclude.value = (q.exclude_fields || []).join(", ");
      if (sharded && g.sharding_config) { const s = g.sharding_config; sh.pro.checked = !!s.use_sharding_for_pro; sh.test.checked = !!s.use_sharding_for_test; sh.interval.value = s.interval_seconds; sh.count.value = s.table_count; }
    };
    const submit = h("button", { type: "submit", id: `${kind}-run` }, "Compare");
    const form = h("form", { id: `${kind}-form` }, groupBar("cassandra", state, setState), h("div", { class: "grid2" }, pro.el, test.el),
      h("div", { class: "panel" }, h("div", { class: "fields" }, field("Key columns", keys, { required: true }), field("Fields to compare", fields), field("Exclude fields", exclude),
        field("Key values (one per line)", values, { wide: true, required: true }))),
      sharded ? h("div", { class: "panel" }, h("h3", {}, "Sharding"), h("div", { class: "fields" },
        h("label", { class: "check" }, sh.pro, "shard production"), h("label", { class: "check" }, sh.test, "shard test"),
        field("Interval (s)", sh.interval), field("Table count", sh.count)),
        h("p", { class: "small muted" }, "Table = <table>_<(timestamp // interval) % count>; the timestamp is read from the key value (10 or 13 digits).")) : "",
      h("div", { class: "panel stack" }, cm.el, canRun ? submit : h("p", { class: "muted" }, "Running comparisons needs the operator role.")));
    form.addEventListener("submit", ev => {
      ev.preventDefault();
      busy(submit, async () => {
        const s = state();
        const b = { pro_config: s.pro_config, test_config: s.test_config, ...s.query_config, values: readValues(), ...cm.read() };
        if (sharded) b.sharding_config = s.sharding_config;
        await run(sharded ? "/api/sharding-query" : "/api/query", b, out);
      }, out);
    });
    return form;
  }

  const draw = () => replace(body, views[tab]());
  const tabs = tabList([["redis", "Redis"], ["cassandra", "Cassandra"], ["sharding", "Cassandra (sharded)"]], tab,
    k => { tab = k; clear(out); draw(); }, { label: "comparison type" });
  draw();
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Compare data"), h("div", { class: "row" }, h("a", { href: "#/compare-runs", id: "compare-runs-link" }, "Whole-dataset runs"), h("a", { href: "#/history" }, "History"), h("a", { href: "#/logs" }, "Logs"))), tabs, body, out);
}

// ------------------------------------------------------------------ results

export function keyText(k) { return k !== null && typeof k === "object" ? JSON.stringify(k) : String(k); }
// A value; when both sides are objects, the fields that differ are marked.
export function valueCell(v, other) {
  if (v === undefined) return "—";
  const diff = other !== undefined ? differingFields(v, other) : null;
  if (diff) {
    const obj = asJson(v);
    return h("div", { class: "small fields-diff" }, Object.keys(obj).sort().slice(0, 30).map(k => {
      const t = JSON.stringify(obj[k]);
      const item = h("div", {}, h("code", {}, k), ": ", h("code", {}, t.length > 80 ? t.slice(0, 80) + "…" : t));
      return diff.includes(k) ? h("mark", { class: "diff-field", "data-field": k }, item) : item;
    }));
  }
  const t = v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  return h("code", { class: "small", title: t.length > 200 ? t : undefined }, t.length > 200 ? t.slice(0, 200) + "…" : t);
}

export function resultView(r) {
  const redis = "cluster1_found" in r || "missing_in_cluster1" in r || "cluster_stats" in r;
  const [L, R] = redis ? ["cluster1", "cluster2"] : ["pro", "test"];
  const diffs = r.differences || [];
  const identical = r.identical || r.identical_results || [];
  const s = r.summary || {};
  const counts = s.counts || {};
  const cards = [
    ["total keys", r.total_keys], [redis ? "found in cluster 1" : "production rows", redis ? r.cluster1_found : r.pro_count],
    [redis ? "found in cluster 2" : "test rows", redis ? r.cluster2_found : r.test_count],
    ["keys differing", r.differences_count ?? counts.different_keys ?? diffs.length], ["identical", r.identical_count ?? identical.length],
    [`missing in ${L}`, (r[`missing_in_${L}`] || []).length], [`missing in ${R}`, (r[`missing_in_${R}`] || []).length],
  ];
  if (r.transient_dropped !== undefined || (s.notes && s.notes.transient_dropped !== undefined)) cards.push(["dropped as transient", r.transient_dropped ?? s.notes.transient_dropped]);
  if (r.execution_time !== undefined) cards.push(["seconds", fmtNum(r.execution_time, 2)]);

  // differences table with filters
  const typeField = redis ? "value_type" : "field";
  const kinds = [...new Set(diffs.map(d => d.difference_type).filter(Boolean))];
  const cats = [...new Set(diffs.map(d => d[typeField]).filter(Boolean))];
  const fText = input("filter_text", { placeholder: "filter keys / values", id: "diff-filter-text", label: "filter" });
  const fKind = select("filter_kind", [["", "any difference"], ...kinds], "", { id: "diff-filter-kind", label: "difference type" });
  const fCat = select("filter_cat", [["", redis ? "any type" : "any field"], ...cats], "", { id: "diff-filter-cat", label: redis ? "value type" : "field" });
  const diffBox = h("div", { id: "diff-table" });
  const sideBox = h("div", { id: "diff-side", "aria-live": "polite" });
  const drawDiffs = () => {
    const t = fText.value.trim().toLowerCase();
    const rows = diffs.filter(d => (!fKind.value || d.difference_type === fKind.value) && (!fCat.value || d[typeField] === fCat.value) &&
      (!t || JSON.stringify([d.key, d[`${L}_value`], d[`${R}_value`]]).toLowerCase().includes(t)));
    replace(diffBox, table([
      { label: "Key", render: d => h("code", {}, keyText(d.key)), wrap: true },
      redis ? { label: "Type", render: d => d.value_type || "" } : { label: "Field", render: d => d.field || "" },
      { label: "Difference", render: d => badge(d.difference_type || "value_mismatch", "warn") },
      { label: L, render: d => valueCell(d[`${L}_value`], d[`${R}_value`]), wrap: true },
      { label: R, render: d => valueCell(d[`${R}_value`], d[`${L}_value`]), wrap: true },
      { label: "", render: d => h("button", { type: "button", class: "link", "data-diff-key": keyText(d.key), onclick: () => {
          replace(sideBox, h("div", { class: "spread" }, h("h3", {}, "Key ", h("code", {}, keyText(d.key)), d.field ? [" · field ", h("code", {}, d.field)] : ""),
            h("button", { type: "button", class: "link", onclick: () => replace(sideBox) }, "close")),
            sideBySide(d[`${L}_value`], d[`${R}_value`], { leftLabel: L, rightLabel: R }));
          sideBox.scrollIntoView({ block: "nearest" });
        } }, "side by side") },
      { label: "Detail", render: d => [d.message || "", d.json_paths ? h("div", { class: "small muted" }, `paths: ${d.json_paths.join(", ")}`) : ""], wrap: true, narrow: true },
    ], rows, { empty: diffs.length ? "No difference matches the filters." : "No differences." }),
    h("div", { class: "small muted" }, `${rows.length} of ${diffs.length} listed difference(s)${r.listing_truncated ? ` (listing capped at ${r.max_listed})` : ""}`));
  };
  fText.addEventListener("input", drawDiffs);
  for (const el of [fKind, fCat]) el.addEventListener("change", drawDiffs);
  drawDiffs();

  const fa = s.field_analysis || {};
  const missing = side => (r[`missing_in_${side}`] || []);
  return h("div", { class: "stack", "data-testid": "compare-result" },
    r.history_id ? h("div", { class: "notice" }, "Saved to history: ", h("a", { href: `#/history/${r.history_id}`, id: "result-history-link" }, `#${r.history_id}`)) : "",
    h("div", { class: "cards", id: "compare-cards" }, cards.map(([k, v]) => h("div", { class: "card" }, h("div", { class: "v" }, fmtNum(v)), h("div", { class: "k" }, k)))),
    h("section", { class: "panel", id: "compare-summary" }, h("h2", {}, "Summary"),
      s.overview ? h("p", {}, s.overview) : "",
      s.percentages ? h("div", { class: "row" }, Object.entries(s.percentages).map(([k, v]) => badge(`${k.replace(/_/g, " ")} ${fmtPct(v)}`, k.startsWith("match") ? "ok" : "warn"))) : "",
      (s.recommendations || []).length ? [h("h3", {}, "Recommendations"), h("ul", { id: "compare-recommendations" }, s.recommendations.map(x => h("li", {}, x)))] : "",
      Object.keys(fa).length ? [h("h3", {}, redis ? "Per type / field" : "Per field"), table([{ label: "Field", key: "f" }, { label: "Differences", num: true, key: "n" }, { label: "Rate", num: true, render: x => fmtPct(x.rate) }],
        Object.entries(fa).map(([f, v]) => ({ f, n: v.diff_count, rate: v.diff_rate })))] : "",
      s.category_analysis || s.type_analysis ? h("details", {}, h("summary", {}, "per type"), jsonView(s.category_analysis || s.type_analysis)) : ""),
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Differences"), h("div", { class: "row" }, fText, fKind, fCat)), diffBox, sideBox),
    missing(L).length || missing(R).length ? h("section", { class: "panel grid2" },
      h("div", {}, h("h3", {}, `Missing in ${L} (${missing(L).length})`), h("ul", { class: "small" }, missing(L).slice(0, 200).map(k => h("li", {}, h("code", {}, keyText(k.key ?? k)))))),
      h("div", {}, h("h3", {}, `Missing in ${R} (${missing(R).length})`), h("ul", { class: "small" }, missing(R).slice(0, 200).map(k => h("li", {}, h("code", {}, keyText(k.key ?? k))))))) : "",
    identical.length ? h("details", { class: "panel" }, h("summary", {}, `Identical (${identical.length} listed)`),
      table([{ label: "Key", render: x => h("code", {}, keyText(x.key)) }, { label: "Type", render: x => x.value_type || "" }, { label: "Value", render: x => valueCell(x.value ?? x.pro_fields), wrap: true }], identical.slice(0, 500))) : "",
    r.cluster_stats ? h("section", { class: "panel" }, h("h2", {}, "Clusters"), h("div", { class: "grid2" }, Object.entries(r.cluster_stats).map(([name, st]) =>
      h("div", {}, h("h3", {}, name, " ", badge(st.connection_status, st.connection_status === "connected" ? "ok" : "bad")),
        kv([["avg response", st.response_time_avg != null ? `${fmtNum(st.response_time_avg * 1000, 2)} ms` : null], ["mode", st.mode || st.topology]]),
        table([{ label: "Node", render: n => `${n.host}:${n.port}` }, { label: "Status", render: n => badge(n.status, n.status === "connected" ? "ok" : "bad") }], st.nodes_status || []))))) : "",
    r.performance_summary ? h("section", { class: "panel" }, h("h2", {}, "Performance"), kv(Object.entries(r.performance_summary).map(([k, v]) => [k.replace(/_/g, " "), typeof v === "number" ? fmtNum(v, 3) : JSON.stringify(v)]))) : "",
    r.sharding_info ? h("section", { class: "panel" }, h("h2", {}, "Sharding"), jsonView(r.sharding_info)) : "",
    h("details", {}, h("summary", {}, "raw answer"), jsonView(r)));
}

// ------------------------------------------------------------------ history and logs

export async function renderHistory(ctx) {
  const { main } = ctx;
  const type = select("query_type", [["", "all types"], "single", "sharding", "redis"], ctx.query.query_type || "", { label: "query type", id: "history-type" });
  const box = h("div", { id: "history-list" });
  const load = async () => {
    const data = await get("/api/query-history", { query_type: type.value, limit: 100 });
    if (!ctx.alive) return;
    replace(box, table([
      { label: "#", render: x => h("a", { href: `#/history/${x.id}` }, `#${x.id}`) },
      { label: "Name", render: x => x.name, wrap: true }, { label: "Type", render: x => badge(x.query_type, "") },
      { label: "Keys", num: true, render: x => fmtNum(x.total_keys) }, { label: "Diffs", num: true, render: x => fmtNum(x.differences_count) },
      { label: "Identical", num: true, render: x => fmtNum(x.identical_count), narrow: true },
      { label: "Seconds", num: true, render: x => fmtNum(x.execution_time, 2), narrow: true }, { label: "When", render: x => fmtTime(x.created_at) },
    ], itemsOf(data), { onRow: x => { location.hash = `#/history/${x.id}`; }, empty: "No history yet.", rowAttrs: x => ({ "data-history-id": x.id }) }),
    h("p", { class: "small muted" }, `${fmtNum(data.total)} record(s)`));
  };
  type.addEventListener("change", () => busy(null, load, box));
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Comparison history"), h("div", { class: "row" }, type, h("a", { href: "#/logs" }, "Logs"), h("a", { href: "#/compare" }, "New comparison"))),
    h("div", { class: "panel" }, box));
  await busy(null, load, box);
}

function logsTable(logs) {
  return table([
    { label: "Time", render: l => fmtTime(l.timestamp || l.created_at) }, { label: "Level", render: l => badge(l.level) },
    { label: "Message", key: "message", wrap: true }, { label: "Type", key: "query_type", narrow: true },
    { label: "History", render: l => l.history_id ? h("a", { href: `#/history/${l.history_id}` }, `#${l.history_id}`) : "", narrow: true },
  ], logs, { empty: "No logs." });
}

export async function renderHistoryEntry(ctx, id) {
  const { main } = ctx;
  const [rec, results, logs] = await Promise.all([get(`/api/query-history/${id}`), get(`/api/query-history/${id}/results`), get(`/api/query-logs/history/${id}`)]);
  if (!ctx.alive) return;
  const ls = logs.log_summary || {};
  replace(main,
    h("div", { class: "spread" }, h("h1", { id: "history-title" }, `#${rec.id} ${rec.name}`), h("a", { href: "#/history" }, "All history")),
    h("div", { class: "panel" }, kv([["Type", badge(rec.query_type, "")], ["When", fmtTime(rec.created_at)], ["Seconds", fmtNum(rec.execution_time, 3)],
      ["Keys", fmtNum(rec.total_keys)], ["Differences", fmtNum(rec.differences_count)], ["Identical", fmtNum(rec.identical_count)],
      rec.description ? ["Description", rec.description] : null, rec.job_id ? ["Job", h("code", {}, rec.job_id)] : null]),
      h("details", {}, h("summary", {}, "configuration (passwords masked)"), jsonView({ pro_config: rec.pro_config, test_config: rec.test_config, query_config: rec.query_config, sharding_config: rec.sharding_config, query_keys: rec.query_keys }))),
    resultView({ ...(results || {}), history_id: undefined }),
    h("section", { class: "panel", id: "history-logs" }, h("h2", {}, "Logs"),
      h("div", { class: "row small" }, `${fmtNum(ls.total_logs)} log(s): `, badge(`INFO ${ls.info_count ?? 0}`, "INFO"), badge(`WARNING ${ls.warning_count ?? 0}`, "WARNING"), badge(`ERROR ${ls.error_count ?? 0}`, "ERROR"),
        ls.start_time ? ` ${fmtTime(ls.start_time)} → ${fmtTime(ls.end_time)}` : ""),
      logsTable(itemsOf(logs, "logs"))),
    session.can("admin") ? h("div", { class: "row" }, h("button", { type: "button", class: "danger", onclick: ev => {
      if (!confirm(`Delete history #${rec.id} and its logs?`)) return;
      busy(ev.target, async () => { await del(`/api/query-history/${id}`); toast("History deleted"); location.hash = "#/history"; });
    } }, "Delete this record")) : "");
}

export async function renderLogs(ctx) {
  const { main } = ctx;
  const level = select("level", [["", "all levels"], "INFO", "WARNING", "ERROR"], "", { label: "level" });
  const hist = input("history_id", { type: "number", placeholder: "history id", label: "history id", min: 1 });
  const box = h("div", { id: "logs-list" });
  const load = async () => {
    const data = await get("/api/query-logs", { level: level.value, history_id: hist.value, limit: 200 });
    if (!ctx.alive) return;
    replace(box, logsTable(itemsOf(data, "logs")), h("p", { class: "small muted" }, `${fmtNum(data.total)} log(s)`));
  };
  level.addEventListener("change", () => busy(null, load, box));
  hist.addEventListener("change", () => busy(null, load, box));
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Query logs"), h("div", { class: "row" }, level, hist,
    session.can("admin") ? h("button", { type: "button", class: "danger", onclick: ev => {
      if (!confirm("Delete all query logs?")) return;
      busy(ev.target, async () => { const r = await del("/api/query-logs"); toast(`${r.deleted_count} log(s) deleted`); await load(); });
    } }, "Clear logs") : "")), h("div", { class: "panel" }, box));
  await busy(null, load, box);
}
