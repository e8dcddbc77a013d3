"""Bounded template evaluation, the same limits in both engines.

A template runs with its caller's values, so what it builds is bounded,
checked before the value is built wherever the size can be known first:

* strings: at most MAX_STRING characters (`'x' * n`, `+`, `~`, `%`,
  `replace`, `join`, `append`, … and every other filter's result);
* lists: at most MAX_ITEMS items (`[x] * n`, `+`, filter results and filter
  inputs, ranges such as liquid `(1..n)`);
* integers: at most MAX_INT_BITS bits (a product squared in a loop);
* loops: at most MAX_LOOP_ITERATIONS iterations per render, nested loops
  counted together (jinja2: every `for` iterable is wrapped; liquid: its
  own `loop_iteration_limit`);
* the rendered SQL text: at most MAX_STRING characters (jinja2: counted
  while it streams; liquid: its own `output_stream_limit`).

Exceeding one is a 400 (`TemplateLimitExceeded`) naming the limit.
"""
from __future__ import annotations

import contextvars
import functools
import re
from typing import Any, Callable, Iterable

from chalicelib.errors import ValidationError, field_error, field_errors

MAX_STRING = 1_000_000
MAX_ITEMS = 10_000
MAX_LOOP_ITERATIONS = 10_000
MAX_INT_BITS = 4096

_loop_budget: contextvars.ContextVar[list | None] = contextvars.ContextVar("dynamic_api_loop_budget", default=None)
_WIDE_FORMAT = re.compile(r"%[-+ #0]*(\d{4,}|\*|\.\d{4,}|\d*\.\*)")
_SEQUENCES = (list, tuple, range, set, frozenset)


class TemplateLimitExceeded(ValidationError):
    def __init__(self, what: str, limit: str, maximum: int):
        super().__init__(f"template evaluation exceeded a limit: {what} (at most {maximum}); "
                         "narrow the inputs or simplify the template",
                         field_errors(field_error(["body", "script_template"], what, "template_limit"),
                                      limit=limit, max=maximum))


def _too_long(size: int, what: str) -> None:
    if size > MAX_STRING:
        raise TemplateLimitExceeded(f"{what} would build a string of {size} characters", "string_length", MAX_STRING)


def _too_many(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        raise TemplateLimitExceeded(f"{what} would build a list of {size} items", "list_items", MAX_ITEMS)


def check_value(value: Any, what: str) -> Any:
    if isinstance(value, str):
        _too_long(len(value), what)
    elif isinstance(value, _SEQUENCES):
        _too_many(len(value), what)
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitExceeded(f"{what} would build an integer of {value.bit_length()} bits", "number_size",
                                    MAX_INT_BITS)
    return value


def _size_of(value: Any) -> int:
    """Characters of str(value), without building it for sequences (a lower bound)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, _SEQUENCES):
        return 3 * len(value)
    return len(str(value))


def too_much_sql(size: int) -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"the rendered SQL would be longer than {MAX_STRING} characters", "sql_length",
                                 MAX_STRING)


def bounded_join(chunks: Iterable[str]) -> str:
    """jinja2's streamed output, joined with its length counted as it grows."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_STRING:
            raise too_much_sql(size)
        parts.append(chunk)
    return "".join(parts)


# --------------------------------------------------------------------------- operators (jinja2)

def binop(operator: str, left: Any, right: Any) -> Any:
    """`*`, `+` and `%` with their result size checked before it is built."""
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and not isinstance(n, bool):
                size = len(seq) * max(n, 0)
                (_too_long if isinstance(seq, str) else _too_many)(size, f"'*' ({len(seq)} x {n})")
        return check_value(left * right, "'*'")
    if operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            _too_long(len(left) + len(right), "'+'")
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            _too_many(len(left) + len(right), "'+'")
        return left + right
    if operator == "%":
        if isinstance(left, str):
            if _WIDE_FORMAT.search(left):
                raise TemplateLimitExceeded("a '%' format with a width or precision of 1000 or more",
                                            "string_length", MAX_STRING)
            return check_value(left % right, "'%' formatting")
        return left % right
    raise ValueError(operator)


def concat(values: Iterable[Any]) -> str:
    """jinja2 `~`: the parts' sizes are added up before joining."""
    parts = [str(v) for v in values]
    _too_long(sum(len(p) for p in parts), "'~'")
    return "".join(parts)


def bounded_loop(iterable: Any) -> Iterable[Any]:
    """jinja2 `for`: iterations of one render counted against the budget."""
    budget = _loop_budget.get()
    if budget is None:
        budget = [0]
        _loop_budget.set(budget)
    for item in iterable:
        budget[0] += 1
        if budget[0] > MAX_LOOP_ITERATIONS:
            raise TemplateLimitExceeded("loops ran more than the allowed iterations", "loop_iterations",
                                        MAX_LOOP_ITERATIONS)
        yield item


def fresh_loop_budget() -> contextvars.Token:
    return _loop_budget.set([0])


def reset_loop_budget(token: contextvars.Token) -> None:
    _loop_budget.reset(token)


# --------------------------------------------------------------------------- filters (both engines)

def _replace_size(s: Any, old: Any, new: Any, count: Any = None) -> int:
    s, old, new = str(s), str(old), str(new)
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(0, len(new) - len(old))


def _sum_size(value: Any, *_rest, **_kw) -> int:
    if isinstance(value, _SEQUENCES):
        _too_many(sum(len(v) for v in value if isinstance(v, _SEQUENCES)), "sum")
    return 0


def _join_size(value: Any, sep: Any = "", *_rest) -> int:
    if not isinstance(value, _SEQUENCES):
        return 0
    _too_many(len(value), "join")
    return sum(_size_of(v) for v in value) + len(str(sep)) * max(0, len(value) - 1)


PRECHECKS: dict[str, Callable[..., int]] = {
    "replace": _replace_size,
    "join": _join_size,
    "sum": _sum_size,
}


def bounded_filter(name: str, func: Callable, *, passes_first_arg: bool) -> Callable:
    """`func` with its inputs' list sizes checked, a size estimate checked before
    it runs (replace, join) and its result's size checked after."""
    precheck = PRECHECKS.get(name)
    label = f"filter {name!r}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        user_args = args[1:] if passes_first_arg else args
        for a in user_args:
            if isinstance(a, _SEQUENCES):
                _too_many(len(a), f"the input of {label}")
        if precheck is not None and user_args:
            try:
                size = precheck(*user_args, **kwargs)
            except TemplateLimitExceeded:
                raise
            except Exception:   # the filter reports its own argument errors
                size = 0
            _too_long(size, label)
        return check_value(func(*args, **kwargs), label)

    return wrapper
