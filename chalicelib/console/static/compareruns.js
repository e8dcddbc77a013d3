// Whole-dataset comparison runs (/api/compare-runs): the list, polled while a run
// is running, and the form that starts one (Redis: two clusters or a config group,
// pattern, types, rate limit, priority; Cassandra: two tables or a config group).
// One run's page (progress, cancel/resume, differences, export) is comparerun.js.
import { session, get, post, itemsOf, setHashQuery } from "./api.js";
import { h, replace, clear, table, badge, field, input, select, checkbox, busy, toast, fmtTime, fmtNum, lines, tabs as tabList } from "./dom.js";
import { redisSide, cassSide } from "./compare.js";

export const RUN_STATES = ["running", "paused", "cancelled", "completed", "failed"];
const VALUE_TYPES = ["string", "hash", "list", "set", "zset", "stream"];
const PAGE = 50;

export function segmentsText(p) {
  const s = (p && p.segments) || {};
  return `${fmtNum(s.done ?? 0)} / ${fmtNum(s.total ?? 0)}${s.failed ? ` (${fmtNum(s.failed)} failed)` : ""}`;
}

// A config group picker: choosing one hides the side fieldsets (the run reads the group).
async function groupPicker(kind, id, sides) {
  const sel = select("config_group_id", [["", "— none —"]], "", { id, label: "config group" });
  const sync = () => { for (const el of sides) el.hidden = !!sel.value; };
  sel.addEventListener("change", sync);
  try {
    const groups = itemsOf(await get("/api/config-groups", { group_type: kind, limit: 200 }));
    for (const g of groups) sel.append(h("option", { value: g.id }, g.name));
  } catch { /* the form works without groups */ }
  return { el: field("Config group (instead of the configurations below)", sel), get value() { return sel.value ? Number(sel.value) : null; } };
}

function numberOrNull(el) { const v = el.value.trim(); return v === "" ? null : Number(v); }

// The options every run takes: name, rate limit per side, priority, and the job's time slice.
function runOptions(kind) {
  const els = {
    name: input("name", { id: `${kind}-run-name`, placeholder: "optional", label: "run name" }),
    ops: input("max_ops_per_second", { type: "number", min: 1, id: `${kind}-run-max-ops`, placeholder: "unlimited", label: "max operations per second per side" }),
    priority: select("priority", [["low", "low (default)"], ["default", "default"], ["critical", "critical"]], "low", { id: `${kind}-run-priority`, label: "priority" }),
    slice: input("slice_seconds", { type: "number", min: 0.5, max: 300, step: 0.5, id: `${kind}-run-slice`, placeholder: "20", label: "seconds per job slice" }),
    step: input("step_keys", { type: "number", min: 10, max: 100000, id: `${kind}-run-step`, placeholder: "2000", label: "keys per step" }),
  };
  return {
    els,
    main: [field("Run name", els.name), field("Max operations / s per side", els.ops, { title: "shared by every worker of the run" }), field("Priority", els.priority)],
    advanced: [field("Keys (rows) per step", els.step), field("Seconds per job slice", els.slice)],
    read() {
      const o = { priority: els.priority.value };
      if (els.name.value.trim()) o.name = els.name.value.trim();
      const ops = numberOrNull(els.ops); if (ops !== null) o.max_ops_per_second = ops;
      const step = numberOrNull(els.step); if (step !== null) o.step_keys = step;
      const slice = numberOrNull(els.slice); if (slice !== null) o.slice_seconds = slice;
      return o;
    },
  };
}

async function start(body, out) {
  const run = await post("/api/compare-runs", body);
  toast(`Run started: ${run.name}`);
  location.hash = `#/compare-runs/${run.id}`;
  return run;
}

