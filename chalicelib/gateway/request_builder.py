"""From an invoke input to an HTTP request: check, then serialise.

`build_request(endpoint, base_url, inp)` validates path/query/header/cookie
parameters and the body against the endpoint's OpenAPI description, collecting
every problem (400 VALIDATION_ERROR, nothing sent), then builds:

* the URL: base URL + path, each path parameter serialised (style simple /
  label / matrix) and percent-encoded so that no value can add a segment
  (`/`, `?`, `#` are encoded; a value of `.` or `..` becomes `%2E` / `%2E%2E`);
* the query string following style/explode (form, spaceDelimited,
  pipeDelimited, deepObject), `allowReserved`, and `content`-encoded params;
* headers (simple style) and cookies (form style);
* the body for JSON, form-urlencoded, multipart/form-data (binary fields as
  files, see chalicelib.gateway.multipart), text or bytes.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from chalicelib.errors import ValidationError, field_error, field_errors
from chalicelib.gateway import multipart, schemas

# Headers a caller may not set: they belong to the connection or the gateway.
HOP_HEADERS = frozenset({
    "host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade",
    "te", "trailer", "proxy-authorization", "proxy-connection", "expect",
})
LOCATIONS = ("path", "query", "header", "cookie")
INPUT_FIELD = {"path": "path_params", "query": "query", "header": "headers", "cookie": "cookies"}
_UNRESERVED = "-._~"
_RESERVED = ":/?#[]@!$&'()*+,;="


@dataclass
class InvokeInput:
    path_params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    body: Any = None
    content_type: str | None = None


@dataclass
class BuiltRequest:
    method: str
    base_url: str
    path: str  # the expanded, percent-encoded path
    query: list[str]  # encoded `k=v` pieces, in order
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes | None
    content_type: str | None

    @property
    def url(self) -> str:
        url = self.base_url.rstrip("/") + (self.path if self.path.startswith("/") else "/" + self.path)
        if self.query:
            url += ("&" if "?" in url else "?") + "&".join(self.query)
        return url


def _scalar_text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e16 else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return str(v)


def _pct(text: str, allow_reserved: bool = False) -> str:
    return quote(text, safe=_UNRESERVED + (_RESERVED if allow_reserved else ""))


def _path_segment(text: str) -> str:
    encoded = quote(text, safe=_UNRESERVED)
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    return encoded


def serialize_path(name: str, value: Any, style: str = "simple", explode: bool = False) -> str:
    """One path parameter, already percent-encoded."""
    enc = _path_segment
    if isinstance(value, list):
        items = [enc(_scalar_text(v)) for v in value]
        if style == "label":
            return "." + ("." if explode else ",").join(items)
        if style == "matrix":
            if explode:
                return "".join(f";{enc(name)}={i}" for i in items)
            return f";{enc(name)}=" + ",".join(items)
        return ",".join(items)
    if isinstance(value, dict):
        if explode:
            pairs = [f"{enc(k)}={enc(_scalar_text(v))}" for k, v in value.items()]
        else:
            pairs = [f"{enc(k)},{enc(_scalar_text(v))}" for k, v in value.items()]
        if style == "label":
            return "." + ("." if explode else ",").join(pairs)
        if style == "matrix":
            if explode:
                return "".join(f";{p}" for p in pairs)
            return f";{enc(name)}=" + ",".join(pairs)
        return ",".join(pairs)
    text = enc(_scalar_text(value))
    if style == "label":
        return "." + text
    if style == "matrix":
        return f";{enc(name)}" + (f"={text}" if text != "" else "")
    return text


def serialize_query(name: str, value: Any, style: str = "form", explode: bool = True,
                    allow_reserved: bool = False) -> list[str]:
    """One query parameter as encoded `k=v` pieces."""
    def e(text: str) -> str:
        return _pct(text, allow_reserved)

    key = _pct(name)
    if value is None:
        return []
    if isinstance(value, list):
        texts = [_scalar_text(v) for v in value]
        if style == "spaceDelimited" and not explode:
            return [f"{key}=" + "%20".join(e(t) for t in texts)]
        if style == "pipeDelimited" and not explode:
            return [f"{key}=" + ("|" if allow_reserved else "%7C").join(e(t) for t in texts)]
        if explode:
            return [f"{key}={e(t)}" for t in texts]
        return [f"{key}=" + ",".join(e(t) for t in texts)]
    if isinstance(value, dict):
        if style == "deepObject":
            out: list[str] = []
            for k, v in value.items():
                if isinstance(v, list):
                    out.extend(f"{key}%5B{_pct(str(k))}%5D={e(_scalar_text(i))}" for i in v)
                else:
                    out.append(f"{key}%5B{_pct(str(k))}%5D={e(_scalar_text(v))}")
            return out
        if explode:
            return [f"{_pct(str(k))}={e(_scalar_text(v))}" for k, v in value.items() if v is not None]
        return [f"{key}=" + ",".join(f"{e(str(k))},{e(_scalar_text(v))}" for k, v in value.items())]
    return [f"{key}={e(_scalar_text(value))}"]


def serialize_header(value: Any, explode: bool = False) -> str:
    if isinstance(value, list):
        return ",".join(_scalar_text(v) for v in value)
    if isinstance(value, dict):
        sep = "=" if explode else ","
        return ",".join(f"{k}{sep}{_scalar_text(v)}" for k, v in value.items())
    return _scalar_text(value)


def _param_schema(param: dict) -> tuple[dict | None, str | None]:
    """(schema, content media type) of a parameter."""
    if isinstance(param.get("schema"), dict):
        return param["schema"], None
    content = param.get("content")
    if isinstance(content, dict) and content:
        media, obj = next(iter(content.items()))
        return (obj or {}).get("schema") or {}, media
    return {}, None


def request_body_media(request_body: Any) -> tuple[bool, dict[str, dict]]:
    """(required, {media type: schema}) of an endpoint's request body
    description: an OpenAPI requestBody object or a bare schema (JSON)."""
    if not isinstance(request_body, dict) or not request_body:
        return False, {}
    if isinstance(request_body.get("content"), dict):
        return bool(request_body.get("required")), {
            m: (o or {}).get("schema") or {} for m, o in request_body["content"].items()
        }
    if "schema" in request_body and isinstance(request_body["schema"], dict):
        media = request_body.get("media_type") or request_body.get("content_type") or "application/json"
        return bool(request_body.get("required")), {media: request_body["schema"]}
    return False, {"application/json": request_body}


def _choose_media(declared: dict[str, dict], wanted: str | None) -> tuple[str | None, dict | None]:
    """(media type, its schema); schema None when `wanted` is not declared."""
    if wanted:
        base = wanted.split(";")[0].strip().lower()
        for media, schema in declared.items():
            m = media.lower()
            if m == base or m == "*/*" or (m.endswith("/*") and base.startswith(m[:-1])):
                return wanted, schema
        return wanted, {} if not declared else None  # None: not declared
    for media, schema in declared.items():
        if "json" in media.lower():
            return media, schema
    if declared:
        media, schema = next(iter(declared.items()))
        return media, schema
    return None, {}


def encode_body(body: Any, media: str | None, files: dict | None = None) -> tuple[bytes | None, str | None]:
    if body is None:
        return None, None
    base = (media or "application/json").split(";")[0].strip().lower()
    if base == "application/json" or base.endswith("+json"):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), media or "application/json"
    if base == "application/x-www-form-urlencoded":
        if isinstance(body, str):
            return body.encode("utf-8"), media
        if not isinstance(body, dict):
            raise ValidationError("a form-urlencoded body must be an object",
                                  field_errors(field_error(["body"], "expected an object", "type")))
        pieces = []
        for k, v in body.items():
            pieces.extend(serialize_query(str(k), v, "form", True))
        return "&".join(pieces).encode("ascii"), media
    if base == "multipart/form-data":
        if not isinstance(body, dict):
            raise ValidationError("a multipart body must be an object",
                                  field_errors(field_error(["body"], "expected an object", "type")))
        return multipart.encode(body, files or {}, _scalar_text)
    if isinstance(body, str):
        if base.startswith("text/") or base.endswith("xml") or "charset" in (media or ""):
            return body.encode("utf-8"), media
        # binary media: the caller sends base64 in a JSON field
        try:
            return base64.b64decode(body, validate=True), media
        except ValueError:
            return body.encode("utf-8"), media
    if isinstance(body, (dict, list)):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), media
    return _scalar_text(body).encode("utf-8"), media


Checker = Callable[[tuple, Any, Any, list], list]


def _default_check(key: tuple, schema: Any, value: Any, loc: list) -> list:
    return schemas.problems(schema, value, loc)


def build_request(method: str, path: str, parameters: Any, request_body: Any, base_url: str,
                  inp: InvokeInput, check: Checker | None = None,
                  resolve: Callable[[Any], Any] | None = None) -> BuiltRequest:
    """Validate `inp` against the endpoint and build the request (no auth yet).

    `check(key, schema, value, loc)` returns validation problems (the gateway
    passes one with cached validators and the document's components; `key`
    names the schema: ("param", in, name) or ("body", media type));
    `resolve(schema)` follows a top-level `$ref` (used to coerce text)."""
    check = check or _default_check
    problems: list[dict] = []
    params = [p for p in (parameters or []) if isinstance(p, dict) and p.get("in") in LOCATIONS and p.get("name")]
    declared = {(p["in"], p["name"] if p["in"] != "header" else p["name"].lower()): p for p in params}
    given = {
        "path": dict(inp.path_params or {}),
        "query": dict(inp.query or {}),
        "header": {str(k): v for k, v in (inp.headers or {}).items()},
        "cookie": dict(inp.cookies or {}),
    }
    lower_headers = {k.lower(): k for k in given["header"]}

    values: dict[str, dict[str, Any]] = {loc: {} for loc in LOCATIONS}
    for (loc, name), p in declared.items():
        src = given[loc]
        key = lower_headers.get(name) if loc == "header" else name
        present = key is not None and key in src
        schema, media = _param_schema(p)
        where = [INPUT_FIELD[loc], p["name"]]
        if not present:
            if p.get("required") or loc == "path":
                problems.append(field_error(where, f"missing required {loc} parameter", "required"))
            continue
        value = src[key]
        if media is None:
            value = schemas.coerce_scalar(resolve(schema) if resolve else schema, value)
        problems.extend(check(("param", loc, p["name"]), schema, value, where))
        values[loc][p["name"]] = value

    # Path parameters the path does not declare are an error; other locations
    # pass undeclared values through (APIs often accept undocumented ones).
    placeholders = _placeholders(path)
    for name, value in given["path"].items():
        if ("path", name) not in declared:
            if name in placeholders:
                values["path"][name] = value
            else:
                problems.append(field_error(["path_params", name], "the path has no such parameter", "unknown"))
    for name in placeholders:
        if ("path", name) not in declared and name not in given["path"]:
            problems.append(field_error(["path_params", name], "missing required path parameter", "required"))
    for name, value in given["query"].items():
        if ("query", name) not in declared:
            values["query"][name] = value
    for name, value in given["cookie"].items():
        if ("cookie", name) not in declared:
            values["cookie"][name] = value
    for name, value in given["header"].items():
        if ("header", name.lower()) not in declared:
            values["header"][name] = value
    for name in list(values["header"]):
        if name.lower() in HOP_HEADERS:
            problems.append(field_error(["headers", name], "this header is set by the gateway", "forbidden"))

    body_required, media_map = request_body_media(request_body)
    media, body_schema = _choose_media(media_map, inp.content_type)
    body = inp.body
    if isinstance(body, str) and (media or "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        # A form body given as `a=1&b=2` text is the same body as the object {"a": "1", "b": "2"}.
        from urllib.parse import parse_qs
        body = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(body, keep_blank_values=True).items()}
    files: dict = {}
    checked_body = body
    if isinstance(body, dict) and body_schema and (media or "").split(";")[0].strip().lower() == "multipart/form-data":
        checked_body, files, found = multipart.prepare(body, body_schema, request_body, media, resolve)
        problems.extend(found)
    if body is None:
        if body_required:
            problems.append(field_error(["body"], "the request body is required", "required"))
    elif body_schema is None:
        problems.append(field_error(["content_type"], f"the endpoint does not accept {inp.content_type}; "
                                    f"it accepts {', '.join(media_map)}", "enum"))
    elif body_schema:
        problems.extend(check(("body", media), body_schema, checked_body, ["body"]))

    if problems:
        raise ValidationError(_summary(problems), field_errors(problems))

    # ---- serialise
    out_path = path
    for name, value in values["path"].items():
        p = declared.get(("path", name), {})
        seg = serialize_path(name, value, p.get("style", "simple"), bool(p.get("explode", False)))
        out_path = out_path.replace("{" + name + "}", seg)
    encoded: list[str] = []
    for name, value in values["query"].items():
        p = declared.get(("query", name), {})
        _schema, pmedia = _param_schema(p)
        if pmedia is not None:
            encoded.append(f"{_pct(name)}={_pct(json.dumps(value, separators=(',', ':')))}")
            continue
        style = p.get("style", "form")
        explode = p.get("explode", style == "form")
        encoded.extend(serialize_query(name, value, style, bool(explode), bool(p.get("allowReserved"))))
    headers: dict[str, str] = {}
    for name, value in values["header"].items():
        p = declared.get(("header", name.lower()), {})
        _schema, pmedia = _param_schema(p)
        text = json.dumps(value, separators=(",", ":")) if pmedia else serialize_header(value, bool(p.get("explode")))
        if "\r" in text or "\n" in text:
            raise ValidationError(f"header {name} contains a line break",
                                  field_errors(field_error(["headers", name], "line breaks are not allowed", "format")))
        headers[name] = text
    cookies = {name: serialize_header(value) for name, value in values["cookie"].items()}

    body_bytes, body_ctype = encode_body(body, media, files)
    if body_ctype:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = body_ctype

    return BuiltRequest(method.upper(), base_url, out_path, encoded, headers, cookies, body_bytes, body_ctype)


def _placeholders(path: str) -> list[str]:
    out: list[str] = []
    i = 0
    while True:
        start = path.find("{", i)
        if start < 0:
            return out
        end = path.find("}", start)
        if end < 0:
            return out
        out.append(path[start + 1:end])
        i = end + 1


def _summary(problems: list[dict]) -> str:
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid invoke input: {where}: {first['msg']}{more}"
