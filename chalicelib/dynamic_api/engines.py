"""Template engines that compile SQL templates into bound statements.

Seed 002's ITemplateEngine / TemplateEngineManager, made safe (DESIGN 4):
every output expression `{{ … }}` (and liquid's `{% echo %}`) writes a MARK
into the SQL text and appends its value to the bound values; a list value
becomes `(MARK, MARK, …)` for IN. `{% if %}`, `{% for %}`, `assign`/`set`
shape the SQL text, which therefore only ever contains the template's own
literal text. Tags that write text any other way (liquid `cycle`,
`increment`, `capture`, `tablerow`, `include`/`render`; jinja2 `macro`,
`call`, `filter` blocks, `include`/`import`/`extends`, block `set`) are not
registered / refused, function calls are refused, and attribute or item
names starting with `_` are refused before anything runs (the sandbox stays
as a second wall). Evaluation is bounded (`bounds`): string and list sizes,
loop iterations.

`dialects.Dialect.bind` then turns MARKs into the driver's placeholders.
"""
from __future__ import annotations

import contextvars
import datetime as _dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from chalicelib.errors import QueryError, ValidationError

from . import bounds, sqltext
from .dialects import BoundStatement, Dialect
from .sqltext import MARK

BUILTIN_VARIABLES = frozenset({"skipCount", "maxResultCount", "sorting", "page", "pageSize"})
MAX_BINDS = 32767
_SHAPE_CACHE_LIMIT = 512

_binds: contextvars.ContextVar[list | None] = contextvars.ContextVar("dynamic_api_binds", default=None)

_SCALARS = (str, int, float, decimal.Decimal, bool, _dt.date, _dt.datetime, _dt.time, uuid.UUID, bytes)


class TemplateError(ValidationError):
    """A template that cannot be saved; `details["problems"]` lists why."""

    def __init__(self, problems: list[str], engine: str = ""):
        msg = problems[0] if len(problems) == 1 else f"{len(problems)} problems in the template: {problems[0]}"
        super().__init__(msg, {"field": "script_template", "engine": engine, "problems": problems})
        self.problems = problems


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, _SCALARS):
        if isinstance(value, str) and type(value) is not str:   # Markup and friends
            return str(value)
        return value
    if _is_undefined(value):
        return None
    raise QueryError(
        f"an output expression produced a {type(value).__name__}, which cannot be bound as a SQL value",
        {"type": type(value).__name__},
    )


def _is_undefined(value: Any) -> bool:
    import jinja2
    import liquid
    return isinstance(value, (jinja2.Undefined, liquid.Undefined))


def emit(value: Any) -> str:
    """Record `value` as bound value(s) of the statement being rendered; return its MARK text."""
    binds = _binds.get()
    if binds is None:
        raise QueryError("template output outside of a binding render")
    bounds.check_value(value, "an output expression")
    if isinstance(value, (list, tuple, set, frozenset, range)) and not isinstance(value, str):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            items = [None]          # `x IN (NULL)` matches nothing, as an empty list should
        for item in items:
            if isinstance(item, (list, tuple, set, frozenset, dict)):
                raise QueryError("a list output expression may only hold scalar values")
            binds.append(_scalar(item))
        text = "(" + ", ".join([MARK] * len(items)) + ")"
    else:
        binds.append(_scalar(value))
        text = MARK
    if len(binds) > MAX_BINDS:
        raise ValidationError(f"the statement would need more than {MAX_BINDS} bound values")
    return text


@dataclass
class RenderedSql:
    """A rendered statement: text with MARKs (no trailing `;`) and its values."""
    marked: str
    values: list
    dialect: Dialect
    first_keyword: str

    @property
    def is_write(self) -> bool:
        return self.first_keyword in sqltext.WRITE_KEYWORDS

    def statement(self) -> BoundStatement:
        return self.dialect.bind(self.marked, self.values)


