"""OpenAPI 3 document -> one endpoint record per path and method.

Endpoints keep their schemas as written (with `$ref`s): nothing is
expanded or copied per endpoint, so a 3 MB spec with 300 operations
produces small rows. Every reference an endpoint relies on is still
checked (RefIndex.check), so a broken one fails the import with its
pointer; `refs.resolve_inline` expands on demand for the detail view.
Schemas that are not valid JSON Schema become warnings (catalog.schema_lint).
"""
from __future__ import annotations

from chalicelib.catalog.problems import Problems, escape_token
from chalicelib.catalog.refs import RefError, RefIndex, json_refs_all_resolve
from chalicelib.catalog.servers import endpoint_servers

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PATH_ITEM_FIELDS = frozenset(("$ref", "summary", "description", "servers", "parameters"))
MAX_PATH_LEN = 500
MAX_OPERATION_ID_LEN = 255
_BODY_KEEP = ("description", "required")
_MEDIA_KEEP = ("schema", "encoding")


def _ptr(*tokens) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def requires_auth(security) -> bool:
    """A security requirement list requires auth unless it is empty or one of
    its alternatives is the empty requirement `{}` (auth optional)."""
    if not isinstance(security, list) or not security:
        return False
    return all(isinstance(req, dict) and req for req in security)


class Extractor:
    def __init__(self, spec: dict, problems: Problems, max_depth: int = 500, import_url: str | None = None,
                 server_variables: dict | None = None):
        self.spec = spec
        self.server_variables = server_variables
        self.problems = problems
        self.import_url = import_url
        self.once = _Once(problems)  # warnings about shared parts (document security, path servers): once each
        comps = spec.get("components")
        schemes = comps.get("securitySchemes") if isinstance(comps, dict) else None
        self.schemes: dict = schemes if isinstance(schemes, dict) else {}
        self.refs = RefIndex(spec, max_depth=max_depth)
        self.skipped: list[dict] = []

    # a $ref'd object (parameter, request body, response, path item): resolved one level
    def _deref(self, node, ptr: str):
        if isinstance(node, dict) and "$ref" in node:
            try:
                target = self.refs.deref(node)
            except RefError as exc:
                self.problems.problem(ptr + "/$ref", exc.message)
                return None, ptr
            ref = node["$ref"]
            return target, (ref[1:] if ref.startswith("#") else ref)
        return node, ptr

    def run(self) -> list[dict]:
        spec, problems = self.spec, self.problems
        if "paths" not in spec:
            problems.problem("/paths", "the spec has no paths (nothing to import)")
            return []
        paths = spec["paths"]
        if not isinstance(paths, dict):
            problems.problem("/paths", f"paths must be a mapping, found {_kind(paths)}")
            return []
        if not paths:
            problems.problem("/paths", "paths is empty (nothing to import)")
            return []
        global_security = spec.get("security")
        endpoints: list[dict] = []
        seen_ids: dict[str, str] = {}
        for path, raw_item in paths.items():
            item_ptr = _ptr("paths", path)
            if not isinstance(path, str) or not path.startswith("/"):
                problems.warn(item_ptr, "a path should start with '/'")
            if len(str(path)) > MAX_PATH_LEN:
                problems.warn(item_ptr, f"path longer than {MAX_PATH_LEN} characters: skipped")
                self.skipped.append({"path": path, "method": None, "reason": "path too long"})
                continue
            item, item_src = self._deref(raw_item, item_ptr)
            if item is None:
                continue
            if not isinstance(item, dict):
                problems.problem(item_ptr, f"a path item must be a mapping, found {_kind(item)}")
                continue
            shared = self._parameters(item.get("parameters"), item_src + "/parameters")
            for key, op in item.items():
                method = key.lower() if isinstance(key, str) else key
                if method not in METHODS:
                    if key in PATH_ITEM_FIELDS or (isinstance(key, str) and key.startswith("x-")):
                        continue
                    self.skipped.append({"path": path, "method": str(key).upper(),
                                         "reason": "method not supported by the gateway"})
                    problems.warn(item_ptr + "/" + escape_token(key),
                                  f"{str(key).upper()} operations are not imported (skipped)")
                    continue
                op_ptr = item_src + "/" + escape_token(key)
                if key != method:
                    problems.warn(op_ptr, f"method {key!r} should be lower case")
                if not isinstance(op, dict):
                    problems.problem(op_ptr, f"an operation must be a mapping, found {_kind(op)}")
                    continue
                ep = self._endpoint(path, method, op, op_ptr, shared, global_security)
                if ep is not None:
                    ep["servers"] = endpoint_servers(op, item, self.import_url, self.once, op_ptr, item_src,
                                                    self.server_variables)
                if ep is None:
                    continue
                oid = ep["operation_id"]
                if oid is not None:
                    if oid in seen_ids:
                        problems.warn(op_ptr + "/operationId",
                                      f"operationId {oid!r} is also used by {seen_ids[oid]}")
                    else:
                        seen_ids[oid] = f"{method.upper()} {path}"
                endpoints.append(ep)
        return endpoints

    def _parameters(self, raw, ptr: str) -> dict:
        """-> {(name, in): parameter object}, refs resolved one level."""
        out: dict = {}
        if raw is None:
            return out
        if not isinstance(raw, list):
            self.problems.warn(ptr, f"parameters must be a list, found {_kind(raw)}: ignored")
            return out
        for i, p in enumerate(raw):
            p_ptr = f"{ptr}/{i}"
            param, src = self._deref(p, p_ptr)
            if param is None:
                continue
            if not isinstance(param, dict) or not isinstance(param.get("name"), str) \
                    or not isinstance(param.get("in"), str):
                self.problems.warn(p_ptr, "a parameter needs a name and an 'in': ignored")
                continue
            self.refs.check(param, src, self.problems)
            out[(param["name"], param["in"])] = param
        return out

    def _endpoint(self, path, method, op, op_ptr, shared, global_security):
        problems = self.problems
        params = dict(shared)
        params.update(self._parameters(op.get("parameters"), op_ptr + "/parameters"))

        body = None
        if "requestBody" in op:
            rb, rb_src = self._deref(op["requestBody"], op_ptr + "/requestBody")
            if isinstance(rb, dict):
                self.refs.check(rb, rb_src, problems)
                body = {k: rb[k] for k in _BODY_KEEP if k in rb}
                content = rb.get("content")
                if isinstance(content, dict):
                    body["content"] = {mt: ({k: m[k] for k in _MEDIA_KEEP if k in m} if isinstance(m, dict) else m)
                                       for mt, m in content.items()}
            elif rb is not None:
                problems.warn(op_ptr + "/requestBody", f"requestBody must be a mapping, found {_kind(rb)}")

        responses: dict = {}
        raw_responses = op.get("responses")
        if isinstance(raw_responses, dict):
            for status, raw in raw_responses.items():
                r_ptr = op_ptr + "/responses/" + escape_token(status)
                resp, r_src = self._deref(raw, r_ptr)
                if resp is None:
                    continue
                if not isinstance(resp, dict):
                    problems.warn(r_ptr, f"a response must be a mapping, found {_kind(resp)}")
                    continue
                self.refs.check(resp, r_src, problems)
                entry: dict = {"description": resp.get("description")}
                content = resp.get("content")
                if isinstance(content, dict):
                    entry["content"] = {mt: (m.get("schema") if isinstance(m, dict) else None)
                                        for mt, m in content.items()}
                responses[str(status)] = entry
        elif raw_responses is None:
            problems.warn(op_ptr, "operation has no responses")
        else:
            problems.warn(op_ptr + "/responses", f"responses must be a mapping, found {_kind(raw_responses)}")

        security = op["security"] if "security" in op else global_security
        oid = op.get("operationId")
        if oid is not None and not isinstance(oid, str):
            problems.warn(op_ptr + "/operationId", "operationId must be a string")
            oid = str(oid)
        if oid is not None and len(oid) > MAX_OPERATION_ID_LEN:
            problems.warn(op_ptr + "/operationId", f"operationId longer than {MAX_OPERATION_ID_LEN}: truncated")
            oid = oid[:MAX_OPERATION_ID_LEN]
        tags = op.get("tags")
        deprecated = op.get("deprecated") is True
        return {
            "path": path,
            "method": method.upper(),
            "operation_id": oid,
            "summary": _text(op.get("summary")),
            "description": _text(op.get("description")),
            "tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
            "parameters": list(params.values()),
            "request_body_schema": body,
            "response_schemas": responses,
            "auth_required": requires_auth(security),
            "security": security if isinstance(security, list) else None,
            "security_schemes": self._schemes_named(security, op_ptr + "/security" if "security" in op
                                                    else "/security"),
            "is_deprecated": deprecated,
            "status": "deprecated" if deprecated else "active",
            "pointer": op_ptr,
        }


    def _schemes_named(self, security, ptr: str) -> dict:
        """{name: scheme object ($ref resolved)} of every scheme `security` names;
        a name the components do not define is a warning (and stays unknown)."""
        out: dict = {}
        if not isinstance(security, list):
            return out
        for i, req in enumerate(security):
            if not isinstance(req, dict):
                self.once.warn(f"{ptr}/{i}", "a security requirement must be a mapping: ignored")
                continue
            for name in req:
                if name in out:
                    continue
                scheme, _src = self._deref(self.schemes.get(name), f"/components/securitySchemes/{escape_token(name)}")
                if isinstance(scheme, dict):
                    out[name] = {k: scheme[k] for k in ("type", "in", "name", "scheme", "bearerFormat", "flows",
                                                        "openIdConnectUrl") if k in scheme}
                else:
                    self.once.warn(f"{ptr}/{i}/{escape_token(name)}",
                                   f"security scheme {name!r} is not defined in components.securitySchemes")
        return out


