"""The one masker: what is secret, and what a secret looks like when shown.

Every place that shows or writes data that may hold a secret calls this
module: API answers (document auth configs, comparison configs, job
payloads), audit rows, call logs (URL, query, headers, bodies both ways),
comparison history and the server's access log (`mask_url`).

The rule for names (`is_secret_name`): the name is compared lower-cased with
every non-alphanumeric character removed ("X-Api-Key" -> "xapikey"); it is
secret when it is one of SECRET_NAMES or ends with one of SECRET_SUFFIXES
("db_password", "X-Api-Secret", "access_token", "Set-Cookie" ...). Names that
merely start with a secret word are not ("token_url", "token_type").

Positions that are secret whatever their name:
* an encrypted value (`{"_enc": ...}`);
* inside an upstream auth config (the value of a key "auth_config", or what
  `mask_auth_config` is given): its `value`, and every value under `headers`;
  given per security scheme (`{"schemes": {name: config}}`), each entry alike;
* the password of a URL's user-info (`scheme://user:password@host`).

A secret is shown as MASK, one string everywhere. On update, a value sent
back as MASK keeps the stored one (`merge`). `None` and "" stay as they are
(they say "no secret"), everything else under a secret name becomes MASK,
nested values included.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterable, Mapping
from urllib.parse import unquote_plus

from chalicelib.errors import ValidationError, field_error, field_errors

MASK = "********"
ENC_FIELD = "_enc"
SECRET_NAMES = frozenset({"pass", "pwd", "auth", "sessionid"})
SECRET_SUFFIXES = ("password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "privatekey",
                   "secretkey", "accesskey", "authorization", "cookie", "credential", "credentials")
# Inside an auth config these are secret although their names are generic.
AUTH_SECRET_FIELDS = frozenset({"value", "token", "password", "client_secret"})
AUTH_CONFIG_KEY = "authconfig"
# An auth config given per security scheme: {"schemes": {name: auth config}}; each entry follows the rule above.
AUTH_SCHEMES_KEY = "schemes"

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# scheme://user:password@  (the password part is group 2)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@?#]*:)([^@\s/?#]+)(@)", re.I)
# name=value inside a query string or a URL in free text
_QUERY_PAIR = re.compile(r"(^|[?&;])([^=&;#\s?]+)=([^&;#\s]*)")


_MEMO_NAME_CHARS = 64   # names up to this long are normalised once (a bounded memo): headers, fields


def normalise_name(name: Any) -> str:
    if type(name) is str and len(name) <= _MEMO_NAME_CHARS:
        return _normalised(name)
    return _NON_ALNUM.sub("", str(name).lower())


@functools.lru_cache(maxsize=4096)
def _normalised(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def is_secret_name(name: Any) -> bool:
    """The one rule deciding whether a field / header / parameter name holds a secret."""
    if type(name) is str and len(name) <= _MEMO_NAME_CHARS:
        return _secret_name(name)
    return _secret_normalised(normalise_name(name))


@functools.lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:
    return _secret_normalised(_normalised(name))


def _secret_normalised(n: str) -> bool:
    return bool(n) and (n in SECRET_NAMES or n.endswith(SECRET_SUFFIXES))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENC_FIELD}


def mask_value(value: Any) -> Any:
    """MASK for a present secret; None and "" stay (they say "no secret")."""
    if value is None or value == "":
        return value
    return MASK


def _mask_all(value: Any) -> Any:
    """Every leaf masked, the shape kept (a secret given as an object or list)."""
    if isinstance(value, dict) and not is_sealed(value):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    return mask_value(value)


def mask(obj: Any, names: Iterable[str] = ()) -> Any:
    """A copy of a JSON value with every secret masked (see the module rule).
    `names` adds names that are secret here (compared case-insensitively)."""
    extra = frozenset(normalise_name(n) for n in names)
    return _mask(obj, extra)


def _mask(obj: Any, extra: frozenset) -> Any:
    if is_sealed(obj):
        return MASK
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            n = normalise_name(k)
            if n == AUTH_CONFIG_KEY:
                out[k] = mask_auth_config(v)
            elif is_secret_name(k) or n in extra:
                out[k] = _mask_all(v)
            else:
                out[k] = _mask(v, extra)
        return out
    if isinstance(obj, list):
        return [_mask(v, extra) for v in obj]
    if isinstance(obj, str):
        return mask_text(obj)
    return obj


def mask_auth_config(cfg: Any) -> Any:
    """An upstream auth config as it may be shown: its secret fields and every
    value under `headers` masked."""
    if not isinstance(cfg, dict):
        return _mask(cfg, frozenset())
    out = {}
    for k, v in cfg.items():
        if k == AUTH_SCHEMES_KEY and isinstance(v, dict):
            out[k] = {name: mask_auth_config(entry) for name, entry in v.items()}
        elif k in AUTH_SECRET_FIELDS or k == "headers" or is_secret_name(k):
            out[k] = _mask_all(v)
        else:
            out[k] = _mask(v, frozenset())
    return out


def secret_values(obj: Any, *, auth: bool = False) -> list[str]:
    """Every clear secret string inside obj (to scrub them from free text)."""
    found: list[str] = []

    def walk(value: Any, secret: bool, auth_ctx: bool) -> None:
        if is_sealed(value):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if normalise_name(k) == AUTH_CONFIG_KEY:
                    walk(v, secret, True)
                elif auth_ctx and k == AUTH_SCHEMES_KEY and isinstance(v, dict):
                    for entry in v.values():
                        walk(entry, secret, True)
                else:
                    walk(v, secret or is_secret_name(k) or (auth_ctx and (k in AUTH_SECRET_FIELDS or k == "headers")),
                         False)
        elif isinstance(value, list):
            for v in value:
                walk(v, secret, False)
        elif secret and isinstance(value, str) and value and value != MASK:
            found.append(value)

    walk(obj, False, auth)
    return found


def merge(new: Any, old: Any, kept: list | None = None, _path: tuple = ()) -> Any:
    """On update: a value sent back as MASK keeps the stored one (at the same
    place). `kept` collects the paths of the values kept that way."""
    if isinstance(new, dict):
        old_d = old if isinstance(old, dict) else {}
        out = {}
        for k, v in new.items():
            if v == MASK:
                if k not in old_d or old_d[k] in (None, ""):
                    loc = ".".join(str(p) for p in (*_path, k))
                    raise ValidationError(f"{loc} is the mask '{MASK}' but nothing is stored to keep",
                                          field_errors(field_error([*_path, k], "send the secret itself", "mask")))
                out[k] = old_d[k]
                if kept is not None:
                    kept.append((*_path, k))
            else:
                out[k] = merge(v, old_d.get(k), kept, (*_path, k))
        return out
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [merge(n, o, kept, (*_path, i)) for i, (n, o) in enumerate(zip(new, old, strict=True))]
    return new


# ------------------------------------------------------------------ text, URLs, headers


def scrub(text: str | None, values: Iterable[str] = ()) -> str | None:
    """`text` with every clear secret value (4 characters or more) replaced."""
    if not text:
        return text
    return _scrub_in_order(text, _scrub_order(values))


def _scrub_order(values: Iterable[str]) -> list[str]:
    """The values `scrub` replaces, longest first."""
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 4}, key=len, reverse=True)


def _scrub_in_order(text: str, ordered: list[str]) -> str:
    for v in ordered:
        if v in text:
            text = text.replace(v, MASK)
    return text


def _pair_repl(extra: frozenset):
    def repl(m: re.Match) -> str:
        name = unquote_plus(m.group(2))
        if is_secret_name(name) or normalise_name(name) in extra:
            return f"{m.group(1)}{m.group(2)}={MASK}" if m.group(3) else m.group(0)
        return m.group(0)
    return repl


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Free text (an error message, a log line) with URL passwords and secret
    query parameters of the URLs inside it masked."""
    if not text or ("=" not in text and "@" not in text):
        return text
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    if "=" in text and ("?" in text or "&" in text):
        extra = frozenset(normalise_name(n) for n in names)
        # only the query part of URLs: from a "?" to the next blank
        text = re.sub(r"\?[^\s#]*", lambda m: _QUERY_PAIR.sub(_pair_repl(extra), m.group(0)), text)
    return text


