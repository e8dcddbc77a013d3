// Shell: sign-in with an API key, hash router, role-aware navigation.
import { session, get, ApiError } from "./api.js";
import { h, replace, errorBox, toast } from "./dom.js";
import * as catalog from "./catalog.js";
import * as endpoint from "./endpoint.js";
import * as stats from "./stats.js";
import * as dynamic from "./dynamic.js";
import * as pools from "./pools.js";
import * as compare from "./compare.js";
import * as compareruns from "./compareruns.js";
import * as comparerun from "./comparerun.js";
import * as jobs from "./jobs.js";
import * as templates from "./templates.js";
import * as calls from "./calls.js";
import * as references from "./references.js";
import * as admin from "./admin.js";

const ROUTES = [
  [/^catalog$/, catalog.renderDocuments, "catalog"],
  [/^templates$/, templates.renderList, "templates"],
  [/^template\/([^/]+)$/, templates.renderTemplate, "templates"],
  [/^calls$/, calls.renderList, "calls"],
  [/^call\/([^/]+)$/, calls.renderCall, "calls"],
  [/^references$/, references.renderList, "references"],
  [/^reference\/([^/]+)$/, references.renderReference, "references"],
  [/^audit$/, admin.renderAudit, "audit"],
  [/^keys$/, admin.renderKeys, "keys"],
  [/^document\/([^/]+)$/, catalog.renderDocument, "catalog"],
  [/^endpoints$/, catalog.renderEndpoints, "endpoints"],
  [/^endpoint\/([^/]+)$/, endpoint.render, "endpoints"],
  [/^stats$/, stats.render, "stats"],
  [/^dynamic$/, dynamic.renderList, "dynamic"],
  [/^dynamic\/([^/]+)$/, dynamic.renderEditor, "dynamic"],
  [/^pools$/, pools.renderPools, "pools"],
  [/^compare$/, compare.renderForms, "compare"],
  [/^compare-runs$/, compareruns.renderRuns, "compare"],
  [/^compare-runs\/([^/]+)$/, comparerun.renderRun, "compare"],
  [/^history$/, compare.renderHistory, "compare"],
  [/^history\/([^/]+)$/, compare.renderHistoryEntry, "compare"],
  [/^logs$/, compare.renderLogs, "compare"],
  [/^jobs$/, jobs.render, "jobs"],
];

const main = document.getElementById("main");
let current = null;   // the page context being shown
let pageLoad = true;  // the first view after loading the page keeps the browser's focus (the skip link comes first)

export function parseHash() {
  const raw = (location.hash || "").replace(/^#\/?/, "");
  const at = raw.indexOf("?");
  const path = decodeURIComponent(at < 0 ? raw : raw.slice(0, at));
  const query = at < 0 ? "" : raw.slice(at + 1);
  return { path: path || "catalog", query: Object.fromEntries(new URLSearchParams(query)) };
}

// Moves keyboard and screen-reader focus to the new view's heading.
function focusHeading(ctx) {
  if (!ctx.alive) return;
  const h1 = main.querySelector("h1");
  if (!h1) return;
  h1.setAttribute("tabindex", "-1");
  if (ctx.fresh) {
    h1.focus({ preventScroll: true });
  }
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
    const ctx = { main, query, alive: true, fresh: !pageLoad, cleanups: [], onLeave(fn) { this.cleanups.push(fn); } };
    pageLoad = false;
    current = ctx;
    for (const a of document.querySelectorAll("#nav a")) {
      const on = a.dataset.section === section;
      a.classList.toggle("active", on);
      if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    replace(main, h("p", { class: "muted" }, "Loading…"));
    // The heading gets the focus as soon as the page has drawn it.
    const watch = new MutationObserver(() => { if (main.querySelector("h1")) { watch.disconnect(); focusHeading(ctx); ctx.fresh = false; } });
    watch.observe(main, { childList: true, subtree: true });
    ctx.onLeave(() => watch.disconnect());
    try {
      await render(ctx, ...m.slice(1));
    } catch (err) {
      if (ctx.alive) replace(main, h("h1", {}, "Something went wrong"), errorBox(err));
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
  for (const a of document.querySelectorAll("#nav a[data-role]")) a.hidden = !session.can(a.dataset.role);
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
      pageLoad = false;   // the form is gone: focus goes to the first view's heading
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
  document.getElementById("skip-link").addEventListener("click", ev => {
    ev.preventDefault();   // "#main" is not a route: focus the content instead of navigating
    const target = main.querySelector("h1") || main;
    if (target !== main) target.setAttribute("tabindex", "-1");
    target.focus();
  });
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
