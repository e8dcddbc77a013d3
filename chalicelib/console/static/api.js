// The management API client: the key lives in sessionStorage only.
const KEY = "stepflow.apiKey";
const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 };

export const session = {
  principal: null,
  get key() { return sessionStorage.getItem(KEY); },
  setKey(k) { sessionStorage.setItem(KEY, k); },
  clear() { sessionStorage.removeItem(KEY); this.principal = null; },
  get role() { return this.principal ? this.principal.role : null; },
  can(role) { return !!this.principal && ROLE_RANK[this.principal.role] >= ROLE_RANK[role]; },
};

export class ApiError extends Error {
  constructor(status, code, message, details, body) {
    super(message);
    this.status = status; this.code = code; this.details = details; this.body = body;
  }
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach(x => u.append(k, x)); else u.append(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : "";
}

// call(method, path, {body, query, headers, envelope, key}) -> data (or the whole envelope).
export async function call(method, path, opts = {}) {
  const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
  const key = opts.key === undefined ? session.key : opts.key;
  if (key) headers.Authorization = `Bearer ${key}`;
  let body;
  if (opts.body !== undefined) {
    if (typeof opts.body === "string" && opts.contentType) { body = opts.body; headers["Content-Type"] = opts.contentType; }
    else { body = JSON.stringify(opts.body); headers["Content-Type"] = "application/json"; }
  }
  let res;
  try {
    res = await fetch(path + qs(opts.query), { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "NETWORK_ERROR", `cannot reach the server: ${e.message}`);
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (opts.raw) return { status: res.status, headers: res.headers, json, text };
  if (!res.ok || (json && json.success === false)) {
    const e = (json && json.error) || {};
    const err = new ApiError(res.status, e.code || `HTTP_${res.status}`, e.message || text || res.statusText, e.details, json);
    if (res.status === 401 && opts.key === undefined && window.dispatchEvent) window.dispatchEvent(new CustomEvent("stepflow:unauthorized"));
    throw err;
  }
  if (opts.envelope) return json;
  if (opts.withStatus) return { status: res.status, data: json && "data" in json ? json.data : json };
  return json && "data" in json ? json.data : json;
}

export const get = (p, query, o = {}) => call("GET", p, { ...o, query });
export const post = (p, body, o = {}) => call("POST", p, { ...o, body });
export const put = (p, body, o = {}) => call("PUT", p, { ...o, body });
export const patch = (p, body, o = {}) => call("PATCH", p, { ...o, body });
export const del = (p, o = {}) => call("DELETE", p, o);

// List answers are {items, total, has_more}; some older shapes are bare arrays or {logs}.
export function itemsOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (!data) return [];
  for (const k of ["items", ...keys]) if (Array.isArray(data[k])) return data[k];
  return [];
}

// A long run answered 202 with a job: poll it until it ends; onProgress(job) on each poll.
export async function waitForJob(job, onProgress, { intervalMs = 700, signal } = {}) {
  const id = job.id || job.job_id;
  for (;;) {
    const j = await get(`/api/jobs/${id}`);
    onProgress && onProgress(j);
    if (["succeeded", "failed", "cancelled"].includes(j.status)) return j;
    if (signal && signal.aborted) return j;
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

export function jobOf(data, status) {
  if (!data || typeof data !== "object") return null;
  if (data.job && typeof data.job === "object") return data.job;
  if (data.job_id) return { id: data.job_id, ...data };
  if (status === 202 && data.id) return data;
  return null;
}

// Keeps a page's filters in the URL (#/page?k=v): reload and Back restore them.
// The history entry is added without re-rendering (no hashchange fires).
export function setHashQuery(query, { push = true } = {}) {
  const base = (location.hash || "#/").split("?")[0];
  const next = base + qs(query);
  if (next === location.hash) return;
  if (push) history.pushState(null, "", next); else history.replaceState(null, "", next);
}
