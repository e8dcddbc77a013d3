"""The typed validators of a document's stored configurations: one model per
rule, used when the configuration is saved and when it is used.

    auth_config        DESIGN 13: apiKey (in header|query|cookie, name, value),
                       http bearer (token), http basic (username, password),
                       oauth2 client_credentials (token_url, client_id,
                       client_secret, scopes?, client_auth?, audience?), or
                       none; any may add "headers" {name: string} and
                       "forward_authorization": true.
    rate_limit_config  {requests >= 1, per_seconds (0, 86400], scope endpoint|document}
    timeout_config     {connect_ms, read_ms (> 0), retries 0..5, retry_backoff_ms,
                       retry_max_backoff_ms, retry_on [status codes]}
                       (connect_timeout_ms / read_timeout_ms / max_retries accepted)
    cache_config       (an endpoint's, not a document's) {cache_ttl_seconds 0..86400
                       (0: off), cache_max_entries 1..1000 (100), cache_max_body_bytes
                       1..1 MiB (256 KiB)}; `cache_for_save` checks the PATCH fields

`for_save(field, value)` is what the catalog's save routes call: the
normalised dict, or a 400 ValidationError whose details give each problem's
`loc` (["body", field, ...]). `for_use(field, value, document_id)` is what
the gateway calls on each invoke: the typed model, or a 409 Conflict naming
the field, for documents stored before the rule existed. Unknown fields,
strings where numbers belong, NaN and Infinity are refused.
`config_problems(row)` lists every problem of a stored document (the
`GET /api/documents?invalid_config=true` listing).

This module imports pydantic: it is loaded on first use (Lambda cold start).
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from chalicelib.errors import Conflict, ValidationError, field_error, field_errors
from chalicelib.gateway.limits import (
    MAX_CACHE_BODY_BYTES,
    MAX_CACHE_ENTRIES,
    MAX_CACHE_TTL_S,
    MAX_CONFIG_TIMEOUT_MS,
    MAX_RETRIES,
)
from chalicelib.models import StrictModel

FIELDS = ("auth_config", "rate_limit_config", "timeout_config")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_Text = Field(..., min_length=1, max_length=4096)


class _Auth(StrictModel):
    headers: dict[str, str] | None = None
    forward_authorization: bool = Field(False, strict=True)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, v in (value or {}).items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if "\r" in v or "\n" in v or "\x00" in v:
                raise ValueError(f"the value of header {name!r} contains a line break or NUL")
        return value


class NoAuth(_Auth):
    type: Literal["none"] = "none"


class ApiKeyAuth(_Auth):
    type: Literal["apiKey"]
    in_: Literal["header", "query", "cookie"] = Field(..., alias="in")
    name: str = Field(..., min_length=1, max_length=255)
    value: str = _Text


class BearerAuth(_Auth):
    type: Literal["http"]
    scheme: Literal["bearer"]
    token: str = _Text


class BasicAuth(_Auth):
    type: Literal["http"]
    scheme: Literal["basic"]
    username: str = Field(..., min_length=1, max_length=1024)
    password: str = _Text


class OAuth2Auth(_Auth):
    type: Literal["oauth2"]
    flow: Literal["client_credentials"] = "client_credentials"
    token_url: str = Field(..., min_length=8, max_length=2000, pattern=r"^https?://")
    client_id: str = Field(..., min_length=1, max_length=1024)
    client_secret: str = _Text
    scopes: list[str] | str | None = None
    client_auth: Literal["basic", "body"] = "basic"
    audience: str | None = Field(None, max_length=2000)


class SchemesAuth(_Auth):
    """One credential per security scheme name of the spec (entries checked one by one in `check`)."""

    type: Literal["schemes"] = "schemes"
    schemes: dict[str, Any] = Field(..., min_length=1, max_length=50)

    @field_validator("schemes")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not name or len(name) > 255:
                raise ValueError("a scheme name has 1 to 255 characters")
        return value


_AUTH_TYPES: dict[str, type[StrictModel]] = {"none": NoAuth, "apiKey": ApiKeyAuth, "oauth2": OAuth2Auth}
_HTTP_SCHEMES: dict[str, type[StrictModel]] = {"bearer": BearerAuth, "basic": BasicAuth}


class RateLimitConfig(StrictModel):
    requests: int = Field(..., ge=1, le=10_000_000, strict=True)
    per_seconds: float = Field(1.0, gt=0, le=86_400, strict=True, allow_inf_nan=False)
    scope: Literal["endpoint", "document"] = "endpoint"


def _ms(*names: str, default=None, low: float = 0, strict_gt: bool = True):
    return Field(default, le=MAX_CONFIG_TIMEOUT_MS, strict=True, allow_inf_nan=False,
                 validation_alias=AliasChoices(*names), gt=low if strict_gt else None,
                 ge=None if strict_gt else low)


class TimeoutConfig(StrictModel):
    connect_ms: float | None = _ms("connect_ms", "connect_timeout_ms")
    read_ms: float | None = _ms("read_ms", "read_timeout_ms")
    retries: int = Field(0, ge=0, le=MAX_RETRIES, strict=True, validation_alias=AliasChoices("retries", "max_retries"))
    retry_backoff_ms: float | None = _ms("retry_backoff_ms", strict_gt=False)
    retry_max_backoff_ms: float | None = _ms("retry_max_backoff_ms", strict_gt=False)
    retry_on: list[int] | None = Field(None, max_length=50)

    @field_validator("retry_on")
    @classmethod
    def _statuses(cls, value: list[int] | None) -> list[int] | None:
        for code in value or ():
            if isinstance(code, bool) or not 100 <= code <= 599:
                raise ValueError("retry_on holds HTTP status codes (100-599)")
        return value


class CacheConfig(StrictModel):
    cache_ttl_seconds: int = Field(..., ge=0, le=MAX_CACHE_TTL_S, strict=True)
    cache_max_entries: int = Field(100, ge=1, le=MAX_CACHE_ENTRIES, strict=True)
    cache_max_body_bytes: int = Field(256 * 1024, ge=1, le=MAX_CACHE_BODY_BYTES, strict=True)


CACHE_FIELDS = tuple(CacheConfig.model_fields)


# ------------------------------------------------------------------ checking


def _problem(loc: tuple, type_: str, msg: str) -> list[dict]:
    return [field_error(list(loc), msg, type_)]


def _pydantic_problems(exc: PydanticValidationError, loc: tuple) -> list[dict]:
    from chalicelib.validation import details
    return details(exc, loc)


def _auth_model(cfg: dict, loc: tuple) -> tuple[type[StrictModel] | None, dict, list[dict]]:
    kind = cfg.get("type", "none")
    if kind == "http":
        scheme = cfg.get("scheme")
        name = scheme.lower() if isinstance(scheme, str) else ""
        model = _HTTP_SCHEMES.get(name)
        if model is None:
            return None, cfg, _problem(loc + ("scheme",), "enum",
                                       f"HTTP scheme {scheme!r} is not supported: use bearer or basic")
        return model, {**cfg, "scheme": name}, []
    model = _AUTH_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        return None, cfg, _problem(loc + ("type",), "enum",
                                   f"auth type {kind!r} is not supported: use apiKey, http, oauth2 or none")
    if model is OAuth2Auth and cfg.get("flow", "client_credentials") != "client_credentials":
        return None, cfg, _problem(loc + ("flow",), "enum",
                                   f"OAuth2 flow {cfg.get('flow')!r} is not supported: only client_credentials")
    return model, cfg, []


def check(field: str, value: Any, loc: tuple = ()) -> tuple[Any, list[dict]]:
    """(typed model or None, problems) for one configuration; None/{} means unset."""
    loc = tuple(loc) + (field,)
    if value is None or (value == {} and field == "auth_config"):
        return None, []
    if not isinstance(value, dict):
        return None, _problem(loc, "dict_type", "must be an object")
    model: type[StrictModel]
    if field == "auth_config" and ("schemes" in value or value.get("type") == "schemes"):
        return _check_schemes(value, loc)
    if field == "auth_config":
        auth_model, value, found = _auth_model(value, loc)
        if auth_model is None:
            return None, found
        model = auth_model
    elif field == "rate_limit_config":
        model = RateLimitConfig
    elif field == "timeout_config":
        model = TimeoutConfig
    elif field == "cache_config":
        model = CacheConfig
    else:
        raise KeyError(field)
    try:
        return model.model_validate(value), []
    except PydanticValidationError as exc:
        return None, _pydantic_problems(exc, loc)


def _check_schemes(value: dict, loc: tuple) -> tuple[Any, list[dict]]:
    """The per-scheme auth_config: its top level, then each entry with the single-config rules."""
    try:
        model = SchemesAuth.model_validate(value)
    except PydanticValidationError as exc:
        return None, _pydantic_problems(exc, loc)
    problems: list[dict] = []
    typed: dict[str, Any] = {}
    for name, entry in model.schemes.items():
        where = loc + ("schemes", name)
        if not isinstance(entry, dict):
            problems.extend(_problem(where, "dict_type", "must be an object"))
            continue
        if entry.get("type", "none") in ("none", "schemes") or "schemes" in entry:
            problems.extend(_problem(where + ("type",), "enum",
                                     "a scheme's credential is apiKey, http or oauth2"))
            continue
        entry_model, entry, found = _auth_model(entry, where)
        if entry_model is None:
            problems.extend(found)
            continue
        try:
            typed[name] = entry_model.model_validate(entry)
        except PydanticValidationError as exc:
            problems.extend(_pydantic_problems(exc, where))
    if problems:
        return None, problems
    model.schemes = typed
    return model, []


def as_dict(model: Any) -> dict | None:
    """A validated configuration as the plain dict that is stored and applied."""
    if model is None:
        return None
    if isinstance(model, SchemesAuth):
        out = model.model_dump(by_alias=True, exclude_unset=True, exclude={"schemes"})
        out["type"] = "schemes"
        out["schemes"] = {name: as_dict(entry) for name, entry in model.schemes.items()}
        return out
    out = model.model_dump(by_alias=True, exclude_unset=True)
    if "type" in type(model).model_fields:
        out["type"] = model.type
    return out


def _describe(problems: list[dict]) -> str:
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"] if p != "body")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def for_save(field: str, value: Any, where: str = "body") -> dict | None:
    """The normalised configuration to store, or a 400 naming each problem's field."""
    model, problems = check(field, value, (where,) if where else ())
    if problems:
        raise ValidationError(f"invalid {field}: {_describe(problems)}", field_errors(problems))
    return as_dict(model)


