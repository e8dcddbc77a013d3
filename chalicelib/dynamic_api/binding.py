"""The binding compiler both template engines share (DESIGN 4).

Every output expression writes a MARK into the SQL text through `emit` and
appends its value to the bound values of the render in progress; a list value
becomes `(MARK, MARK, …)` for IN. `CompiledTemplate` renders a template's
text, checks the SQL shape of its literal text once per shape (`sqltext`) and
answers a `RenderedSql`. `TemplateEngine` is what each engine implements
(`engine_jinja2`, `engine_liquid`); `engines` registers them by name.

A plain template (literal text and outputs of bare variable names, no tags,
filters or attributes: `... WHERE id = {{ id }}`) renders without its engine:
the engine finds the literal pieces and names once (`plain_pieces`), each
render binds the names' values through the same `emit` (`plain_renderer`);
the text, values and errors are the engine's own.
"""
from __future__ import annotations

import contextvars
import datetime as _dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from chalicelib.errors import QueryError, QueryRefused, ValidationError, field_error, field_errors, invalid_input

from . import bounds, sqltext
from .dialects import BoundStatement, Dialect
from .sqltext import MARK

BUILTIN_VARIABLES = frozenset({"skipCount", "maxResultCount", "sorting", "page", "pageSize"})
MAX_BINDS = 32767
_SHAPE_CACHE_LIMIT = 512

_binds: contextvars.ContextVar[list | None] = contextvars.ContextVar("dynamic_api_binds", default=None)

_SCALARS = (str, int, float, decimal.Decimal, bool, _dt.date, _dt.datetime, _dt.time, uuid.UUID, bytes)


class TemplateError(ValidationError):
    """A template that cannot be saved; `details["errors"]` has one item per problem."""

    def __init__(self, problems: list[str], engine: str = ""):
        msg = problems[0] if len(problems) == 1 else f"{len(problems)} problems in the template: {problems[0]}"
        super().__init__(msg, field_errors((field_error(["body", "script_template"], p, "template") for p in problems),
                                           engine=engine))
        self.problems = problems


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, _SCALARS):
        if isinstance(value, str) and type(value) is not str:   # Markup and friends
            return str(value)
        return value
    if _is_undefined(value):
        return None
    raise QueryRefused(
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
                raise QueryRefused("a list output expression may only hold scalar values")
            binds.append(_scalar(item))
        text = "(" + ", ".join([MARK] * len(items)) + ")"
    else:
        binds.append(_scalar(value))
        text = MARK
    if len(binds) > MAX_BINDS:
        raise invalid_input(["body", "script_template"], f"the statement would need more than {MAX_BINDS} bound values",
                            "template_limit")
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


def plain_renderer(pieces: tuple[str, ...]) -> Callable[[dict], str]:
    """The render of a plain template: `pieces` is literal text and variable names in
    turn (text, name, text, …, text). A name missing from the values is None, as an
    undefined variable is for either engine."""
    texts, names = pieces[0::2], pieces[1::2]
    first, rest = texts[0], tuple(zip(names, texts[1:], strict=True))

    def render(values: dict) -> str:
        out = [first]
        get = values.get
        for name, text in rest:
            out.append(emit(get(name)))
            out.append(text)
        return "".join(out)

    return render


class CompiledTemplate:
    """A checked, compiled template. `render` is safe to call concurrently.
    `plain`: the template's `plain_renderer` pieces when it is plain (the engine is
    then not run per render; `engine_render` is what it would run)."""

    def __init__(self, engine: str, source: str, render_marked: Callable[[dict], str], skeleton: str,
                 plain: tuple[str, ...] | None = None):
        self.engine = engine
        self.source = source
        self.engine_render = render_marked
        self.plain = plain
        self._render_marked = plain_renderer(plain) if plain is not None else render_marked
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
            raise QueryRefused(f"the {self.engine} template failed to render: {exc}",
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
            raise QueryRefused("the rendered SQL was refused: " + "; ".join(shape.problems),
                               {"sql_problems": shape.problems})
        if not text[: shape.body_end].strip():
            raise QueryRefused("the template rendered an empty statement")
        return RenderedSql(text[: shape.body_end], binds, dialect, shape.first_keyword)


class TemplateEngine:
    """Seed 002 ITemplateEngine: a name, and compile/render of a source."""
    name = ""

    def compile(self, source: str, declared: Iterable[str] = ()) -> CompiledTemplate:  # pragma: no cover
        raise NotImplementedError

    def render(self, source: str, values: dict, dialect: Dialect, declared: Iterable[str] | None = None) -> RenderedSql:
        names = set(values) if declared is None else set(declared)
        return self.compile(source, names).render(values, dialect)


def common_source_checks(source: str) -> list[str]:
    """What is wrong with a template before either engine parses it (empty, too long, control characters)."""
    problems = []
    if not isinstance(source, str) or not source.strip():
        return ["the template is empty"]
    if len(source) > 65536:
        problems.append("the template is longer than 65536 characters")
    bad = sorted({c for c in source if ord(c) < 32 and c not in "\t\r\n"})
    if bad:
        problems.append(f"the template contains control characters {[hex(ord(c)) for c in bad]}")
    return problems


# Attribute names refused in templates of either engine (beside every name starting with `_`).
UNSAFE_ATTRS = frozenset({"mro", "gi_frame", "gi_code", "cr_frame", "f_globals", "func_globals",
                           "format", "format_map"})
