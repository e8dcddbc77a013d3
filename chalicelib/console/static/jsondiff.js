// Side-by-side JSON diff of two values, and the fields of two objects that differ.
import { h } from "./dom.js";

// A string holding JSON is compared as the JSON it holds.
export function asJson(v) {
  if (typeof v === "string") { const t = v.trim(); if (/^[[{]/.test(t)) { try { return JSON.parse(t); } catch { /* text */ } } }
  return v;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys(v[k])]));
  return v;
}

// Top-level keys whose values differ (objects only), else null.
export function differingFields(a, b) {
  a = asJson(a); b = asJson(b);
  if (!a || !b || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) !== Array.isArray(b)) return null;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(k => JSON.stringify(sortKeys(a[k])) !== JSON.stringify(sortKeys(b[k])));
}

// Lines of both sides aligned by a longest-common-subsequence walk.
function align(left, right) {
  const n = left.length, m = right.length;
  if (n * m > 4e6) return left.map((l, i) => [l, right[i] ?? null, l !== right[i]]);
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    dp[i][j] = left[i] === right[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const rows = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && left[i] === right[j]) { rows.push([left[i++], right[j++], false]); continue; }
    if (j < m && (i >= n || dp[i][j + 1] >= dp[i + 1][j])) rows.push([null, right[j++], true]);
    else rows.push([left[i++], null, true]);
  }
  return rows;
}

export function sideBySide(leftValue, rightValue, { leftLabel = "left", rightLabel = "right" } = {}) {
  const text = v => v === undefined ? "(missing)" : JSON.stringify(sortKeys(asJson(v)), null, 2) ?? String(v);
  const rows = align(text(leftValue).split("\n"), text(rightValue).split("\n"));
  const col = (side, label) => h("div", { class: "diff-col", "data-side": side },
    h("div", { class: "small muted" }, label),
    h("pre", { class: "json diff-pre" }, rows.map(([l, r, changed]) => {
      const line = side === "left" ? l : r;
      return h("div", { class: `dl ${changed ? (line === null ? "gap" : "changed") : ""}` }, line === null ? " " : line);
    })));
  return h("div", { class: "side-by-side", "data-testid": "json-diff" }, col("left", leftLabel), col("right", rightLabel));
}