def for_use(field: str, value: Any, document_id: Any = None) -> Any:
    """The typed configuration for a call, or a 409 when the stored one breaks the rule."""
    model, problems = check(field, value)
    if problems:
        raise Conflict(
            f"the document's {field} is invalid ({_describe(problems)}); fix it with PUT /api/documents/{document_id}",
            field_errors(problems, document_id=str(document_id) if document_id else None, config=field))
    return model


def cache_for_save(value: dict, method: str) -> dict | None:
    """An endpoint's cache settings (the PATCH fields `cache_*`, merged with
    the stored ones) normalised with their defaults; None when the TTL is 0
    (caching off). A 400 names the field, and refuses caching other methods
    than GET and HEAD."""
    model, problems = check("cache_config", value)
    for p in problems:
        p["loc"] = ["body"] + p["loc"][1:]
    if not problems and model.cache_ttl_seconds > 0 and method.upper() not in ("GET", "HEAD"):
        problems = _problem(("body", "cache_ttl_seconds"), "method",
                            f"only GET and HEAD answers are cached; this endpoint is {method.upper()}")
    if problems:
        raise ValidationError(f"invalid cache settings: {_describe(problems)}", field_errors(problems))
    return model.model_dump() if model.cache_ttl_seconds > 0 else None


def config_problems(auth_config: Any, rate_limit_config: Any, timeout_config: Any) -> list[dict]:
    """Every problem of a stored document's three configurations (auth_config already unsealed)."""
    found: list[dict] = []
    for field, value in zip(FIELDS, (auth_config, rate_limit_config, timeout_config), strict=True):
        found.extend(check(field, value)[1])
    return found


