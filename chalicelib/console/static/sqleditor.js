// The SQL template editor: CodeMirror 5 (vendor/, MIT, served with the console)
// with SQL highlighting per pool dialect, the template's {{ expressions }} and
// {% tags %} highlighted over it, and undeclared variables underlined.
// Without CodeMirror (script blocked or absent) the plain textarea stays.

const MIMES = { postgresql: "text/x-pgsql", mysql: "text/x-mariadb" };

function templateOverlay() {
  return {
    token(stream, state) {
      if (state.inside) {
        if (stream.match(state.inside === "expr" ? /^-?\}\}/ : /^-?%\}/)) { const t = state.inside; state.inside = null; return `template-${t} template-delim`; }
        if (stream.match(/^[A-Za-z_]\w*/)) return `template-${state.inside} template-name`;
        stream.next();
        return `template-${state.inside}`;
      }
      if (stream.match(/^\{\{-?/)) { state.inside = "expr"; return "template-expr template-delim"; }
      if (stream.match(/^\{%-?/)) { state.inside = "tag"; return "template-tag template-delim"; }
      while (stream.next() != null && !stream.match(/^\{[{%]/, false)) { /* plain SQL */ }
      return null;
    },
    startState() { return { inside: null }; },
    copyState(s) { return { inside: s.inside }; },
  };
}

// -> {cm, setValue, getValue, setDialect, markUndeclared(names)} or null without CodeMirror.
export function sqlEditor(textarea, { dialect = "postgresql", onChange } = {}) {
  const CM = window.CodeMirror;
  if (!CM || !CM.overlayMode) return null;
  // A named mode per dialect: SQL underneath, the template overlay on top.
  const modeFor = d => {
    const name = `stepflow-sql-${MIMES[d] ? d : "sql"}`;
    if (!CM.modes[name]) CM.defineMode(name, config => CM.overlayMode(CM.getMode(config, MIMES[d] || "text/x-sql"), templateOverlay()));
    return name;
  };
  const cm = CM.fromTextArea(textarea, {
    mode: modeFor(dialect), lineNumbers: true, lineWrapping: true, indentUnit: 2, tabSize: 2,
    inputStyle: "contenteditable", screenReaderLabel: textarea.getAttribute("aria-label") || "SQL template",
    viewportMargin: Infinity,
    // Tab and Shift-Tab leave the editor (keyboard users are never trapped); Ctrl-] indents.
    extraKeys: { Tab: false, "Shift-Tab": false, "Ctrl-]": "indentMore", "Ctrl-[": "indentLess" },
  });
  cm.getWrapperElement().id = `${textarea.id}-editor`;
  let marks = [];
  cm.on("change", () => { cm.save(); onChange && onChange(cm.getValue()); });
  return {
    cm,
    getValue: () => cm.getValue(),
    setValue: v => cm.setValue(v),
    setDialect: d => cm.setOption("mode", modeFor(d)),
    // Underline every {{ name }} / {% if name %} whose name is not declared.
    markUndeclared(names) {
      for (const m of marks) m.clear();
      marks = [];
      if (!names.length) return;
      const text = cm.getValue();
      const re = /(\{\{-?\s*|\{%-?\s*(?:if|elsif|elif|unless|for\s+\w+\s+in)\s+)([A-Za-z_]\w*)/g;
      let m;
      while ((m = re.exec(text)) !== null) {
        if (!names.includes(m[2])) continue;
        const from = cm.posFromIndex(m.index + m[1].length), to = cm.posFromIndex(m.index + m[1].length + m[2].length);
        marks.push(cm.markText(from, to, { className: "cm-undeclared", attributes: { title: `${m[2]} is not a declared parameter` } }));
      }
    },
  };
}
