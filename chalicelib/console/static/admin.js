// Admin pages: API keys (create, shown once, revoke) and the catalog's audit log.
import { session, get, post, del, itemsOf, setHashQuery } from "./api.js";
import { h, replace, table, badge, field, input, select, busy, toast, fmtTime, fmtNum, jsonView, lines } from "./dom.js";

export async function renderKeys(ctx) {
  const { main } = ctx;
  if (!session.can("admin")) { replace(main, h("h1", {}, "API keys"), h("p", { class: "notice" }, "API keys are managed by admins.")); return; }
  const box = h("div", { id: "key-list" });
  const out = h("div", { id: "key-result", "aria-live": "polite" });
  const load = async () => {
    const data = await get("/api/keys", { limit: 500 });
    if (!ctx.alive) return;
    replace(box, table([
      { label: "Name", key: "name" }, { label: "Prefix", render: k => h("code", {}, k.key_prefix) },
      { label: "Role", render: k => badge(k.role, "") }, { label: "Permissions", render: k => (k.permissions || []).join(", "), narrow: true },
      { label: "Created", render: k => fmtTime(k.created_at), narrow: true }, { label: "Last used", render: k => fmtTime(k.last_used_at), narrow: true },
      { label: "Status", render: k => badge(k.revoked_at ? "revoked" : "active", k.revoked_at ? "bad" : "ok") },
      { label: "", render: k => k.revoked_at || k.id === session.principal.key_id ? (k.id === session.principal.key_id ? h("span", { class: "small muted" }, "this key") : "") :
          h("button", { type: "button", class: "link", "data-revoke": k.id, onclick: ev => {
            if (!confirm(`Revoke key ${k.key_prefix} (${k.name || k.role})? Clients using it stop working.`)) return;
            busy(ev.target, async () => { await del(`/api/keys/${k.id}`); toast("Key revoked"); await load(); }, out);
          } }, "revoke") },
    ], itemsOf(data), { empty: "No keys.", rowAttrs: k => ({ "data-key-id": k.id }) }));
  };
  const f = h("form", { class: "fields", id: "key-form" },
    field("Name", input("name", { id: "key-name", placeholder: "who or what uses it" })),
    field("Role", select("role", [["viewer", "viewer (reads)"], ["operator", "operator (writes, invokes)"], ["admin", "admin (keys, pools)"]], "viewer", { id: "key-role" })),
    field("Permissions (dynamic APIs; comma-separated)", input("permissions", { id: "key-permissions", placeholder: "orders.read" }), { wide: true }),
    h("div", { class: "row wide" }, h("button", { type: "submit", id: "key-create" }, "Create key")));
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(ev.submitter, async () => {
      const v = Object.fromEntries(new FormData(f));
      const k = await post("/api/keys", { name: v.name || null, role: v.role, permissions: lines(v.permissions) });
      const secret = h("input", { type: "text", readonly: true, value: k.key, id: "key-secret", class: "mono", "aria-label": "new API key" });
      replace(out, h("div", { class: "notice stack", "data-testid": "key-once" },
        h("strong", {}, `Key for ${k.name || k.role} created. Copy it now: it is shown only this once.`),
        h("div", { class: "row" }, secret, h("button", { type: "button", class: "secondary", onclick: async ev2 => {
          secret.select();
          try { await navigator.clipboard.writeText(k.key); toast("Copied"); } catch { toast("Select the text and copy it", "bad"); }
        } }, "Copy"), h("button", { type: "button", class: "link", onclick: () => replace(out) }, "I stored it"))));
      secret.focus(); secret.select();
      f.elements.name.value = ""; f.elements.permissions.value = "";
      await load();
    }, out);
  });
  replace(main, h("h1", {}, "API keys"), h("section", { class: "panel" }, h("h2", {}, "New key"), f, out), h("section", { class: "panel" }, box));
  await busy(null, load, box);
}

export async function renderAudit(ctx) {
  const { main, query } = ctx;
  if (!session.can("operator")) { replace(main, h("h1", {}, "Audit log"), h("p", { class: "notice" }, "The audit log needs the operator role.")); return; }
  let offset = Number(query.offset || 0);
  const f = h("form", { class: "row", id: "audit-filters", role: "search" },
    select("table_name", [["", "every table"], ["openapi_templates", "templates"], ["api_documents", "documents"], ["api_endpoints", "endpoints"]], query.table_name || "", { label: "table" }),
    select("operation", [["", "any operation"], "INSERT", "UPDATE", "DELETE"], query.operation || "", { label: "operation" }),
    input("record_id", { value: query.record_id || "", placeholder: "record id", label: "record id" }),
    h("button", { type: "submit", class: "secondary" }, "Filter"));
  const box = h("div", { id: "audit-list" });
  const load = async () => {
    const q = Object.fromEntries(new FormData(f));
    const data = await get("/api/audit-logs", { ...q, limit: 50, offset });
    if (!ctx.alive) return;
    replace(box, table([
      { label: "When", render: a => fmtTime(a.changed_at) }, { label: "Table", key: "table_name" },
      { label: "Operation", render: a => badge(a.operation, a.operation === "DELETE" ? "bad" : a.operation === "INSERT" ? "ok" : "warn") },
      { label: "Record", render: a => h("code", { class: "small" }, a.record_id), narrow: true, wrap: true },
      { label: "Name", render: a => (a.new_data || a.old_data || {}).name || (a.new_data || a.old_data || {}).path || "" },
      { label: "Change", render: a => h("details", {}, h("summary", {}, changedKeys(a)),
          h("div", { class: "grid2" }, h("div", {}, h("h3", {}, "before"), jsonView(a.old_data)), h("div", {}, h("h3", {}, "after"), jsonView(a.new_data)))), wrap: true },
    ], itemsOf(data), { empty: "No changes recorded." }),
    h("div", { class: "pager" }, h("span", { class: "small muted" }, `${fmtNum(data.total)} change(s)`),
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - 50); busy(null, load, box); } }, "Previous"),
      h("button", { type: "button", class: "secondary", disabled: !data.has_more, onclick: () => { offset += 50; busy(null, load, box); } }, "Next")));
  };
  f.addEventListener("submit", ev => { ev.preventDefault(); offset = 0; setHashQuery(Object.fromEntries(new FormData(f))); busy(null, load, box); });
  f.addEventListener("change", ev => { if (ev.target.tagName === "SELECT") { offset = 0; setHashQuery(Object.fromEntries(new FormData(f))); busy(null, load, box); } });
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Audit log"), f),
    h("p", { class: "small muted" }, "Every catalog create, update and delete with the data before and after (secrets masked, spec bodies left out)."),
    h("div", { class: "panel" }, box));
  await busy(null, load, box);
}

function changedKeys(a) {
  if (!a.old_data || !a.new_data) return a.operation === "INSERT" ? "created" : "deleted";
  const keys = new Set([...Object.keys(a.old_data), ...Object.keys(a.new_data)]);
  const changed = [...keys].filter(k => JSON.stringify(a.old_data[k]) !== JSON.stringify(a.new_data[k]));
  return changed.length ? changed.join(", ") : "no field changed";
}
