// Shell: sign-in with an API key, hash router, role-aware navigation.
import { session, get, ApiError } from "./api.js";
import { h, replace, errorBox, toast } from "./dom.js";
import * as catalog from "./catalog.js";
import * as endpoint from "./endpoint.js";
import * as stats from "./stats.js";
import * as dynamic from "./dynamic.js";
import * as compare from "./compare.js";
import * as jobs from "./jobs.js";

const ROUTES = [
  [/^catalog$/, catalog.renderDocuments, "catalog"],
  [/^document\/([^/]+)$/, catalog.renderDocument, "catalog"],
  [/^endpoints$/, catalog.renderEndpoints, "endpoints"],
  [/^endpoint\/([^/]+)$/, endpoint.render, "endpoints"],
  [/^stats$/, stats.render, "stats"],
  [/^dynamic$/, dynamic.renderList, "dynamic"],
  [/^dynamic\/([^/]+)$/, dynamic.renderEditor, "dynamic"],
  [/^pools$/, dynamic.renderPools, "pools"],
  [/^compare$/, compare.renderForms, "compare"],
  [/^history$/, compare.renderHistory, "history"],
  [/^history\/([^/]+)$/, compare.renderHistoryEntry, "history"],
  [/^logs$/, compare.renderLogs, "history"],
  [/^jobs$/, jobs.render, "jobs"],
];

const main = document.getElementById("main");
let current = null;   // the page context being shown

export function parseHash() {
  const raw = decodeURIComponent((location.hash || "").replace(/^#\/?/, ""));
  const [path, query] = raw.split("?");
  return { path: path || "catalog", query: Object.fromEntries(new URLSearchParams(query || "")) };
}

function leave() {
  if (!current) return;
  current.alive = false;
  for (const fn of current.cleanups) { try { fn(); } catch (e) { /* page already gone */ } }
  current = null;
}

async function route() {
  leave();
  if (!session.principal) return showLogin();
  const { path, query } = parseHash();
  for (const [re, render, section] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    const ctx = { main, query, alive: true, cleanups: [], onLeave(fn) { this.cleanups.push(fn); } };
    current = ctx;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.section === section);
    replace(main, h("p", { class: "muted" }, "Loading…"));
    try {
      await render(ctx, ...m.slice(1));
    } catch (err) {
      if (ctx.alive) replace(main, errorBox(err));
    }
    return;
  }
  replace(main, h("div", { class: "panel" }, h("h1", {}, "Not found"), h("p", {}, "No page here. "), h("a", { href: "#/catalog" }, "Back to the catalog")));
}

function showApp() {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  const p = session.principal;
  const badge = document.getElementById("who-role");
  badge.textContent = `${p.role} · ${p.key_prefix || ""}`;
  badge.dataset.role = p.role;
  for (const a of document.querySelectorAll("#nav a[data-section=pools]")) a.hidden = !session.can("admin");
}

function showLogin(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  const keyInput = h("input", { type: "password", name: "api_key", id: "api-key", autocomplete: "off", placeholder: "sfk_…", required: true, "aria-label": "API key" });
  const out = h("div");
  const form = h("form", { class: "panel login stack", id: "login-form" },
    h("h1", {}, "StepFlow Gateway"),
    h("p", { class: "muted" }, "Enter an API key. It is kept in this browser tab only (sessionStorage) and sent with each call."),
    h("label", { class: "field" }, h("span", {}, "API key"), keyInput),
    h("button", { type: "submit", id: "login-submit" }, "Sign in"), out);
  if (message) out.append(h("div", { class: "notice" }, message));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const key = keyInput.value.trim();
    try {
      session.principal = await get("/api/whoami", null, { key });
      session.setKey(key);
      showApp();
      route();
    } catch (err) {
      replace(out, errorBox(err.status === 401 ? new ApiError(401, "AUTH_ERROR", "This key is unknown or revoked.") : err));
    }
  });
  replace(main, form);
  keyInput.focus();
}

async function start() {
  document.getElementById("signout").addEventListener("click", () => {
    session.clear(); leave(); showLogin("Signed out.");
  });
  window.addEventListener("stepflow:unauthorized", () => {
    if (!session.principal) return;
    session.clear(); leave(); showLogin("Your key was refused (revoked?). Sign in again.");
  });
  window.addEventListener("hashchange", route);
  if (session.key) {
    try {
      session.principal = await get("/api/whoami");
      showApp();
    } catch (err) {
      session.clear();
      if (err.status !== 401) toast(err.message, "bad");
    }
  }
  route();
}

start();