def mask_query(query: str, names: Iterable[str] = ()) -> str:
    """A raw query string (or form body) `a=1&token=x` with secret values masked."""
    extra = frozenset(normalise_name(n) for n in names)
    return _QUERY_PAIR.sub(_pair_repl(extra), query)


def mask_url(url: str, names: Iterable[str] = ()) -> str:
    """A URL (absolute or a path with its query) as it may be logged: the
    user-info password and every secret query parameter masked; `names` adds
    parameter names that are secret here. The server's access log calls it."""
    if not url:
        return url
    url = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), url)
    base, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hsep, fragment = rest.partition("#")
    return base + "?" + mask_query(query, names) + hsep + fragment


def mask_mapping(values: Mapping[str, Any] | None, names: Iterable[str] = ()) -> dict:
    """Query parameters / cookies / form fields by name: secret ones masked."""
    extra = frozenset(normalise_name(n) for n in names)
    return {k: (_mask_all(v) if is_secret_name(k) or normalise_name(k) in extra else _mask(v, frozenset()))
            for k, v in (values or {}).items()}


def mask_headers(headers: Mapping[str, Any] | None, names: Iterable[str] = (),
                 values: Iterable[str] = ()) -> dict:
    """Headers as they may be logged: secret-named ones (Authorization,
    Cookie, X-Api-Key ...) and `names` masked, clear `values` scrubbed."""
    extra = frozenset(normalise_name(n) for n in names)
    ordered = _scrub_order(values)   # once for every header (what scrub(..., values) does)

    def shown(v: Any) -> Any:  # a header sent several times is a list of its values
        if isinstance(v, list):
            return [shown(i) for i in v]
        text = mask_text(str(v))
        return _scrub_in_order(text, ordered) if text else text
    return {k: (MASK if is_secret_name(k) or normalise_name(k) in extra else shown(v))
            for k, v in (headers or {}).items()}
