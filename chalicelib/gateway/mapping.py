"""Resource-reference parameter mappings rendered with sandboxed Jinja2.

    {"path.petId": "{{ input.pet_id }}", "query.limit": 20,
     "headers.X-Trace": "{{ input.trace_id }}", "body": {"name": "{{ input.name | upper }}"},
     "body.meta.source": "workflow", "defaults": {"trace_id": "none"}}

Keys name where a value goes (`path.`, `query.`, `headers.`, `cookies.`,
`body`, `body.<a.b>`, `content_type`, `timeout_ms`); they are never templates.
Values are literals or templates producing values: a string that is exactly
one `{{ expression }}` yields the expression's native value (a number stays a
number, a list a list); other strings render as text. Only expressions are
allowed (`{% ... %}` statements are refused), in Jinja2's sandbox, with
undefined names an error. The template context is `input` (the caller's input
over `defaults`) and `reference` (id, resource_type, resource_id).
`input.items` / `input.keys` are the input's keys named so, never dict
methods: on a mapping, `a.b` looks up the key first, and a template whose
value is a function (a method reached by attribute) is refused.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any

from chalicelib.errors import ValidationError, field_error, field_errors, invalid_input
from chalicelib.gateway.request_builder import InvokeInput

RESERVED = ("defaults", "mapping")
TARGETS = ("path", "query", "headers", "cookies")
_WHOLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)
MAX_TEMPLATE_LEN = 4000

_env = None
_env_lock = threading.Lock()


class FunctionValue(ValueError):
    """A template expression produced a function instead of a value."""


def _no_functions(value):
    if callable(value):
        raise FunctionValue("the expression is a function, not a value (is a key missing from the input?)")
    return value


def env():
    global _env
    if _env is None:
        with _env_lock:
            if _env is None:
                from jinja2 import StrictUndefined
                from jinja2.sandbox import ImmutableSandboxedEnvironment

                class KeysFirst(ImmutableSandboxedEnvironment):
                    def getattr(self, obj, attribute):
                        if isinstance(obj, dict) and attribute in obj:
                            return obj[attribute]
                        return super().getattr(obj, attribute)

                _env = KeysFirst(undefined=StrictUndefined, autoescape=False, finalize=_no_functions)
    return _env


def mapping_of(config: dict | None) -> tuple[dict, dict]:
    """(mapping, defaults) from a reference_config."""
    config = config or {}
    if not isinstance(config, dict):
        raise invalid_input(["reference_config"], "reference_config must be an object", "dict_type")
    given = config.get("mapping")
    mapping = given if isinstance(given, dict) else {k: v for k, v in config.items() if k not in RESERVED}
    defaults = config.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise invalid_input(["reference_config", "defaults"], "reference_config.defaults must be an object",
                            "dict_type")
    return mapping, defaults


def _is_template(v: str) -> bool:
    return "{{" in v or "{%" in v


@functools.lru_cache(maxsize=1024)
def _compile_text(text: str):
    m = _WHOLE.match(text)
    if m and "{{" not in m.group(1) and "}}" not in m.group(1):
        return "expr", env().compile_expression(m.group(1), undefined_to_none=False)
    return "text", env().from_string(text)


def _compile(where: str, text: str):
    from jinja2 import TemplateSyntaxError

    if len(text) > MAX_TEMPLATE_LEN:
        raise invalid_input(["reference_config", where],
                            f"template at {where} is longer than {MAX_TEMPLATE_LEN} characters",
                            "string_too_long")
    if "{%" in text:
        raise ValidationError(f"template at {where} uses a statement; only {{{{ expressions }}}} are allowed",
                              field_errors(field_error(["reference_config", where],
                                                       "statements not allowed", "template")))
    try:
        return _compile_text(text)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"template at {where} does not compile: {exc.message}",
                              field_errors(field_error(["reference_config", where], exc.message or str(exc),
                                                       "template"))) from None


def _walk(value: Any, where: str, fn):
    if isinstance(value, str):
        return fn(where, value) if _is_template(value) else value
    if isinstance(value, dict):
        return {k: _walk(v, f"{where}.{k}", fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{where}[{i}]", fn) for i, v in enumerate(value)]
    return value


def validate_config(config: dict | None) -> None:
    """Refuse unknown targets and templates that do not compile (on save)."""
    mapping, _defaults = mapping_of(config)
    problems = []
    for key, value in mapping.items():
        head = key.split(".", 1)[0]
        if head in TARGETS and "." in key and key.split(".", 1)[1]:
            pass
        elif key == "body" or key.startswith("body.") or key in ("content_type", "timeout_ms"):
            pass
        else:
            problems.append(field_error(["reference_config", key],
                                        "expected path.<name>, query.<name>, headers.<name>, "
                                        "cookies.<name>, body, body.<field>, content_type or timeout_ms", "target"))
            continue
        _walk(value, key, lambda where, text: _compile(where, text))
    if problems:
        raise ValidationError(f"reference_config: {problems[0]['msg']} (at {problems[0]['loc'][1]})",
                              field_errors(problems))


def render(config: dict | None, inp: dict | None, reference: dict) -> tuple[InvokeInput, int | None]:
    """The invoke input a reference's mapping produces for `inp`."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError, UndefinedError

    mapping, defaults = mapping_of(config)
    context = {"input": {**defaults, **(inp or {})}, "reference": reference}

    def run(where: str, text: str):
        kind, compiled = _compile(where, text)
        from jinja2 import Undefined

        try:
            value = compiled(**context) if kind == "expr" else compiled.render(**context)
            if isinstance(value, Undefined):
                str(value)  # StrictUndefined: raises UndefinedError naming what is missing
            return _no_functions(value)
        except SecurityError as exc:
            raise ValidationError(f"template at {where} is not allowed: {exc}",
                                  field_errors(field_error(["reference_config", where], str(exc), "sandbox"))) from None
        except UndefinedError as exc:
            raise ValidationError(f"template at {where}: {exc.message}",
                                  field_errors(field_error(["reference_config", where],
                                                           exc.message or str(exc), "undefined"))) from None
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValidationError(f"template at {where} failed: {exc}",
                                  field_errors(field_error(["reference_config", where],
                                                           str(exc), "template"))) from None

    out = InvokeInput()
    timeout_ms = None
    for key, value in mapping.items():
        rendered = _walk(value, key, run)
        head, _, rest = key.partition(".")
        if head == "path":
            out.path_params[rest] = rendered
        elif head == "query":
            out.query[rest] = rendered
        elif head == "headers":
            out.headers[rest] = rendered
        elif head == "cookies":
            out.cookies[rest] = rendered
        elif key == "body":
            if isinstance(out.body, dict) and isinstance(rendered, dict):
                out.body = {**rendered, **out.body}
            else:
                out.body = rendered
        elif head == "body":
            if out.body is None:
                out.body = {}
            if not isinstance(out.body, dict):
                raise invalid_input(["reference_config", key], f"reference_config: {key} needs an object body",
                                    "dict_type")
            node = out.body
            parts = rest.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    raise invalid_input(["reference_config", key],
                                        f"reference_config: {key} crosses a non-object value",
                                        "dict_type")
            node[parts[-1]] = rendered
        elif key == "content_type":
            out.content_type = str(rendered)
        elif key == "timeout_ms":
            try:
                timeout_ms = int(rendered)
            except (TypeError, ValueError):
                raise invalid_input(["reference_config", "timeout_ms"],
                                    "reference_config.timeout_ms must be an integer",
                                    "int_parsing") from None
    return out, timeout_ms
