// Forms generated from OpenAPI parameter schemas ("try it"), and schema trees.
import { h, field, jsonView } from "./dom.js";
import { markdown } from "./md.js";

// The constraints of a schema as short phrases: pattern, lengths, bounds, enum, default.
export function constraints(schema) {
  if (!schema || typeof schema !== "object") return [];
  const out = [];
  if (schema.pattern) out.push(`pattern ${schema.pattern}`);
  if (schema.format) out.push(`format ${schema.format}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    out.push(schema.minLength === schema.maxLength ? `exactly ${schema.minLength} chars` :
      `${schema.minLength ?? 0}–${schema.maxLength ?? "∞"} chars`);
  }
  const lo = schema.exclusiveMinimum !== undefined && typeof schema.exclusiveMinimum === "number" ? `> ${schema.exclusiveMinimum}` :
    schema.minimum !== undefined ? (schema.exclusiveMinimum === true ? `> ${schema.minimum}` : `≥ ${schema.minimum}`) : null;
  const hi = schema.exclusiveMaximum !== undefined && typeof schema.exclusiveMaximum === "number" ? `< ${schema.exclusiveMaximum}` :
    schema.maximum !== undefined ? (schema.exclusiveMaximum === true ? `< ${schema.maximum}` : `≤ ${schema.maximum}`) : null;
  if (lo) out.push(lo);
  if (hi) out.push(hi);
  if (schema.multipleOf !== undefined) out.push(`multiple of ${schema.multipleOf}`);
  if (schema.minItems !== undefined || schema.maxItems !== undefined) out.push(`${schema.minItems ?? 0}–${schema.maxItems ?? "∞"} items`);
  if (schema.uniqueItems) out.push("unique items");
  if (Array.isArray(schema.enum)) out.push(`one of ${schema.enum.map(v => JSON.stringify(v)).join(", ")}`);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.deprecated) out.push("deprecated");
  if (schema.type === "array" && schema.items) out.push(...constraints(schema.items).map(c => `items: ${c}`));
  return out;
}

export function schemaType(schema) {
  if (!schema || typeof schema !== "object") return "any";
  let t = schema.type;
  if (Array.isArray(t)) t = t.find(x => x !== "null") || t[0];
  if (!t && schema.properties) t = "object";
  if (!t && schema.items) t = "array";
  if (!t && schema.enum) t = typeof schema.enum[0] === "number" ? "number" : "string";
  return t || "any";
}

function typeLabel(schema) {
  if (!schema) return "any";
  if (schema.$ref) return `→ ${String(schema.$ref).split("/").pop()}`;
  const t = schemaType(schema);
  if (t === "array") return `array<${typeLabel(schema.items)}>`;
  return schema.format ? `${t} (${schema.format})` : t;
}

// An example value built from a schema: example > default > enum[0] > by type.
export function exampleOf(schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 6) return null;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const k of ["allOf", "oneOf", "anyOf"]) {
    if (Array.isArray(schema[k]) && schema[k].length) {
      if (k !== "allOf") return exampleOf(schema[k][0], depth + 1);
      const merged = {};
      for (const part of schema[k]) { const v = exampleOf(part, depth + 1); if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(merged, v); }
      return merged;
    }
  }
  const t = schemaType(schema);
  if (t === "object") {
    const out = {};
    for (const [k, v] of Object.entries(schema.properties || {})) out[k] = exampleOf(v, depth + 1);
    return out;
  }
  if (t === "array") { const v = exampleOf(schema.items, depth + 1); return v === null ? [] : [v]; }
  if (t === "integer" || t === "number") return schema.minimum ?? 0;
  if (t === "boolean") return false;
  if (t === "string") {
    if (schema.format === "date") return "2025-01-01";
    if (schema.format === "date-time") return "2025-01-01T00:00:00Z";
    if (schema.format === "email") return "user@example.com";
    if (schema.format === "uuid") return "00000000-0000-4000-8000-000000000000";
    return "string";
  }
  return null;
}

// One input for one parameter schema. Returns {el, read()} where read() is
// undefined for "not given", else the typed value.
export function paramInput(param, idPrefix = "p") {
  const schema = param.schema || {};
  const t = schemaType(schema);
  const name = `${param.in || "query"}.${param.name}`;
  const id = `${idPrefix}-${param.in || "query"}-${param.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  let el, read;
  const dflt = schema.default;
  if (Array.isArray(schema.enum)) {
    el = h("select", { name, id, "aria-label": param.name },
      h("option", { value: "" }, param.required ? "— choose —" : "— not set —"),
      schema.enum.map(v => h("option", { value: JSON.stringify(v) }, String(v))));
    if (dflt !== undefined) el.value = JSON.stringify(dflt);
    read = () => el.value === "" ? undefined : JSON.parse(el.value);
  } else if (t === "boolean") {
    el = h("select", { name, id, "aria-label": param.name }, h("option", { value: "" }, "— not set —"),
      h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    if (dflt !== undefined) el.value = String(dflt);
    read = () => el.value === "" ? undefined : el.value === "true";
  } else if (t === "integer" || t === "number") {
    el = h("input", { type: "number", name, id, step: t === "integer" ? 1 : "any", min: schema.minimum, max: schema.maximum,
      placeholder: dflt !== undefined ? `default ${dflt}` : t, "aria-label": param.name });
    read = () => el.value === "" ? undefined : Number(el.value);
  } else if (t === "array") {
    const it = schemaType(schema.items);
    el = h("input", { type: "text", name, id, placeholder: "comma-separated values", "aria-label": param.name });
    read = () => el.value.trim() === "" ? undefined :
      el.value.split(",").map(x => x.trim()).filter(Boolean).map(x => (it === "integer" || it === "number") && !isNaN(Number(x)) ? Number(x) : it === "boolean" ? x === "true" : x);
  } else if (t === "object") {
    el = h("textarea", { name, id, class: "code", rows: 3, spellcheck: "false", "aria-label": param.name }, JSON.stringify(exampleOf(schema), null, 2));
    read = () => el.value.trim() === "" ? undefined : JSON.parse(el.value);
  } else {
    const type = schema.format === "date" ? "date" : schema.format === "password" ? "password" : "text";
    el = h("input", { type, name, id, placeholder: dflt !== undefined ? `default ${dflt}` : (schema.format || "string"), "aria-label": param.name,
      maxlength: schema.maxLength });
    // The pattern is checked here, not by the browser, so the message can name it.
    read = () => {
      if (el.value === "") return undefined;
      if (schema.pattern) {
        let re = null;
        try { re = new RegExp(schema.pattern, "u"); } catch { /* not a JS regex: the server checks it */ }
        if (re && !re.test(el.value)) throw new Error(`${JSON.stringify(el.value)} does not match the pattern ${schema.pattern}`);
      }
      return el.value;
    };
  }
  const hint = [typeLabel(schema), ...constraints(schema)].filter(Boolean).join(" · ");
  const label = h("label", { class: "field", for: id, title: hint },
    h("span", { class: param.required ? "req" : "" }, `${param.name} `, h("span", { class: "muted" }, `(${param.in}, ${typeLabel(schema)})`)), el);
  const cons = constraints(schema);
  if (cons.length) label.append(h("span", { class: "small constraints", "data-constraints": param.name }, cons.join(" · ")));
  if (param.description) label.append(markdown(param.description, { class: "small muted" }));
  return { el: label, input: el, read, param };
}

// Request body: {content: {mime: {schema}}} (OpenAPI) or a bare schema.
export function bodyMedia(requestBody) {
  if (!requestBody || typeof requestBody !== "object") return [];
  const content = requestBody.content && typeof requestBody.content === "object" ? requestBody.content : null;
  if (content) return Object.entries(content).map(([mime, m]) => ({ mime, schema: (m && m.schema) || {}, required: !!requestBody.required }));
  if (requestBody.schema) return [{ mime: "application/json", schema: requestBody.schema, required: !!requestBody.required }];
  return [{ mime: "application/json", schema: requestBody, required: false }];
}

// A collapsible tree of a JSON Schema.
export function schemaTree(schema, depth = 0, seen = new Set()) {
  const wrap = h("div", { class: "schema-tree" });
  wrap.append(node(schema, depth, seen));
  return wrap;
}

function node(schema, depth, seen) {
  const ul = h("ul");
  if (!schema || typeof schema !== "object") return ul;
  if (depth > 8 || seen.has(schema)) { ul.append(h("li", { class: "muted" }, "…")); return ul; }
  seen = new Set(seen); seen.add(schema);
  if (schema.$ref) { ul.append(h("li", { class: "muted" }, `$ref ${schema.$ref}${schema["x-circular"] || schema["x-cycle"] ? " (circular)" : ""}`)); }
  for (const k of ["allOf", "oneOf", "anyOf"]) {
    if (Array.isArray(schema[k])) ul.append(h("li", {}, h("span", { class: "type" }, k), schema[k].map(s => node(s, depth + 1, seen))));
  }
  const req = new Set(schema.required || []);
  for (const [name, sub] of Object.entries(schema.properties || {})) {
    const li = h("li", {}, h("span", { class: "name" }, name), req.has(name) ? h("span", { class: "small", title: "required" }, " *") : "", " ",
      h("span", { class: "type" }, typeLabel(sub)), sub && sub.enum ? h("span", { class: "small muted" }, ` [${sub.enum.join(", ")}]`) : "",
      sub && sub.description ? h("span", { class: "small muted" }, ` — ${String(sub.description).split("\n")[0]}`) : "");
    const t = schemaType(sub);
    if (sub && (t === "object" || sub.allOf || sub.oneOf || sub.anyOf) && (sub.properties || sub.allOf || sub.oneOf || sub.anyOf)) li.append(node(sub, depth + 1, seen));
    if (sub && t === "array" && sub.items && (sub.items.properties || sub.items.allOf)) li.append(node(sub.items, depth + 1, seen));
    ul.append(li);
  }
  if (!schema.properties && !schema.allOf && !schema.oneOf && !schema.anyOf && !schema.$ref) {
    ul.append(h("li", {}, h("span", { class: "type" }, typeLabel(schema)), schema.items && (schema.items.properties || schema.items.allOf) ? node(schema.items, depth + 1, seen) : ""));
  }
  return ul;
}

export function schemaBlock(schema) {
  return h("div", {}, schemaTree(schema), h("details", {}, h("summary", { class: "small" }, "raw schema"), jsonView(schema)));
}

export { field };