async function redisForm(defaults) {
  const rd = defaults.redis || {};
  const c1 = redisSide("run1", "Cluster 1 (source)", rd.cluster1_config || {});
  const c2 = redisSide("run2", "Cluster 2 (target)", rd.cluster2_config || {});
  const sidesBox = h("div", { class: "grid2" }, c1.el, c2.el);
  const group = await groupPicker("redis", "run-redis-group", [sidesBox]);
  const pattern = input("pattern", { value: "*", id: "run-pattern", label: "key pattern (SCAN MATCH)" });
  const types = VALUE_TYPES.map(t => checkbox(`type_${t}`, t, false));
  const ttl = h("input", { type: "checkbox", id: "run-ttl", checked: !!rd.compare_ttl, "aria-label": "compare TTL" });
  const recheck = input("recheck_rounds", { type: "number", value: rd.recheck_rounds ?? 1, min: 0, max: 10, id: "run-recheck", label: "recheck rounds" });
  const scanCount = input("scan_count", { type: "number", min: 10, max: 100000, id: "run-scan-count", placeholder: "1000", label: "SCAN COUNT" });
  const opts = runOptions("redis");
  const out = h("div", { id: "run-start-result" });
  const submit = h("button", { type: "submit", id: "run-start" }, "Start the run");
  const form = h("form", { id: "run-redis-form", "aria-label": "start a Redis run" },
    h("div", { class: "panel" }, h("div", { class: "fields" }, group.el)), sidesBox,
    h("div", { class: "panel stack" }, h("div", { class: "fields" }, field("Key pattern", pattern), field("Recheck rounds", recheck), ...opts.main,
      h("label", { class: "check" }, ttl, "compare TTL")),
      h("fieldset", { class: "row", id: "run-types" }, h("legend", { class: "small muted" }, "Types (none checked: every type)"), types),
      h("details", {}, h("summary", {}, "Advanced"), h("div", { class: "fields" }, field("SCAN COUNT", scanCount), ...opts.advanced))),
    h("div", { class: "panel stack" }, submit, out));
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(submit, () => {
      const body = { engine: "redis", pattern: pattern.value.trim() || "*", compare_ttl: ttl.checked, recheck_rounds: Number(recheck.value) || 0, ...opts.read() };
      if (group.value) body.config_group_id = group.value;
      else { body.cluster1_config = c1.read(); body.cluster2_config = c2.read(); }
      const chosen = types.map(l => l.querySelector("input")).filter(b => b.checked).map(b => b.name.slice(5));
      if (chosen.length) body.types = chosen;
      const sc = numberOrNull(scanCount); if (sc !== null) body.scan_count = sc;
      return start(body, out);
    }, out);
  });
  return form;
}

async function cassandraForm(defaults) {
  const pro = cassSide("run-pro", "Production", defaults.pro_config || {});
  const test = cassSide("run-test", "Test", defaults.test_config || {});
  const sidesBox = h("div", { class: "grid2" }, pro.el, test.el);
  const group = await groupPicker("cassandra", "run-cassandra-group", [sidesBox]);
  const fields = input("fields_to_compare", { id: "run-cass-fields", placeholder: "empty = every column", label: "fields to compare" });
  const exclude = input("exclude_fields", { id: "run-cass-exclude", placeholder: "created_at, updated_at", label: "exclude fields" });
  const consistency = select("consistency_level", [["", "each side's own"], "ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL"], "", { id: "run-cass-consistency", label: "consistency level" });
  const recheck = input("recheck_rounds", { type: "number", value: 1, min: 0, max: 10, id: "run-cass-recheck", label: "recheck rounds" });
  const mode = select("compare_mode", [["exact", "exact"], ["json", "json"], ["normalized", "normalized"]], "exact", { id: "run-cass-mode", label: "compare mode" });
  const split = input("split_count", { type: "number", min: 1, max: 4096, id: "run-cass-split", placeholder: "16", label: "token ranges" });
  const opts = runOptions("cassandra");
  const out = h("div", { id: "run-start-result" });
  const submit = h("button", { type: "submit", id: "run-start" }, "Start the run");
  const form = h("form", { id: "run-cassandra-form", "aria-label": "start a Cassandra run" },
    h("div", { class: "panel" }, h("div", { class: "fields" }, group.el)), sidesBox,
    h("div", { class: "panel stack" }, h("div", { class: "fields" }, field("Fields to compare", fields), field("Exclude fields", exclude),
      field("Consistency level", consistency), field("Compare mode", mode), field("Recheck rounds", recheck), ...opts.main),
      h("details", {}, h("summary", {}, "Advanced"), h("div", { class: "fields" }, field("Token ranges", split), ...opts.advanced))),
    h("div", { class: "panel stack" }, submit, out));
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(submit, () => {
      const body = { engine: "cassandra", fields_to_compare: lines(fields.value), exclude_fields: lines(exclude.value), compare_mode: mode.value, recheck_rounds: Number(recheck.value) || 0, ...opts.read() };
      if (group.value) body.config_group_id = group.value;
      else { body.pro_config = pro.read(); body.test_config = test.read(); }
      if (consistency.value) body.consistency_level = consistency.value;
      const sc = numberOrNull(split); if (sc !== null) body.split_count = sc;
      return start(body, out);
    }, out);
  });
  return form;
}