class _Once:
    """Forwards each distinct warning to `problems` once."""

    def __init__(self, problems: Problems):
        self.problems = problems
        self.seen: set[tuple[str, str]] = set()

    def warn(self, ptr: str, message: str) -> None:
        if (ptr, message) not in self.seen:
            self.seen.add((ptr, message))
            self.problems.warn(ptr, message)


def _text(value):
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _kind(value) -> str:
    if value is None:
        return "null"
    kinds: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
    return kinds.get(type(value), type(value).__name__)


def extract_endpoints(spec: dict, problems: Problems, max_depth: int = 500,
                      json_text: str | None = None, import_url: str | None = None,
                      server_variables: dict | None = None) -> tuple[list[dict], list[dict]]:
    """-> (endpoints, skipped operations). Problems/warnings go to `problems`.

    `json_text`: the JSON the spec was parsed from (unconverted), enabling
    the fast reference check."""
    from chalicelib.catalog.schema_lint import lint

    ex = Extractor(spec, problems, max_depth=max_depth, import_url=import_url, server_variables=server_variables)
    if json_text is not None:
        ex.refs.prevalidated = json_refs_all_resolve(json_text, ex.refs)
    endpoints = ex.run()
    lint(spec, endpoints, problems)  # schemas the gateway cannot check: stored import warnings
    return endpoints, ex.skipped
