// Templates: stored OpenAPI specs (list, filter, view, create a document, delete).
import { session, get, post, del, itemsOf, setHashQuery } from "./api.js";
import { h, replace, table, badge, field, input, select, busy, toast, fmtTime, fmtNum, kv, bodyView } from "./dom.js";
import { markdown } from "./md.js";

const PAGE = 50;

export async function renderList(ctx) {
  const { main, query } = ctx;
  let offset = Number(query.offset || 0);
  const f = h("form", { class: "fields", id: "template-filters", role: "search" },
    field("Text", input("text", { value: query.text || "", placeholder: "name, description, category", label: "search templates" })),
    field("Category", input("category", { value: query.category || "", label: "category" })),
    field("Tag", input("tag", { value: query.tag || "", label: "tag" })),
    field("Status", select("status", [["", "any"], "active", "inactive", "deprecated"], query.status || "", { label: "status" })),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Apply")));
  const box = h("div", { id: "template-list" });
  const load = async () => {
    const q = Object.fromEntries(new FormData(f));
    setHashQuery({ ...q, offset: offset || undefined }, { push: false });
    const data = await get("/api/templates", { ...q, limit: PAGE, offset });
    if (!ctx.alive) return;
    const items = itemsOf(data);
    replace(box, table([
      { label: "Name", render: t => h("a", { href: `#/template/${t.id}` }, t.name) },
      { label: "Version", key: "version" },
      { label: "Category", key: "category", narrow: true },
      { label: "Tags", render: t => (t.tags || []).map(x => badge(x)), narrow: true },
      { label: "Operations", num: true, render: t => fmtNum(t.operation_count) },
      { label: "Status", render: t => badge(t.status) },
      { label: "Source", render: t => t.source_url ? h("code", { class: "small" }, t.source_url) : "pasted", narrow: true, wrap: true },
      { label: "Created", render: t => fmtTime(t.created_at), narrow: true },
      { label: "", render: t => session.can("operator") ? h("button", { type: "button", class: "link", "data-delete": t.id,
          onclick: ev => { if (confirm(`Delete template ${t.name} ${t.version}?`)) busy(ev.target, async () => { await del(`/api/templates/${t.id}`); toast("Template deleted"); await load(); }, box); } }, "delete") : "" },
    ], items, { empty: "No template matches.", rowAttrs: t => ({ "data-template-id": t.id }) }),
    h("div", { class: "pager" }, h("span", { class: "small muted" }, `${fmtNum(data.total ?? items.length)} template(s)`),
      h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); busy(null, load, box); } }, "Previous"),
      h("button", { type: "button", class: "secondary", disabled: !data.has_more, onclick: () => { offset += PAGE; busy(null, load, box); } }, "Next")));
  };
  f.addEventListener("submit", ev => {
    ev.preventDefault(); offset = 0;
    setHashQuery(Object.fromEntries(new FormData(f)));
    busy(null, load, box);
  });
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Templates"), h("a", { href: "#/catalog" }, "Import a spec")),
    h("p", { class: "small muted" }, "A template is a stored spec; documents are made from it. Deleting a template keeps its documents."),
    h("div", { class: "panel" }, f), h("div", { class: "panel" }, box));
  await busy(null, load, box);
}

export async function renderTemplate(ctx, id) {
  const { main } = ctx;
  const t = await get(`/api/templates/${id}`);
  if (!ctx.alive) return;
  const contentBox = h("div", { id: "template-content" });
  const out = h("div", { id: "template-doc-result" });
  const name = input("name", { id: "template-doc-name", placeholder: t.name, label: "document name" });
  const baseUrl = input("base_url", { id: "template-doc-base-url", placeholder: "from servers[0]", label: "base URL" });
  const make = h("form", { class: "panel", id: "template-doc-form" }, h("h2", {}, "Create a document from this template"),
    h("div", { class: "fields" }, field("Name", name), field("Base URL", baseUrl)),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Create document")), out);
  make.addEventListener("submit", ev => {
    ev.preventDefault();
    busy(ev.submitter, async () => {
      const body = { template_id: id };
      if (name.value.trim()) body.name = name.value.trim();
      if (baseUrl.value.trim()) body.base_url = baseUrl.value.trim();
      const doc = await post("/api/documents", body);
      const d = doc.document || doc;
      replace(out, h("div", { class: "notice" }, `Document ${d.name} created. `, h("a", { href: `#/document/${d.id}` }, "Open it")));
    }, out);
  });
  replace(main,
    h("div", { class: "spread" }, h("h1", {}, `${t.name} `, h("span", { class: "muted" }, t.version || "")),
      h("div", { class: "row" }, h("a", { href: "#/templates" }, "All templates"),
        session.can("operator") ? h("button", { type: "button", class: "danger", id: "template-delete", onclick: ev => {
          if (!confirm(`Delete template ${t.name} ${t.version}?`)) return;
          busy(ev.target, async () => { await del(`/api/templates/${id}`); toast("Template deleted"); location.hash = "#/templates"; });
        } }, "Delete") : "")),
    h("div", { class: "panel" },
      t.description ? markdown(t.description) : "",
      kv([["Status", badge(t.status)], ["Category", t.category], ["Tags", (t.tags || []).join(", ")], ["Spec", t.spec_version],
        ["Operations", fmtNum(t.operation_count)], ["Public", t.is_public ? "yes" : "no"], ["Source", t.source_url],
        ["Created", fmtTime(t.created_at)], ["Updated", fmtTime(t.updated_at)]])),
    session.can("operator") ? make : "",
    h("section", { class: "panel" }, h("div", { class: "spread" }, h("h2", {}, "Content"),
      h("button", { type: "button", class: "secondary", id: "template-show-content", onclick: ev => busy(ev.target, async () => {
        const full = await get(`/api/templates/${id}`, { include_content: true });
        replace(contentBox, bodyView(full.template_content ?? full.content));
      }, contentBox) }, "Show the spec")), contentBox));
}
