// Connection pools (admin): create (the form keeps its values), edit, access, test, delete.
import { session, get, post, put, del, itemsOf } from "./api.js";
import { h, replace, table, badge, field, input, select, busy, toast, fmtNum } from "./dom.js";

export async function renderPools(ctx) {
  const { main } = ctx;
  if (!session.can("admin")) {
    replace(main, h("h1", {}, "Connection pools"), h("p", { class: "notice" }, "Connection pools are managed by admins."));
    return;
  }
  const box = h("div", { id: "pool-list" });
  const out = h("div", { id: "pool-result", "aria-live": "polite" });
  const poolActions = { edit: () => {} };
  const load = async () => {
    const pools = itemsOf(await get("/api/connection-pools", { limit: 500 }));
    if (!ctx.alive) return;
    replace(box, table([
      { label: "Name", key: "display_text" }, { label: "Type", key: "db_type" },
      { label: "Server", render: p => h("code", { class: "small" }, `${p.host}:${p.port}/${p.database}`), wrap: true },
      { label: "User", key: "username", narrow: true }, { label: "Active", render: p => badge(p.is_active ? "active" : "inactive") },
      { label: "Size / conc.", render: p => `${p.pool_size} / ${p.max_concurrency}`, narrow: true },
      { label: "Access", render: p => p.access ? h("span", { class: "small" }, `GET: ${(p.access.read_roles || []).join(", ")} · writes: ${(p.access.write_roles || []).join(", ")}`) : "", narrow: true, wrap: true },
      { label: "Warnings", render: p => (p.privilege_warnings || []).length ? h("details", {}, h("summary", { class: "small" }, badge(`${p.privilege_warnings.length} privilege warning(s)`, "warn")),
          h("ul", { class: "small" }, p.privilege_warnings.map(w => h("li", {}, typeof w === "string" ? w : (w.message || JSON.stringify(w)))))) : "", narrow: true },
      { label: "", render: p => h("div", { class: "row" },
          h("button", { type: "button", class: "link", onclick: ev => busy(ev.target, async () => {
            const r = await post(`/api/connection-pools/${p.id}/test`, {});
            replace(out, h("div", { class: "notice", "data-testid": "pool-test-ok" }, `${p.display_text}: connected in ${fmtNum(r.duration_ms, 1)} ms — ${r.server_version || ""}`));
          }, out) }, "test"),
          h("button", { type: "button", class: "link", "data-edit": p.id, onclick: () => poolActions.edit(p) }, "edit"),
          h("button", { type: "button", class: "link", onclick: ev => {
            if (!confirm(`Delete pool ${p.display_text}?`)) return;
            busy(ev.target, async () => { await del(`/api/connection-pools/${p.id}`); toast("Pool deleted"); await load(); }, out);
          } }, "delete")) },
    ], pools, { empty: "No pools yet.", rowAttrs: p => ({ "data-pool-id": p.id }) }));
  };
  let editing = null;   // the pool being edited, or null for a new one
  const createBtn = h("button", { type: "submit", id: "pool-create" }, "Create pool");
  const cancelBtn = h("button", { type: "button", class: "secondary", id: "pool-cancel", hidden: true }, "Cancel edit");
  const formTitle = h("h2", { id: "pool-form-title" }, "New pool");
  const f = h("form", { class: "fields", id: "pool-form" },
    field("Display name", input("display_text", { required: true, id: "pool-name" }), { required: true }),
    field("Database type", select("db_type", [["postgresql", "PostgreSQL"], ["mysql", "MySQL / MariaDB"]], "postgresql", { id: "pool-db-type" })),
    field("Host", input("host", { value: "127.0.0.1", id: "pool-host" }), { required: true }),
    field("Port", input("port", { type: "number", value: "5432", id: "pool-port" }), { required: true }),
    field("Database", input("database", { id: "pool-database" }), { required: true }),
    field("Username", input("username", { id: "pool-username" })),
    field("Password", h("input", { type: "password", name: "password", id: "pool-password", autocomplete: "new-password", "aria-label": "password" })),
    field("Pool size", input("pool_size", { type: "number", value: "5", min: 1, max: 100, id: "pool-size" })),
    field("Max concurrency", input("max_concurrency", { type: "number", value: "10", min: 1, max: 1000, id: "pool-concurrency" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_active", checked: true, id: "pool-active" }), "active"),
    // Who may define, test and publish APIs on this pool (admins always may): reading (GET) APIs and writing ones.
    h("fieldset", { class: "wide access", id: "pool-access" }, h("legend", { class: "small" }, "Access (admins always)"),
      h("div", { class: "row" }, h("span", { class: "small muted" }, "GET (read-only) APIs:"),
        ["viewer", "operator"].map(r => h("label", { class: "check" }, h("input", { type: "checkbox", name: `read_${r}`, "data-access": "read_roles", value: r, checked: r === "operator" }), r))),
      h("div", { class: "row" }, h("span", { class: "small muted" }, "writing APIs (POST/PUT/PATCH/DELETE):"),
        ["operator"].map(r => h("label", { class: "check" }, h("input", { type: "checkbox", name: `write_${r}`, "data-access": "write_roles", value: r }), r)))),
    field("Remark", input("remark", { id: "pool-remark" }), { wide: true }),
    h("div", { class: "row wide" }, createBtn, cancelBtn));
  const els = f.elements;
  const readAccess = () => {
    const acc = { read_roles: ["admin"], write_roles: ["admin"] };
    for (const box of f.querySelectorAll("[data-access]:checked")) acc[box.dataset.access].push(box.value);
    return acc;
  };
  f.querySelector("[name=db_type]").addEventListener("change", ev => { els.port.value = ev.target.value === "mysql" ? "3306" : "5432"; });
  const startEdit = p => {
    editing = p;
    for (const k of ["display_text", "db_type", "host", "port", "database", "username", "pool_size", "max_concurrency", "remark"]) els[k].value = p[k] ?? "";
    els.is_active.checked = p.is_active !== false;
    const acc = p.access || {};
    for (const box of f.querySelectorAll("[data-access]")) box.checked = (acc[box.dataset.access] || []).includes(box.value);
    els.password.value = "";
    els.password.placeholder = p.has_password ? "unchanged (type to replace)" : "";
    replace(formTitle, `Edit pool ${p.display_text}`); createBtn.textContent = "Save pool"; cancelBtn.hidden = false;
    els.display_text.focus();
  };
  const stopEdit = () => {
    editing = null; els.password.placeholder = ""; els.password.value = ""; els.display_text.value = "";
    replace(formTitle, "New pool"); createBtn.textContent = "Create pool"; cancelBtn.hidden = true;
  };
  cancelBtn.addEventListener("click", stopEdit);
  poolActions.edit = startEdit;
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(createBtn, async () => {
      const v = Object.fromEntries(new FormData(f));
      const body = { display_text: v.display_text, db_type: v.db_type, host: v.host, port: Number(v.port), database: v.database,
        username: v.username || null, pool_size: Number(v.pool_size), max_concurrency: Number(v.max_concurrency), remark: v.remark || null,
        is_active: els.is_active.checked, access: readAccess() };
      if (editing) {
        body.password = v.password ? v.password : "********";   // the mask keeps the stored password
        const p = await put(`/api/connection-pools/${editing.id}`, body);
        replace(out, h("div", { class: "notice", "data-testid": "pool-saved" }, `Pool ${p.display_text} saved.`));
        stopEdit();
      } else {
        body.password = v.password || null;
        const p = await post("/api/connection-pools", body);
        replace(out, h("div", { class: "notice", "data-testid": "pool-created" }, `Pool ${p.display_text} created.`));
        // The other fields keep their values: the next pool often differs by its name and database only.
        els.display_text.value = ""; els.password.value = "";
      }
      await load();
    }, out);
  });
  replace(main, h("h1", {}, "Connection pools"), h("section", { class: "panel", id: "pool-editor" }, formTitle, f, out), h("section", { class: "panel" }, box));
  await busy(null, load, box);
}
