"""The spec's servers as OpenAPI defines them: operation `servers` over
path-item `servers` over document `servers`.

    resolve_server(server, import_url, problems, ptr, values=None) -> absolute http(s) URL | relative | None
    document_servers(spec, import_url, problems, values=None) -> [{"url", "raw", "description"?}, ...]
    endpoint_servers(op, item, import_url, problems, ptr, values=None) -> [{"url", "description"?}] | None
    check_variables(spec, values) -> values, or a 400 naming the variable
    choose(servers, index=None, url=None) -> (index, url), or a 400 naming the field
    effective_base(endpoint_servers, document_base_url) -> the URL a call is sent to

Server variables take the document's `server_variables` value (`values`,
name -> value, checked by `check_variables`: a name some server of the spec
defines, a value in every enum that server gives), else their `default`; a
default outside the variable's `enum` is a warning (the default is still
used, as the spec says). A
relative server URL is resolved against the import URL; without one, an
endpoint's relative server is kept relative and resolved against the
document's base URL when called, a document's gives no default base URL.
Only http(s) servers are used (others are warnings). The outbound guard
checks every URL when it is called (chalicelib.net).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlparse

from chalicelib.catalog.problems import escape_token
from chalicelib.errors import ValidationError, field_error, field_errors

_VAR = re.compile(r"\{([^{}]*)\}")
MAX_SERVERS = 50


def _substitute(server: dict, problems: Any, ptr: str, values: dict | None = None) -> str | None:
    raw = server.get("url")
    if not isinstance(raw, str) or not raw.strip():
        return None
    given = server.get("variables")
    variables = given if isinstance(given, dict) else {}

    def sub(m: re.Match) -> str:
        var = variables.get(m.group(1))
        if values and m.group(1) in values and isinstance(var, dict):
            return str(values[m.group(1)])
        if isinstance(var, dict) and var.get("default") is not None:
            value = str(var["default"])
            enum = var.get("enum")
            if problems is not None and isinstance(enum, list) and enum and value not in [str(e) for e in enum]:
                problems.warn(f"{ptr}/variables/{escape_token(m.group(1))}",
                              f"server variable {m.group(1)!r}: default {value!r} is not in its enum")
            return value
        if problems is not None:
            problems.warn(f"{ptr}/url", f"server variable {m.group(1)!r} has no default")
        return m.group(0)

    return _VAR.sub(sub, raw.strip())


def resolve_server(server: Any, import_url: str | None, problems: Any, ptr: str,
                   keep_relative: bool = False, values: dict | None = None) -> str | None:
    """The URL of one server object: variables substituted, a relative URL
    resolved against `import_url` (or kept relative with `keep_relative`),
    without its trailing slash; None when it cannot be used."""
    if not isinstance(server, dict):
        return None
    url = _substitute(server, problems, ptr, values)
    if url is None or "{" in url:
        return None
    if not urlparse(url).scheme:
        if url.startswith("//"):
            url = "https:" + url
        elif import_url:
            url = urljoin(import_url, url)
        elif keep_relative:
            return url.rstrip("/") or "/"
        else:
            return None
    if urlparse(url).scheme not in ("http", "https"):
        if problems is not None:
            problems.warn(f"{ptr}/url", f"server URL {url!r} is not http(s)")
        return None
    return url.rstrip("/")


def document_servers(spec: dict, import_url: str | None, problems: Any = None,
                     values: dict | None = None) -> list[dict]:
    """The document-level servers, in order: {"url" (None: not usable), "raw", "description"?}."""
    servers = spec.get("servers")
    out: list[dict] = []
    if not isinstance(servers, list):
        return out
    for i, s in enumerate(servers[:MAX_SERVERS]):
        if not isinstance(s, dict):
            continue
        entry = {"url": resolve_server(s, import_url, problems, f"/servers/{i}", values=values), "raw": s.get("url")}
        if isinstance(s.get("description"), str):
            entry["description"] = s["description"]
        out.append(entry)
    return out


def endpoint_servers(op: dict, item: dict, import_url: str | None, problems: Any,
                     op_ptr: str, item_ptr: str, values: dict | None = None) -> list[dict] | None:
    """The operation's servers, else the path item's; None when neither has
    any (the document's server applies)."""
    for node, ptr in ((op, op_ptr), (item, item_ptr)):
        servers = node.get("servers") if isinstance(node, dict) else None
        if isinstance(servers, list) and servers:
            out = []
            for i, s in enumerate(servers[:MAX_SERVERS]):
                url = resolve_server(s, import_url, problems, f"{ptr}/servers/{i}", keep_relative=True,
                                     values=values)
                if url is not None:
                    entry = {"url": url}
                    if isinstance(s, dict) and isinstance(s.get("description"), str):
                        entry["description"] = s["description"]
                    out.append(entry)
            if out:
                return out
            if problems is not None:
                problems.warn(f"{ptr}/servers", "no usable server: the document's server applies")
    return None


def _server_objects(spec: dict):
    """Every server object of the spec: the document's, each path item's and operation's."""
    def listed(node):
        found = node.get("servers") if isinstance(node, dict) else None
        return [s for s in found[:MAX_SERVERS] if isinstance(s, dict)] if isinstance(found, list) else []

    yield from listed(spec)
    paths = spec.get("paths")
    for item in (paths.values() if isinstance(paths, dict) else ()):
        yield from listed(item)
        for op in (item.values() if isinstance(item, dict) else ()):
            yield from listed(op)


def check_variables(spec: dict, values: dict | None, where: tuple = ("body",)) -> dict | None:
    """The document's server variables, checked against the spec: each name is
    a variable some server defines, each value in the `enum` of every server
    that gives one; a 400 naming the variable otherwise (all problems at once)."""
    if not values:
        return None
    defined: dict[str, list] = {}
    for server in _server_objects(spec):
        variables = server.get("variables")
        for name, var in (variables.items() if isinstance(variables, dict) else ()):
            enum = var.get("enum") if isinstance(var, dict) else None
            defined.setdefault(str(name), []).append([str(e) for e in enum] if isinstance(enum, list) and enum
                                                     else None)
    problems, allowed = [], {}
    for name, value in values.items():
        loc = [*where, "server_variables", name]
        if name not in defined:
            problems.append(field_error(loc, "no server of the spec defines this variable", "unknown_variable"))
            continue
        for enum in defined[name]:
            if enum is not None and str(value) not in enum:
                allowed[name] = enum
                problems.append(field_error(loc, f"must be one of {', '.join(enum)}", "enum"))
                break
    if problems:
        names = ", ".join(repr(p["loc"][-1]) for p in problems)
        raise ValidationError(f"server_variables: {names} not usable with the spec's servers",
                              field_errors(problems, defined=sorted(defined), allowed=allowed))
    return values


def choose(servers: list[dict], index: int | None = None, url: str | None = None,
           field: str = "server_index") -> tuple[int, str]:
    """One of the spec's document servers, by position or by URL (as written
    or resolved); a 400 naming `field` when it is not in the list or cannot be used."""
    listed = [s.get("url") for s in servers]
    if url is not None:
        wanted = url.rstrip("/")
        for i, s in enumerate(servers):
            if wanted in (s.get("url"), (s.get("raw") or "").rstrip("/")):
                index = i
                break
        else:
            raise ValidationError(f"server_url {url!r} is not one of the spec's servers",
                                  field_errors(field_error(["body", "server_url"], "not one of the spec's servers",
                                                           "enum"), servers=listed))
    if index is None or not 0 <= index < len(servers):
        raise ValidationError(f"{field} must be between 0 and {len(servers) - 1}" if servers
                              else "the spec has no servers to choose from",
                              field_errors(field_error(["body", field], f"the spec has {len(servers)} servers",
                                                       "range"), servers=listed))
    chosen = servers[index].get("url")
    if not chosen:
        raise ValidationError(f"server {index} of the spec has no absolute http(s) URL; give base_url instead",
                              field_errors(field_error(["body", field], "not usable", "url"), servers=listed))
    return index, chosen


def effective_base(endpoint_servers: Any, document_base_url: str) -> str:
    """The base URL one endpoint is called at: its own first server (a relative
    one resolved against the document's base URL), else the document's."""
    if isinstance(endpoint_servers, list) and endpoint_servers and isinstance(endpoint_servers[0], dict):
        url = endpoint_servers[0].get("url")
        if isinstance(url, str) and url:
            if urlparse(url).scheme in ("http", "https"):
                return url
            return urljoin(document_base_url.rstrip("/") + "/", url).rstrip("/")
    return document_base_url
