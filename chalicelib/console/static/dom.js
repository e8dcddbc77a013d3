// DOM helpers. Data never goes through innerHTML: every text is a text node.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
export function replace(el, ...children) { clear(el); return append(el, children); }

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") el.textContent = v; else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) if (c) el.append(c);
  return el;
}

export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  const t = h("div", { class: `toast ${kind}`, role: "status" }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === "bad" ? 7000 : 3500);
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || text || ""}` }, text ?? "—");
}

export function method(m) { return h("span", { class: `method ${m}` }, m); }

export function field(label, input, opts = {}) {
  return h("label", { class: `field ${opts.wide ? "wide" : ""}`, title: opts.title },
    h("span", { class: opts.required ? "req" : "" }, label), input);
}

export function input(name, opts = {}) {
  return h("input", { name, type: opts.type || "text", value: opts.value ?? "", placeholder: opts.placeholder,
    required: opts.required, min: opts.min, max: opts.max, step: opts.step, autocomplete: opts.autocomplete || "off",
    "aria-label": opts.label || name, id: opts.id });
}

export function select(name, options, value, opts = {}) {
  const el = h("select", { name, "aria-label": opts.label || name, id: opts.id });
  for (const o of options) {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    el.append(h("option", { value: v }, t));
  }
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

export function checkbox(name, label, checked) {
  const box = h("input", { type: "checkbox", name, checked, "aria-label": label });
  return h("label", { class: "check" }, box, label);
}

export function textarea(name, opts = {}) {
  return h("textarea", { name, class: opts.code ? "code" : "", rows: opts.rows, placeholder: opts.placeholder,
    spellcheck: "false", "aria-label": opts.label || name, id: opts.id }, opts.value ?? "");
}

// columns: [{label, key?, render?, num?, narrow?, wrap?, sort?}]; opts.sort = {key, desc, onSort(key)}
// makes the headers with `sort` buttons (aria-sort tells which one is active).
export function table(columns, rows, opts = {}) {
  const th = c => {
    const cls = c.num ? "num" : (c.narrow ? "hide-narrow" : "");
    if (!c.sort || !opts.sort) return h("th", { class: cls, scope: "col" }, c.label);
    const active = opts.sort.key === c.sort;
    const dir = active ? (opts.sort.desc ? "descending" : "ascending") : "none";
    return h("th", { class: cls, scope: "col", "aria-sort": dir },
      h("button", { type: "button", class: "sort", "data-sort": c.sort, onclick: () => opts.sort.onSort(c.sort) },
        c.label, h("span", { class: "arrow", "aria-hidden": "true" }, active ? (opts.sort.desc ? " ▼" : " ▲") : "")));
  };
  const thead = h("thead", {}, h("tr", {}, columns.map(th)));
  const tbody = h("tbody");
  for (const row of rows) {
    const tr = h("tr", { class: opts.onRow ? "clickable" : "" });
    if (opts.onRow) tr.addEventListener("click", ev => { if (!ev.target.closest("button,a,input,select,summary,details")) opts.onRow(row); });
    if (opts.rowAttrs) for (const [k, v] of Object.entries(opts.rowAttrs(row))) tr.setAttribute(k, v);
    for (const c of columns) {
      const v = c.render ? c.render(row) : row[c.key];
      tr.append(h("td", { class: [c.num ? "num" : "", c.narrow ? "hide-narrow" : "", c.wrap ? "wrap" : ""].join(" ") }, v ?? "—"));
    }
    tbody.append(tr);
  }
  const t = h("table", { class: opts.class || "" }, thead, tbody);
  if (!rows.length) tbody.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, opts.empty || "Nothing here yet.")));
  return h("div", { class: "table-wrap" }, t);
}

// Pretty JSON with token classes (text nodes only).
export function jsonView(value, opts = {}) {
  const pre = h("pre", { class: "json", "data-testid": opts.testid });
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  if (typeof value === "string") { pre.textContent = text; return pre; }
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false)\b|\b(null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0, m;
  while ((m = re.exec(text || "")) !== null) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    let cls = "j-num";
    if (m[1]) cls = m[2] ? "j-key" : "j-str"; else if (m[3]) cls = "j-bool"; else if (m[4]) cls = "j-null";
    pre.append(h("span", { class: cls }, m[1] || m[0]));
    if (m[2]) pre.append(m[2]);
    last = re.lastIndex;
  }
  pre.append((text || "").slice(last));
  return pre;
}

export function fmtTime(v) {
  if (!v) return "—";
  const d = new Date(v);
  if (isNaN(d)) return String(v);
  return d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
export function fmtNum(v, digits = 0) {
  if (v === null || v === undefined || v === "") return "—";
  const n = Number(v);
  return isNaN(n) ? String(v) : n.toLocaleString(undefined, { maximumFractionDigits: digits });
}
export function fmtPct(v) { return v === null || v === undefined ? "—" : `${Number(v).toFixed(1)}%`; }

// A driver's error can reach a message as a Python dict repr
// ({'S': 'FATAL', 'C': '3D000', 'M': 'database "x" does not exist', ...}):
// show its human message only (never the code or the rest of the dict).
export function readable(message) {
  const text = String(message ?? "");
  return text.replace(/\{'[A-Za-z]':\s*'[^]*?\}/g, dict => {
    const m = dict.match(/'M':\s*'((?:[^'\\]|\\.)*)'/) || dict.match(/'M':\s*"((?:[^"\\]|\\.)*)"/);
    return m ? m[1].replace(/\\(.)/g, "$1") : dict;
  });
}

export function errorBox(err) {
  const box = h("div", { class: "error-box", role: "alert" });
  box.append(h("strong", {}, err.code ? `${err.code}: ` : ""), readable(err.message || String(err)));
  // details: null or an object; `errors` lists the inputs at fault ({loc, type, msg, pointer?}),
  // other keys are context (README, "Using the API").
  const d = err.details;
  if (d && typeof d === "object") {
    if (Array.isArray(d.errors) && d.errors.length) {
      box.append(h("ul", {}, d.errors.slice(0, 20).map(x => {
        const where = x.pointer !== undefined ? (x.pointer || "/") : (x.loc || []).join(".");
        return h("li", {}, `${where ? where + ": " : ""}${readable(x.msg)}`);
      })));
    }
    if (Array.isArray(d.suggestions)) box.append(h("ul", {}, d.suggestions.map(x => h("li", {}, x))));
    const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !["errors", "suggestions", "sqlstate", "error_detail"].includes(k)));
    if (Object.keys(rest).length) box.append(h("details", {}, h("summary", {}, "details"), jsonView(rest)));
  }
  return box;
}

// Runs an async action with the button marked busy; errors go to `where` (or a toast).
// A success removes the error boxes an earlier failure left in the same panel.
export async function busy(button, fn, where) {
  if (button) { button.disabled = true; button.classList.add("busy"); }
  if (where) clear(where);
  try {
    const out = await fn();
    const scope = (button && button.closest(".panel, form, section")) || (where && where.closest(".panel, form, section"));
    if (scope) for (const box of scope.querySelectorAll(".error-box")) box.remove();
    return out;
  } catch (err) {
    if (where) where.append(errorBox(err)); else toast(readable(err.message || String(err)), "bad");
    return undefined;
  } finally {
    if (button) { button.disabled = false; button.classList.remove("busy"); }
  }
}

// Tabs (WAI-ARIA): role=tab buttons with aria-selected, arrow keys move between them.
// tabs(items [[key, label]], current, onSelect) -> the tablist element.
export function tabs(items, current, onSelect, opts = {}) {
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": opts.label || "views", id: opts.id });
  const draw = cur => {
    clear(list);
    for (const [k, label] of items) {
      const b = h("button", { type: "button", role: "tab", class: k === cur ? "active" : "", "data-tab": k,
        "aria-selected": k === cur ? "true" : "false", tabindex: k === cur ? "0" : "-1" }, label);
      b.addEventListener("click", () => { draw(k); onSelect(k); });
      b.addEventListener("keydown", ev => {
        const keys = items.map(i => i[0]);
        let i = keys.indexOf(k);
        if (ev.key === "ArrowRight") i = (i + 1) % keys.length;
        else if (ev.key === "ArrowLeft") i = (i - 1 + keys.length) % keys.length;
        else if (ev.key === "Home") i = 0;
        else if (ev.key === "End") i = keys.length - 1;
        else return;
        ev.preventDefault();
        draw(keys[i]); onSelect(keys[i]);
        list.querySelector(`[data-tab="${keys[i]}"]`).focus();
      });
      list.append(b);
    }
  };
  draw(current);
  return list;
}

// A URL path that breaks only after a slash, never inside a word.
export function pathText(path) {
  const el = h("span", { class: "path" });
  String(path ?? "").split(/(?<=\/)/).forEach((part, i) => { if (i) el.append(h("wbr")); el.append(part); });
  return el;
}

// A body kept as text in a log: JSON is shown formatted, anything else as text.
export function bodyView(text, opts = {}) {
  if (text === null || text === undefined || text === "") return h("p", { class: "muted small" }, "(empty)");
  if (typeof text !== "string") return jsonView(text, opts);
  const t = text.trim();
  if (/^[[{"]/.test(t) || /^(true|false|null|-?\d)/.test(t)) {
    try { return jsonView(JSON.parse(t), opts); } catch { /* not JSON */ }
  }
  return h("pre", { class: "block", "data-testid": opts.testid }, text);
}

export function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll("input[name],select[name],textarea[name]")) {
    if (el.type === "checkbox") out[el.name] = el.checked;
    else out[el.name] = el.value;
  }
  return out;
}

export function lines(text, commas = true) {
  return String(text || "").split(commas ? /[\n,]/ : /\n/).map(x => x.trim()).filter(Boolean);
}
export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}