export async function renderRuns(ctx) {
  const { main, query } = ctx;
  let offset = Number(query.offset || 0);
  const state = select("state", [["", "any state"], ...RUN_STATES], query.state || "", { id: "runs-state", label: "state" });
  const engine = select("engine", [["", "any engine"], "redis", "cassandra"], query.engine || "", { id: "runs-engine", label: "engine" });
  const box = h("div", { id: "runs-list", "aria-live": "polite" });
  let anyRunning = false;
  const load = async () => {
    setHashQuery({ state: state.value, engine: engine.value, offset: offset || undefined }, { push: false });
    const data = await get("/api/compare-runs", { state: state.value, engine: engine.value, limit: PAGE, offset });
    if (!ctx.alive) return;
    const items = itemsOf(data);
    anyRunning = items.some(r => r.state === "running");
    replace(box, table([
      { label: "Name", render: r => h("a", { href: `#/compare-runs/${r.id}` }, r.name || r.id), wrap: true },
      { label: "Engine", render: r => r.engine, narrow: true },
      { label: "State", render: r => badge(r.state) },
      { label: "Segments", render: r => segmentsText(r.progress) },
      { label: "Compared", num: true, render: r => fmtNum(r.progress && r.progress.keys_compared), narrow: true },
      { label: "Differences", num: true, render: r => fmtNum(r.progress && r.progress.differences) },
      { label: "Started", render: r => fmtTime(r.created_at), narrow: true },
    ], items, { empty: "No whole-dataset run yet.", onRow: r => { location.hash = `#/compare-runs/${r.id}`; },
      rowAttrs: r => ({ "data-run-id": r.id, "data-state": r.state }) }),
    h("div", { class: "pager" }, h("span", { class: "small muted" }, `${fmtNum(data.total ?? items.length)} run(s)`),
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); busy(null, load, box); } }, "Previous"),
      h("button", { type: "button", class: "secondary", disabled: !data.has_more, onclick: () => { offset += PAGE; busy(null, load, box); } }, "Next")));
  };
  for (const el of [state, engine]) el.addEventListener("change", () => { offset = 0; busy(null, load, box); });
  let polling = false;
  const timer = setInterval(async () => {
    if (!ctx.alive || polling || document.hidden || !anyRunning) return;
    polling = true;
    try { await load(); } catch { /* the next tick retries */ } finally { polling = false; }
  }, 2000);
  ctx.onLeave(() => clearInterval(timer));

  const startBox = h("section", { class: "stack", id: "run-start-section", "aria-labelledby": "run-start-title" });
  if (session.can("operator")) {
    let defaults = {};
    try { defaults = await get("/api/default-config"); } catch { /* the forms work without defaults */ }
    if (!ctx.alive) return;
    const body = h("div", { role: "tabpanel" });
    const forms = { redis: () => redisForm(defaults), cassandra: () => cassandraForm(defaults) };
    const draw = async k => { const f = await forms[k](); if (ctx.alive) replace(body, f); };
    startBox.append(h("h2", { id: "run-start-title" }, "Start a run"),
      tabList([["redis", "Redis"], ["cassandra", "Cassandra"]], "redis", k => { clear(body); draw(k); }, { label: "engine of the new run", id: "run-engine-tabs" }), body);
    await draw("redis");
  } else {
    startBox.append(h("p", { class: "muted", id: "run-start-denied" }, "Starting a run needs the operator role; you can follow and export runs."));
  }
  if (!ctx.alive) return;
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Whole-dataset runs"),
    h("div", { class: "row" }, h("a", { href: "#/compare" }, "Compare keys"), h("a", { href: "#/history" }, "History"))),
    h("p", { class: "small muted" }, "A run compares every key of two Redis environments (or every row of two Cassandra tables) on the job queues, in resumable segments."),
    h("section", { class: "panel", "aria-label": "runs" }, h("div", { class: "spread" }, h("h2", {}, "Runs"), h("div", { class: "row" }, state, engine,
      h("button", { type: "button", class: "secondary", id: "runs-refresh", onclick: ev => busy(ev.target, load, box) }, "Refresh"))), box),
    startBox);
  await busy(null, load, box);
}
