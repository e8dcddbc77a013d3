"""`ApiBlueprint`: a Chalice Blueprint whose routes declare their role, body
and query models, so that auth, parsing and the envelope happen in one way
everywhere, and the OpenAPI description is generated from the same facts.

    bp = ApiBlueprint(__name__, tag="keys")
    models = LazyModels("chalicelib.keys.models")     # see LazyModels for the TYPE_CHECKING form

    @bp.api("/api/keys", "POST", role="admin", body=models.CreateKey, status=201)
    def create_key(ctx: Ctx):
        ...
        return data                       # -> success envelope
        # or Reply(data, message=..., status=...) / a chalice Response (raw)

`role=None` makes a route public. Views raise typed errors
(chalicelib.errors); anything else becomes a 500 SYSTEM_ERROR.

`body=`/`query=` take a pydantic model class or a reference
"package.module:ClassName" (what a `LazyModels` attribute is) resolved and
cached on first use, so that `import app` loads no pydantic and no models
(Lambda cold start). This module imports pydantic only inside the functions
that validate (chalicelib.validation).
"""
from __future__ import annotations

import importlib
import logging
import re
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Union
from urllib.parse import parse_qs

from chalice import Blueprint, Response
from chalice.app import MultiDict

from chalicelib import spans
from chalicelib.errors import (
    AppError,
    AuthError,
    PayloadTooLarge,
    SystemError_,
    ValidationError,
    field_error,
    field_errors,
)
from chalicelib.keys import quotas
from chalicelib.keys.principal import Principal
from chalicelib.web import envelope, versions
from chalicelib.web.auth import authenticate
from chalicelib.web.json_body import parse_json, refuse_nul

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger("stepflow")

JSON_TYPES = ["application/json"]

# A model class, or "package.module:ClassName" imported on first use.
ModelRef = Union["type[BaseModel]", str]

_RESOLVED: dict[str, type] = {}


class LazyModels:
    """A models module named without importing it (Lambda cold start).

    Routes write `body=models.CreateKey` with

        if TYPE_CHECKING:
            from chalicelib.keys import models
        else:
            models = LazyModels("chalicelib.keys.models")

    A type checker (and a rename) sees the real class; at run time the
    attribute is the reference "chalicelib.keys.models:CreateKey", imported
    on the first request that needs it. tests/test_cold_start.py resolves
    every reference.
    """

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return f"{self._module}:{name}"


def _check_ref(ref: ModelRef | None) -> None:
    if isinstance(ref, str):
        module, sep, name = ref.partition(":")
        if not (module and sep and name):
            raise ValueError(f"a model reference is 'package.module:ClassName', got {ref!r}")


@typing.overload
def resolve_model(ref: ModelRef) -> type[BaseModel]: ...
@typing.overload
def resolve_model(ref: None) -> None: ...


def resolve_model(ref: ModelRef | None) -> type[BaseModel] | None:
    """The model class of a route's `body=`/`query=` (imported once, then cached)."""
    if ref is None or not isinstance(ref, str):
        return ref
    model = _RESOLVED.get(ref)
    if model is None:
        module, _, name = ref.partition(":")
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        model = _RESOLVED[ref] = obj
    return model


@dataclass
class RouteMeta:
    path: str
    method: str
    role: str | None
    tag: str
    summary: str
    body_ref: ModelRef | None
    query_ref: ModelRef | None
    status: int
    content_types: list[str]
    raw_response: bool = False
    deprecated: str | None = None     # "since/sunset" (YYYY-MM-DD/YYYY-MM-DD) of a deprecated route
    path_types: dict = field(default_factory=dict)   # path parameter -> "uuid" | "int" | "string"
    errors: tuple = ()     # error statuses beyond those every route of its kind can answer (OpenAPI)
    export: str | None = None   # where an answer too large to send whole can be downloaded instead
    document_ref: ModelRef | None = None   # a body the view reads itself: this JSON model, or a raw document

    @property
    def document(self) -> type[BaseModel] | None:
        """The JSON model of a route whose body is this model or a raw document (description only)."""
        return resolve_model(self.document_ref)

    @property
    def path_params(self) -> dict[str, str]:
        """Each path parameter and its type: declared, else `uuid` for a name ending in `_id`, else `string`."""
        return {p: self.path_types.get(p) or ("uuid" if p.endswith("_id") else "string")
                for p in _PATH_PARAM.findall(self.path)}

    @property
    def paths(self) -> list[str]:
        """Where the route answers: its path and the same under every version prefix."""
        return [self.path] + versions.versioned_paths(self.path)

    @property
    def body(self) -> type[BaseModel] | None:
        """The body model class (a string reference is imported now)."""
        return resolve_model(self.body_ref)

    @property
    def query(self) -> type[BaseModel] | None:
        """The query-string model class (a string reference is imported now)."""
        return resolve_model(self.query_ref)