class CompiledTemplate:
    """A checked, compiled template. `render` is safe to call concurrently."""

    def __init__(self, engine: str, source: str, render_marked: Callable[[dict], str], skeleton: str):
        self.engine = engine
        self.source = source
        self._render_marked = render_marked
        self.skeleton = skeleton          # literal text of every branch, loop bodies twice, MARKs for outputs
        self._shapes: dict[tuple[str, str], sqltext.SqlShape] = {}

    def render_text(self, values: dict) -> tuple[str, list]:
        binds: list = []
        token = _binds.set(binds)
        try:
            text = self._render_marked(values)
        except (ValidationError, QueryError):
            raise
        except Exception as exc:  # the engine's own runtime errors (undefined attribute, bad filter args)
            raise QueryError(f"the {self.engine} template failed to render: {exc}",
                             {"engine": self.engine}) from exc
        finally:
            _binds.reset(token)
        if text.count(MARK) != len(binds):
            raise QueryError("rendered template lost track of its bound values")
        return text, binds

    def shape(self, text: str, dialect: Dialect) -> sqltext.SqlShape:
        key = (dialect.name, text)
        shape = self._shapes.get(key)
        if shape is None:
            shape = sqltext.analyze(text, dialect.name)
            if len(self._shapes) >= _SHAPE_CACHE_LIMIT:
                self._shapes.clear()
            self._shapes[key] = shape
        return shape

    def render(self, values: dict, dialect: Dialect) -> RenderedSql:
        text, binds = self.render_text(values)
        shape = self.shape(text, dialect)
        if shape.problems:
            raise QueryError("the rendered SQL was refused: " + "; ".join(shape.problems),
                             {"problems": shape.problems})
        if not text[: shape.body_end].strip():
            raise QueryError("the template rendered an empty statement")
        return RenderedSql(text[: shape.body_end], binds, dialect, shape.first_keyword)


class TemplateEngine:
    """Seed 002 ITemplateEngine: a name, and compile/render of a source."""
    name = ""

    def compile(self, source: str, declared: Iterable[str] = ()) -> CompiledTemplate:  # pragma: no cover
        raise NotImplementedError

    def render(self, source: str, values: dict, dialect: Dialect, declared: Iterable[str] | None = None) -> RenderedSql:
        names = set(values) if declared is None else set(declared)
        return self.compile(source, names).render(values, dialect)


def _common_source_checks(source: str) -> list[str]:
    problems = []
    if not isinstance(source, str) or not source.strip():
        return ["the template is empty"]
    if len(source) > 65536:
        problems.append("the template is longer than 65536 characters")
    bad = sorted({c for c in source if ord(c) < 32 and c not in "\t\r\n"})
    if bad:
        problems.append(f"the template contains control characters {[hex(ord(c)) for c in bad]}")
    return problems


# --------------------------------------------------------------------------- jinja2

_JINJA_FILTERS = frozenset({
    "abs", "capitalize", "d", "default", "first", "float", "int", "join", "last", "length",
    "count", "list", "lower", "upper", "max", "min", "replace", "reverse", "round", "sort",
    "string", "sum", "title", "trim", "truncate", "unique", "wordcount", "batch", "slice",
})
_JINJA_SPECIAL = frozenset({"self", "caller", "varargs", "kwargs"})
_CONCAT, _LOOP = "sqlbound_concat", "sqlbound_loop"
_UNSAFE_ATTRS = frozenset({"mro", "gi_frame", "gi_code", "cr_frame", "f_globals", "func_globals",
                           "format", "format_map"})


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
                if node.attr.startswith("_") or node.attr in _UNSAFE_ATTRS:
                    problems.append(f"line {node.lineno}: attribute {node.attr!r} is not accessible (sandbox)")
            elif isinstance(node, nodes.Getitem):
                arg = node.arg
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and (
                        arg.value.startswith("_") or arg.value in _UNSAFE_ATTRS):
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

    def compile(self, source: str, declared: Iterable[str] = ()) -> CompiledTemplate:
        from jinja2 import TemplateSyntaxError
        problems = _common_source_checks(source)
        if problems:
            raise TemplateError(problems, self.name)
        try:
            ast = self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError([f"line {exc.lineno}: {exc.message}"], self.name) from exc
        problems = self._check(ast, set(declared))
        if problems:
            raise TemplateError(problems, self.name)
        skeleton = self._skeleton(ast)
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

        return CompiledTemplate(self.name, source, render, skeleton)


# --------------------------------------------------------------------------- manager

class TemplateEngineManager:
    """Seed 002 TemplateEngineManager: engines registered by name."""

    def __init__(self):
        self._engines: dict[str, TemplateEngine] = {}
        self._factories: dict[str, Callable[[], TemplateEngine]] = {}

    def register_engine(self, name: str, factory: Callable[[], TemplateEngine]) -> None:
        self._factories[name] = factory
        self._engines.pop(name, None)

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def get_engine(self, name: str) -> TemplateEngine:
        key = (name or "").strip().lower()
        engine = self._engines.get(key)
        if engine is None:
            factory = self._factories.get(key)
            if factory is None:
                raise ValidationError(
                    f"unknown template_engine {name!r}; supported: {', '.join(self.names)}",
                    {"field": "template_engine", "supported": self.names},
                )
            engine = self._engines[key] = factory()
        return engine


engines = TemplateEngineManager()
engines.register_engine("jinja2", Jinja2Engine)


def _liquid_engine() -> TemplateEngine:
    from .engine_liquid import LiquidEngine
    return LiquidEngine()


engines.register_engine("liquid", _liquid_engine)
