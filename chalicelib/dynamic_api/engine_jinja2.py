"""The jinja2 engine of `engines`: a sandboxed environment whose finalize binds
every `{{ }}` value (`binding.emit`); only the filters in `_JINJA_FILTERS`
exist, `~` and `for` are size-bounded and counted (`bounds`), and the AST is
checked (no calls, macros, includes, block set, `_` names) before anything runs.
A plain template (text and `{{ name }}` only) renders through
`binding.plain_renderer`.
"""
from __future__ import annotations

from typing import Iterable

from . import bounds
from .binding import (
    BUILTIN_VARIABLES,
    UNSAFE_ATTRS,
    CompiledTemplate,
    TemplateEngine,
    TemplateError,
    common_source_checks,
    emit,
)
from .sqltext import MARK

_JINJA_FILTERS = frozenset({
    "abs", "capitalize", "d", "default", "first", "float", "int", "join", "last", "length",
    "count", "list", "lower", "upper", "max", "min", "replace", "reverse", "round", "sort",
    "string", "sum", "title", "trim", "truncate", "unique", "wordcount", "batch", "slice",
})
_JINJA_SPECIAL = frozenset({"self", "caller", "varargs", "kwargs"})
_CONCAT, _LOOP = "sqlbound_concat", "sqlbound_loop"


