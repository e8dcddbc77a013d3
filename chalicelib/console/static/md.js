// A small, safe Markdown renderer for OpenAPI descriptions (CommonMark subset):
// headings, paragraphs, lists, block quotes, fenced/indented code, inline code,
// **bold**, *italic*, [links](url) and <autolinks>. It builds DOM nodes and
// never parses HTML: any tag in the text stays visible text, so nothing in a
// spec can inject markup or script. Links keep only http(s), mailto and
// relative targets, and open in a new tab without the opener.
import { h } from "./dom.js";

const SAFE_URL = /^(https?:|mailto:|#|\/(?!\/)|\.{0,2}\/?[\w-][^:]*$)/i;

export function safeUrl(url) {
  const u = String(url || "").trim();
  return SAFE_URL.test(u) ? u : null;
}

// Inline: code spans first (their content is literal), then links, bold, italic.
const INLINE = /(`+)([^]*?[^`])\1(?!`)|\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|<((?:https?:\/\/|mailto:)[^>\s]+)>|(\*\*|(?<!\w)__)(?=\S)([^]*?\S)\6(?!\w)|(\*|(?<!\w)_)(?=\S)([^]*?\S)\8(?![\w*])/g;

export function inline(text) {
  const out = [];
  const re = new RegExp(INLINE.source, "g");   // one per call: the calls nest
  let last = 0, m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(h("code", {}, m[2].replace(/^ (.*) $/, "$1")));
    else if (m[3] !== undefined) {
      const url = safeUrl(m[4]);
      out.push(url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, inline(m[3])) : inline(m[3]));
    } else if (m[5]) out.push(h("a", { href: m[5], target: "_blank", rel: "noopener noreferrer" }, m[5]));
    else if (m[6]) out.push(h("strong", {}, inline(m[7])));
    else if (m[8]) out.push(h("em", {}, inline(m[9])));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function isBlockStart(line) {
  return /^\s{0,3}(#{1,6}\s|```|~~~|>|[-*+]\s|\d+[.)]\s)/.test(line) || /^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line);
}

export function markdown(source, opts = {}) {
  const root = h("div", { class: `md ${opts.class || ""}` });
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    let m;
    if ((m = line.match(/^\s{0,3}(```|~~~)\s*([\w+-]*)/))) {           // fenced code
      const fence = m[1], body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++;
      root.append(h("pre", { class: "block" }, h("code", { class: m[2] ? `lang-${m[2]}` : "" }, body.join("\n"))));
    } else if (/^( {4}|\t)/.test(line)) {                               // indented code
      const body = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].replace(/^( {4}|\t)/, ""));
      root.append(h("pre", { class: "block" }, h("code", {}, body.join("\n").replace(/\n+$/, ""))));
    } else if ((m = line.match(/^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/))) { // heading (shifted below the page's)
      const level = Math.min(6, m[1].length + (opts.shift ?? 2));
      root.append(h(`h${level}`, {}, inline(m[2])));
      i++;
    } else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      root.append(h("hr"));
      i++;
    } else if (/^\s{0,3}>/.test(line)) {                                // block quote
      const body = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) body.push(lines[i++].replace(/^\s{0,3}>\s?/, ""));
      root.append(h("blockquote", {}, [...markdown(body.join("\n"), opts).childNodes]));
    } else if ((m = line.match(/^\s{0,3}([-*+]|\d+[.)])\s+/))) {         // list
      const ordered = /\d/.test(m[1]);
      const list = h(ordered ? "ol" : "ul");
      const itemRe = ordered ? /^\s{0,3}\d+[.)]\s+(.*)$/ : /^\s{0,3}[-*+]\s+(.*)$/;
      while (i < lines.length) {
        const im = lines[i].match(itemRe);
        if (!im) break;
        const parts = [im[1]];
        i++;
        while (i < lines.length && lines[i].trim() && !itemRe.test(lines[i]) && (/^\s{2,}/.test(lines[i]) || !isBlockStart(lines[i]))) parts.push(lines[i++].trim());
        list.append(h("li", {}, inline(parts.join(" "))));
        if (i < lines.length && !lines[i].trim() && i + 1 < lines.length && itemRe.test(lines[i + 1])) i++;
      }
      root.append(list);
    } else {                                                            // paragraph
      const parts = [];
      while (i < lines.length && lines[i].trim() && (!parts.length || !isBlockStart(lines[i]))) parts.push(lines[i++].trim());
      const p = h("p");
      parts.forEach((t, k) => {
        if (k) p.append(/ {2,}$|\\$/.test(parts[k - 1]) ? h("br") : " ");
        p.append(...inline(t.replace(/\\$/, "")));
      });
      root.append(p);
    }
  }
  return root;
}