def invalid_documents(limit: int, offset: int, db=None) -> tuple[list[dict], int]:
    """Documents whose stored configurations break a rule (stored before it
    existed), newest first, each with `config_problems`; auth_config masked."""
    from chalicelib.catalog import service
    from chalicelib.secrets import get_box

    if db is None:
        from chalicelib.db import get_db
        db = get_db()
    rows = db.query("SELECT id, auth_config, rate_limit_config, timeout_config FROM api_documents "
                    "WHERE auth_config IS NOT NULL OR rate_limit_config IS NOT NULL OR timeout_config IS NOT NULL "
                    "ORDER BY created_at DESC, id")
    found: dict[str, list[dict]] = {}
    for r in rows:
        try:
            auth = get_box().unseal(r["auth_config"]) if r["auth_config"] is not None else None
        except Exception:  # noqa: BLE001 - sealed with a key no longer configured
            found[str(r["id"])] = _problem(("auth_config",), "unreadable", "cannot be decrypted with the current keys")
            continue
        problems = config_problems(auth, r["rate_limit_config"], r["timeout_config"])
        if problems:
            found[str(r["id"])] = problems
    ids = list(found)[offset:offset + limit]
    if not ids:
        return [], len(found)
    page = {str(r["id"]): r for r in db.query(
        f"SELECT {service.DOC_COLUMNS} FROM api_documents WHERE id = ANY(CAST(:ids AS uuid[]))", ids=ids)}
    items = []
    for i in ids:
        if i in page:
            out = service._document_out(page[i])
            out["config_problems"] = found[i]
            items.append(out)
    return items, len(found)