class Jinja2Engine(TemplateEngine):
    name = "jinja2"

    def __init__(self):
        from jinja2 import Undefined, pass_context
        from jinja2.sandbox import SandboxedEnvironment

        @pass_context            # pass_context: never folded at compile time, always runs per render
        def _finalize(_ctx, value):
            return emit(value)

        class BoundedEnvironment(SandboxedEnvironment):
            intercepted_binops = frozenset({"*", "+", "%"})

            def call_binop(self, context, operator, left, right):
                return bounds.binop(operator, left, right)

        env = BoundedEnvironment(
            finalize=_finalize, autoescape=False, trim_blocks=False, lstrip_blocks=True,
            undefined=Undefined, auto_reload=False, cache_size=0,
        )
        env.globals.clear()
        env.filters = {k: bounds.bounded_filter(k, v, passes_first_arg=getattr(v, "jinja_pass_arg", None) is not None)
                       for k, v in env.filters.items() if k in _JINJA_FILTERS}
        env.filters[_CONCAT] = bounds.concat        # `~` and `for` are rewritten to these (see _bound)
        env.filters[_LOOP] = bounds.bounded_loop
        self.env = env

    @staticmethod
    def _bound(ast):
        """Rewrite `a ~ b` into a size-checked join and every `for` iterable into a
        counted one. Runs after `_check`, which refuses these filter names in source."""
        from jinja2 import nodes
        for node in list(ast.find_all(nodes.For)):
            node.iter = nodes.Filter(node.iter, _LOOP, [], [], None, None, lineno=node.lineno)
        for node in list(ast.find_all((nodes.Node,))):
            for field in node.fields:
                value = getattr(node, field, None)
                if isinstance(value, nodes.Concat):
                    setattr(node, field, nodes.Filter(nodes.List(value.nodes, lineno=value.lineno), _CONCAT,
                                                      [], [], None, None, lineno=value.lineno))
                elif isinstance(value, list):
                    setattr(node, field, [nodes.Filter(nodes.List(v.nodes, lineno=v.lineno), _CONCAT, [], [],
                                                       None, None, lineno=v.lineno)
                                          if isinstance(v, nodes.Concat) else v for v in value])
        return ast

    def _check(self, ast, declared: set[str]) -> list[str]:
        from jinja2 import meta, nodes
        problems: list[str] = []
        allowed = (
            nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.For, nodes.Assign,
            nodes.With, nodes.Name, nodes.Const, nodes.Getattr, nodes.Getitem, nodes.Slice,
            nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
            nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv,
            nodes.Mod, nodes.Concat, nodes.CondExpr, nodes.List, nodes.Tuple, nodes.Dict,
            nodes.Pair, nodes.Keyword, nodes.Continue, nodes.Break,
        )
        labels = {
            "Macro": "{% macro %}", "CallBlock": "{% call %}", "FilterBlock": "{% filter %} blocks",
            "Include": "{% include %}", "Import": "{% import %}", "FromImport": "{% from … import %}",
            "Extends": "{% extends %}", "Block": "{% block %}", "AssignBlock": "block {% set %}…{% endset %}",
            "Call": "function and method calls", "ScopedEvalContextModifier": "{% autoescape %}",
            "Pow": "the ** operator",
        }
        seen = set()

        def visit(node):
            if not isinstance(node, allowed):
                label = labels.get(type(node).__name__, type(node).__name__)
                if label not in seen:
                    seen.add(label)
                    problems.append(f"line {node.lineno}: {label} not allowed in SQL templates")
                return
            if isinstance(node, nodes.Getattr):
                if node.attr.startswith("_") or node.attr in UNSAFE_ATTRS:
                    problems.append(f"line {node.lineno}: attribute {node.attr!r} is not accessible (sandbox)")
            elif isinstance(node, nodes.Getitem):
                arg = node.arg
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and (
                        arg.value.startswith("_") or arg.value in UNSAFE_ATTRS):
                    problems.append(f"line {node.lineno}: item {arg.value!r} is not accessible (sandbox)")
            elif isinstance(node, nodes.Filter) and node.name not in _JINJA_FILTERS:
                problems.append(f"line {node.lineno}: filter {node.name!r} is not available; "
                                f"available: {', '.join(sorted(_JINJA_FILTERS))}")
            elif isinstance(node, nodes.Name) and (node.name.startswith("_") or node.name in _JINJA_SPECIAL):
                problems.append(f"line {node.lineno}: variable {node.name!r} is not accessible")
            for child in node.iter_child_nodes():
                visit(child)

        visit(ast)
        if problems:
            return problems
        try:
            undeclared = meta.find_undeclared_variables(ast) - declared - BUILTIN_VARIABLES
        except Exception as exc:  # TemplateAssertionError for unknown filters/tests
            return [f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'message', exc)}"]
        for name in sorted(undeclared):
            problems.append(f"variable {name!r} is neither a declared parameter nor a built-in "
                            f"({', '.join(sorted(BUILTIN_VARIABLES))})")
        return problems

    @staticmethod
    def _skeleton(ast) -> str:
        from jinja2 import nodes
        out: list[str] = []

        def walk(node):
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    out.append(child.data if isinstance(child, nodes.TemplateData) else MARK)
            elif isinstance(node, nodes.For):
                for _ in range(2):
                    for child in node.body:
                        walk(child)
                for child in node.else_:
                    walk(child)
            else:
                for child in node.iter_child_nodes():
                    walk(child)

        walk(ast)
        return "".join(out)

    @staticmethod
    def _plain(ast) -> tuple[str, ...] | None:
        """(text, name, text, …, text) when the template is only literal text and outputs
        of bare variable names; None otherwise."""
        from jinja2 import nodes
        pieces, text = [], ""
        for node in ast.body:
            if type(node) is not nodes.Output:
                return None
            for child in node.nodes:
                if type(child) is nodes.TemplateData:
                    text += child.data
                elif type(child) is nodes.Name and child.ctx == "load":
                    pieces += [text, child.name]
                    text = ""
                else:
                    return None
        return (*pieces, text)

    def compile(self, source: str, declared: Iterable[str] = ()) -> CompiledTemplate:
        from jinja2 import TemplateSyntaxError
        problems = common_source_checks(source)
        if problems:
            raise TemplateError(problems, self.name)
        try:
            ast = self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError([f"line {exc.lineno}: {exc.message}"], self.name) from exc
        problems = self._check(ast, set(declared))
        if problems:
            raise TemplateError(problems, self.name)
        skeleton, plain = self._skeleton(ast), self._plain(ast)
        try:
            code = self.env.compile(self._bound(ast))
            template = self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)
        except Exception as exc:
            raise TemplateError([f"the template does not compile: {exc}"], self.name) from exc

        def render(values: dict) -> str:
            token = bounds.fresh_loop_budget()
            try:
                return bounds.bounded_join(template.generate(values))
            finally:
                bounds.reset_loop_budget(token)

        return CompiledTemplate(self.name, source, render, skeleton, plain)
