// Jobs: list with live status and progress (polled while the page is open).
import { session, get, post, itemsOf } from "./api.js";
import { h, replace, table, badge, select, input, busy, toast, fmtTime } from "./dom.js";

export async function render(ctx) {
  const { main } = ctx;
  const status = select("status", [["", "any status"], "queued", "running", "succeeded", "failed", "cancelled"], ctx.query.status || "", { id: "jobs-status", label: "status" });
  const type = input("type", { placeholder: "type", value: ctx.query.type || "", id: "jobs-type", label: "type" });
  const live = h("input", { type: "checkbox", checked: true, id: "jobs-live", "aria-label": "live" });
  const box = h("div", { id: "jobs-list" });
  const stamp = h("span", { class: "small muted" });
  const load = async () => {
    const data = await get("/api/jobs", { status: status.value, type: type.value.trim(), limit: 100 });
    if (!ctx.alive) return;
    replace(box, table([
      { label: "Type", render: j => h("code", {}, j.type) }, { label: "Status", render: j => badge(j.status) },
      { label: "Progress", render: j => h("div", { class: "stack" }, h("div", { class: "progress", title: `${j.progress || 0}%` }, h("div", { style: { width: `${j.progress || 0}%` } })),
          h("span", { class: "small muted" }, `${j.progress || 0}% ${j.progress_message || ""}`)) },
      { label: "Priority", key: "priority", narrow: true }, { label: "Attempts", render: j => `${j.attempts ?? 0}/${j.max_attempts ?? "?"}`, narrow: true },
      { label: "Created", render: j => fmtTime(j.created_at), narrow: true }, { label: "Updated", render: j => fmtTime(j.updated_at) },
      { label: "Error / result", render: j => j.last_error ? h("span", { class: "small" }, j.last_error) :
          j.result ? h("details", {}, h("summary", {}, "result"), h("pre", { class: "json" }, JSON.stringify(j.result, null, 2))) : "", wrap: true },
      { label: "", render: j => session.can("operator") && ["queued", "running"].includes(j.status) ?
          h("button", { type: "button", class: "link", onclick: ev => busy(ev.target, async () => { await post(`/api/jobs/${j.id}/cancel`, {}); toast("Job cancelled"); await load(); }) }, "cancel") : "" },
    ], itemsOf(data), { empty: "No jobs.", rowAttrs: j => ({ "data-job-id": j.id, "data-status": j.status }) }));
    stamp.textContent = `updated ${new Date().toLocaleTimeString()}`;
  };
  let timer = null, running = false;
  const tick = async () => {
    if (!ctx.alive || running || document.hidden || !live.checked) return;
    running = true;
    try { await load(); } catch { /* next tick retries */ } finally { running = false; }
  };
  timer = setInterval(tick, 2000);
  ctx.onLeave(() => clearInterval(timer));
  status.addEventListener("change", () => busy(null, load, box));
  type.addEventListener("change", () => busy(null, load, box));
  replace(main, h("div", { class: "spread" }, h("h1", {}, "Jobs"), h("div", { class: "row" }, status, type, h("label", { class: "check" }, live, "live"), stamp)),
    h("div", { class: "panel" }, box));
  await busy(null, load, box);
}