ROUTES: list[RouteMeta] = []
_DEPRECATED = re.compile(r"\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2}")   # since/sunset
_PATH_PARAM = re.compile(r"{([^}]+)}")
PATH_TYPES = ("uuid", "int", "string")


@dataclass
class Reply:
    data: Any = None
    message: str = "ok"
    status: int = 200
    headers: dict = field(default_factory=dict)


@dataclass
class Ctx:
    request: Any
    principal: Principal | None
    body: Any
    query: Any
    path_params: dict

    @property
    def headers(self) -> Any:
        return self.request.headers

    @property
    def caller(self) -> Principal:
        """The authenticated caller: every route declared with a role has one."""
        if self.principal is None:
            raise AuthError("this route needs an API key")
        return self.principal

    @property
    def client_ip(self) -> str | None:
        ident = (self.request.context or {}).get("identity") or {}
        return ident.get("sourceIp")


def validate_model(model: ModelRef, data: Any, where: str) -> BaseModel:
    """`data` checked against a route's model (a class or a string reference); see chalicelib.validation."""
    from chalicelib.validation import validate
    return validate(resolve_model(model), data, where)


def raw_body(request: Any) -> bytes:
    from chalicelib.settings import get_settings
    body = request.raw_body or b""
    limit = get_settings().max_sync_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(
            f"request body is {len(body)} bytes; the limit is {limit} bytes",
            {"size_bytes": len(body), "limit_bytes": limit})
    return body


def media_type(request: Any) -> str:
    return (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()


def parse_json_body(request: Any) -> Any:
    """A JSON or form request body (see parse_json); None when empty."""
    body = raw_body(request)
    if not body.strip():
        return None
    ctype = media_type(request)
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"the body is not UTF-8 text (invalid byte at offset {exc.start})",
                                  field_errors(field_error(["body"], "invalid UTF-8", "utf8"))) from None
        data = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text).items()}
        refuse_nul(data, "body")
        return data
    return parse_json(body)


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def parse_query(request: Any, ref: ModelRef) -> BaseModel:
    model = resolve_model(ref)
    params = request.query_params or MultiDict({})
    data: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        key = f.alias or name
        if key not in params:
            continue
        if _is_list(f.annotation):
            values: list[str] = []
            for v in params.getlist(key):
                values.extend(p for p in v.split(",") if p != "")
            data[key] = values
        else:
            data[key] = params.get(key)
    refuse_nul(data, "query")
    extra = sorted(set(params.keys()) - {f.alias or n for n, f in model.model_fields.items()})
    if extra and model.model_config.get("extra") == "forbid":
        raise ValidationError(f"unknown query parameter(s): {', '.join(extra)}",
                              field_errors(field_error(["query", e], "unknown parameter", "extra_forbidden")
                                           for e in extra))
    return validate_model(model, data, "query")


class ApiBlueprint(Blueprint):
    def __init__(self, import_name: str, tag: str):
        super().__init__(import_name)
        self.tag = tag

    def api(self, route_path: str, method: str = "GET", *, role: str | None, body: ModelRef | None = None,
            query: ModelRef | None = None, status: int = 200, summary: str = "",
            content_types: list[str] | None = None, raw_response: bool = False,
            deprecated: str | None = None, path: dict[str, str] | None = None,
            errors: tuple[int, ...] = (), export: str | None = None,
            document: ModelRef | None = None) -> Callable:
        """Declare a route. `role` None means public. `body`/`query`: a model class or
        "package.module:ClassName" (imported on the first request). `deprecated`:
        "since/sunset" (YYYY-MM-DD/YYYY-MM-DD, an ISO 8601 interval: the day the route was
        deprecated and the day it goes); answers then carry RFC 9745 `Deprecation: @<epoch>`
        and RFC 8594 `Sunset` headers. A malformed interval fails at declaration.
        `path`: the type of a path parameter when not the default (`uuid` for `*_id`,
        else `string`); a parameter not of its type is a 400 naming it before the view
        runs (and the OpenAPI description says so). `errors`: statuses the route answers
        beyond the ones every route of its kind can (e.g. 408, 409), for the description.
        `export`: the route (same path parameters) that serves this answer when it is too
        large for a synchronous answer (chalicelib.web.answer_size).
        `document`: for a route that reads its body itself (`body=None`), the JSON model it
        takes, the other form being a raw document in `content_types` (for the description).
        The route also answers under
        /api/v1/... (chalicelib.web.versions)."""
        method = method.upper()
        _check_ref(body)
        _check_ref(query)
        _check_ref(document)
        for name, kind in (path or {}).items():
            if kind not in PATH_TYPES or name not in _PATH_PARAM.findall(route_path):
                raise ValueError(f"path parameter {name!r} of {route_path}: type {kind!r} of {PATH_TYPES}")
        if deprecated is not None and not _DEPRECATED.fullmatch(deprecated):
            raise ValueError(f"deprecated of {route_path}: {deprecated!r} is not YYYY-MM-DD/YYYY-MM-DD (since/sunset)")
        if content_types:
            ctypes = content_types
        else:
            ctypes = JSON_TYPES + ["application/x-www-form-urlencoded"] if body else JSON_TYPES

        def decorator(fn: Callable) -> Callable:
            meta = RouteMeta(route_path, method, role, self.tag,
                             summary or (fn.__doc__ or "").strip().split("\n")[0],
                             body, query, status, ctypes, raw_response, deprecated, dict(path or {}),
                             tuple(errors), export, document)
            ROUTES.append(meta)
            bp = self

            def view(**path_params: Any) -> Response:
                request = bp.current_request
                ticket = None
                try:
                    principal = authenticate(request, role) if role else None
                    if principal is not None:
                        with spans.span("quota"):
                            ticket = quotas.admit(principal)
                    path_params = check_path_params(meta.path_params, path_params)
                    parsed_query = parse_query(request, query) if query is not None else None
                    parsed_body = None
                    if body is not None:
                        data = parse_json_body(request)
                        if data is None and not (request.raw_body or b"").strip():
                            data = {}   # no body at all; a JSON `null` is refused by the model
                        parsed_body = validate_model(body, data, "body")
                    result = fn(Ctx(request, principal, parsed_body, parsed_query, path_params), **path_params)
                except AppError:
                    raise
                except Exception as exc:
                    log.exception("unhandled error in %s %s request_id=%s", method, route_path,
                                  envelope.request_id())
                    raise SystemError_("internal error; quote the request_id when reporting it") from exc
                finally:
                    quotas.release(ticket)   # the request's concurrency slot, whatever the outcome
                if isinstance(result, Response):
                    response = result
                elif isinstance(result, Reply):
                    response = envelope.success(result.data, result.message, result.status, result.headers)
                else:
                    response = envelope.success(result, "ok", status)
                if ticket is not None:
                    response.headers.update(ticket.headers())
                return response

            view.__name__ = fn.__name__
            view.__doc__ = fn.__doc__
            for i, p in enumerate(meta.paths):
                # Chalice names routes by function: each path needs its own view object.
                v = view if i == 0 else _alias(view, p)
                self.route(p, methods=[method], content_types=ctypes)(v)
            return fn

        return decorator


def _alias(view: Callable, path: str) -> Callable:
    def alias(**path_params: Any) -> Response:
        return view(**path_params)
    alias.__name__ = f"{view.__name__}__{path.strip('/').split('/')[1]}"
    alias.__doc__ = view.__doc__
    return alias


def page_of(items: list, total: int, limit: int, offset: int) -> dict:
    """DESIGN decision 11 list shape."""
    return {"items": items, "total": total, "has_more": offset + len(items) < total}


def __getattr__(name: str) -> Any:
    # PageQuery lives in chalicelib.web.models (pydantic); re-exported lazily.
    if name == "PageQuery":
        from chalicelib.web.models import PageQuery
        return PageQuery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_path_params(types: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """Path parameters checked against their declared types (RouteMeta.path_params), in canonical text."""
    out = dict(values)
    for name, kind in types.items():
        if name in out and kind == "uuid":
            out[name] = uuid_param(out[name], name)
        elif name in out and kind == "int":
            out[name] = str(int_param(out[name], name))
    return out


def int_param(value: str, name: str = "id") -> int:
    """A path parameter that must be a positive (64-bit) integer: 400 naming it otherwise."""
    from chalicelib.validation import INT64
    try:
        n = int(value)
        if not 1 <= n <= INT64:
            raise ValueError
        return n
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a positive integer, got {value!r}",
                              field_errors(field_error(["path", name], "Input should be a positive integer",
                                                       "int_parsing"))) from None


def uuid_param(value: str, name: str = "id") -> str:
    """A path parameter that must be a UUID: 400 naming it otherwise."""
    import uuid as _uuid
    try:
        return str(_uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationError(f"{name} must be a UUID, got {value!r}",
                              field_errors(field_error(["path", name],
                                                       "Input should be a valid UUID", "uuid_parsing"))) from None
