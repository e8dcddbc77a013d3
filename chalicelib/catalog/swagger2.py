"""Swagger 2.0 -> OpenAPI 3.0 conversion (in place where it can be).

The parsed document is ours (fresh from the loader), so schemas are reused,
not copied: only the structural parts (parameters, responses, operations)
are rebuilt, and every `$ref` string is rewritten in one walk.

- host/basePath/schemes -> servers (no host: a relative server URL, which
  the caller resolves against the import URL);
- body parameters -> requestBody (one media type per `consumes` entry);
  formData parameters -> requestBody with an object schema
  (multipart/form-data when a file is uploaded or consumes says so,
  application/x-www-form-urlencoded otherwise);
- other parameters: type/format/items/enum/... move into `schema`,
  collectionFormat becomes style/explode;
- responses: schema/examples -> content per `produces`, headers -> schema;
- definitions/parameters/responses -> components.schemas/parameters/
  responses (global body parameters -> components.requestBodies);
- securityDefinitions -> components.securitySchemes;
- schema fixes: type file -> string/binary, x-nullable -> nullable,
  discriminator string -> {propertyName}.
"""
from __future__ import annotations

from chalicelib.catalog.problems import pointer
from chalicelib.catalog.refs import DATA_KEYS, NAME_MAP_KEYS, unescape_token

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_PARAM_SCHEMA_KEYS = ("type", "format", "items", "collectionFormat", "default", "maximum", "exclusiveMaximum",
                      "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
                      "minItems", "uniqueItems", "enum", "multipleOf")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_REF_PREFIXES = (
    ("#/definitions/", "#/components/schemas/"),
    ("#/responses/", "#/components/responses/"),
)
_OAUTH_FLOWS = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
                "accessCode": "authorizationCode"}


class _Converter:
    def __init__(self, doc: dict, import_scheme: str | None):
        self.doc = doc
        self.import_scheme = import_scheme
        self.warnings: list[dict] = []
        self.global_consumes = _str_list(doc.get("consumes")) or ["application/json"]
        self.global_produces = _str_list(doc.get("produces")) or ["application/json"]
        raw_params = doc.get("parameters")
        self.global_params = raw_params if isinstance(raw_params, dict) else {}
        # names of global parameters that are body / formData (they become request bodies)
        self.body_params = {k for k, p in self.global_params.items()
                            if isinstance(p, dict) and p.get("in") == "body"}
        self.form_params = {k for k, p in self.global_params.items()
                            if isinstance(p, dict) and p.get("in") == "formData"}

    def warn(self, ptr: str, message: str) -> None:
        self.warnings.append({"pointer": ptr, "message": message})

    # ---- top level -------------------------------------------------------------------
    def convert(self) -> dict:
        doc = self.doc
        out: dict = {"openapi": "3.0.3"}
        for key in ("info",):
            if key in doc:
                out[key] = doc[key]
        out["servers"] = self.servers()
        for key, value in doc.items():
            if key in ("tags", "externalDocs", "security") or key.startswith("x-"):
                out[key] = value
        components: dict = {}
        definitions = doc.get("definitions")
        if isinstance(definitions, dict):
            components["schemas"] = definitions
        if self.global_params:
            params, bodies = {}, {}
            for name, param in self.global_params.items():
                ptr = pointer("parameters", name)
                if name in self.body_params:
                    bodies[name] = self.body_to_request_body(param, self.global_consumes)
                elif name in self.form_params:
                    self.warn(ptr, "a global formData parameter is merged into each operation that uses it")
                else:
                    params[name] = self.parameter(param, ptr) if isinstance(param, dict) else param
            if params:
                components["parameters"] = params
            if bodies:
                components["requestBodies"] = bodies
        responses = doc.get("responses")
        if isinstance(responses, dict):
            components["responses"] = {code: self.response(r, self.global_produces, pointer("responses", code))
                                       for code, r in responses.items()}
        sec = doc.get("securityDefinitions")
        if isinstance(sec, dict):
            components["securitySchemes"] = {n: self.security_scheme(s, pointer("securityDefinitions", n))
                                             for n, s in sec.items()}
        if components:
            out["components"] = components
        paths = doc.get("paths")
        if isinstance(paths, dict):
            out["paths"] = {p: self.path_item(item, pointer("paths", p)) for p, item in paths.items()}
        elif "paths" in doc:
            out["paths"] = paths  # extraction reports it
        self.rewrite_refs(out)
        return out

    def servers(self) -> list[dict]:
        doc = self.doc
        host = doc.get("host")
        base_path = doc.get("basePath") or "/"
        if not isinstance(base_path, str):
            base_path = "/"
        if not base_path.startswith("/"):
            base_path = "/" + base_path
        if not isinstance(host, str) or not host:
            return [{"url": base_path}]
        schemes = [s for s in _str_list(doc.get("schemes")) if s in ("http", "https", "ws", "wss")]
        if not schemes:
            schemes = [self.import_scheme or "https"]
        if "https" in schemes:  # prefer the secure one as the default server
            schemes = ["https"] + [s for s in schemes if s != "https"]
        path = "" if base_path == "/" else base_path
        return [{"url": f"{scheme}://{host}{path}"} for scheme in schemes]

    # ---- paths -----------------------------------------------------------------------
    def path_item(self, item, ptr: str):
        if not isinstance(item, dict):
            return item
        out: dict = {}
        shared = item.get("parameters")
        shared_body, shared_form = None, []
        if isinstance(shared, list):
            plain, shared_body, shared_form = self.split_parameters(shared, ptr + "/parameters")
            if plain:
                out["parameters"] = plain
        for key, value in item.items():
            if key == "parameters":
                continue
            if key in HTTP_METHODS and isinstance(value, dict):
                out[key] = self.operation(value, ptr + "/" + key, shared_body, shared_form)
            else:
                out[key] = value
        return out

    def split_parameters(self, params: list, ptr: str):
        plain, body, form = [], None, []
        for i, param in enumerate(params):
            p_ptr = f"{ptr}/{i}"
            if not isinstance(param, dict):
                plain.append(param)
                continue
            ref = param.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/parameters/"):
                name = unescape_token(ref[len("#/parameters/"):])
                if name in self.body_params:
                    body = {"$ref": "#/components/requestBodies/" + ref[len("#/parameters/"):]}
                    continue
                if name in self.form_params:
                    form.append(self.global_params[name])
                    continue
                plain.append({"$ref": "#/components/parameters/" + ref[len("#/parameters/"):]})
                continue
            where = param.get("in")
            if where == "body":
                body = param
            elif where == "formData":
                form.append(param)
            else:
                plain.append(self.parameter(param, p_ptr))
        return plain, body, form

    def operation(self, op: dict, ptr: str, shared_body, shared_form: list) -> dict:
        consumes = _str_list(op.get("consumes")) or self.global_consumes
        produces = _str_list(op.get("produces")) or self.global_produces
        out: dict = {}
        body, form = shared_body, list(shared_form)
        params = op.get("parameters")
        if isinstance(params, list):
            plain, op_body, op_form = self.split_parameters(params, ptr + "/parameters")
            if op_body is not None:
                body = op_body
            if op_form:
                names = {p.get("name") for p in op_form}
                form = [p for p in form if p.get("name") not in names] + op_form
        else:
            plain = params
        for key, value in op.items():
            if key in ("consumes", "produces", "schemes"):
                continue
            if key == "parameters":
                if plain:
                    out["parameters"] = plain
            elif key == "responses" and isinstance(value, dict):
                out["responses"] = {code: self.response(r, produces, f"{ptr}/responses/{code}")
                                    for code, r in value.items()}
            else:
                out[key] = value
        if body is not None:
            out["requestBody"] = body if "$ref" in body else self.body_to_request_body(body, consumes)
        elif form:
            out["requestBody"] = self.form_to_request_body(form, consumes)
        return out

    # ---- pieces ----------------------------------------------------------------------
    def parameter(self, param: dict, ptr: str) -> dict:
        if "$ref" in param:
            return param
        out: dict = {}
        schema: dict = {}
        for key, value in param.items():
            if key in _PARAM_SCHEMA_KEYS:
                schema[key] = value
            elif key == "x-example":
                out["example"] = value
            else:
                out[key] = value
        if schema:
            fmt = schema.pop("collectionFormat", None)
            if fmt is not None:
                style, explode = _collection_style(fmt, param.get("in"))
                if style is None:
                    self.warn(ptr, f"collectionFormat {fmt!r} has no OpenAPI 3 equivalent")
                else:
                    out["style"], out["explode"] = style, explode
            if schema.get("type") == "file":
                schema["type"], schema["format"] = "string", "binary"
            items = schema.get("items")
            if isinstance(items, dict):
                items.pop("collectionFormat", None)
            out["schema"] = schema
        return out

    def body_to_request_body(self, param: dict, consumes: list[str]) -> dict:
        schema = param.get("schema", {})
        rb: dict = {"content": {ct: {"schema": schema} for ct in consumes}}
        if param.get("description"):
            rb["description"] = param["description"]
        if param.get("required"):
            rb["required"] = True
        examples = param.get("x-examples")
        if isinstance(examples, dict):
            for ct, ex in examples.items():
                if ct in rb["content"]:
                    rb["content"][ct]["example"] = ex
        if param.get("name"):
            rb["x-body-name"] = param["name"]
        return rb

    def form_to_request_body(self, params: list, consumes: list[str]) -> dict:
        props, required = {}, []
        has_file = False
        for p in params:
            name = p.get("name")
            if not isinstance(name, str):
                continue
            converted = self.parameter(p, "")
            schema = converted.get("schema", {})
            if p.get("type") == "file":
                has_file = True
            if p.get("description"):
                schema = {**schema, "description": p["description"]}
            props[name] = schema
            if p.get("required"):
                required.append(name)
        form: dict = {"type": "object", "properties": props}
        if required:
            form["required"] = required
        cts = [ct for ct in consumes if ct in _FORM_TYPES]
        if not cts:
            cts = ["multipart/form-data" if has_file else "application/x-www-form-urlencoded"]
        return {"content": {ct: {"schema": form} for ct in cts}, **({"required": True} if required else {})}

    def response(self, resp, produces: list[str], ptr: str):
        if not isinstance(resp, dict) or "$ref" in resp:
            return resp
        out: dict = {"description": resp.get("description", "")}
        schema = resp.get("schema")
        examples = resp.get("examples")
        if not isinstance(examples, dict):
            examples = {}
        if schema is not None:
            out["content"] = {ct: {"schema": schema} for ct in produces}
            for ct, ex in examples.items():
                out["content"].setdefault(ct, {"schema": schema})["example"] = ex
        headers = resp.get("headers")
        if isinstance(headers, dict):
            out["headers"] = {}
            for name, h in headers.items():
                if isinstance(h, dict):
                    hs = {k: v for k, v in h.items() if k in _PARAM_SCHEMA_KEYS and k != "collectionFormat"}
                    header = {"schema": hs}
                    if h.get("description"):
                        header["description"] = h["description"]
                    out["headers"][name] = header
        for key, value in resp.items():
            if key.startswith("x-"):
                out[key] = value
        return out

    def security_scheme(self, s, ptr: str):
        if not isinstance(s, dict):
            return s
        kind = s.get("type")
        desc = {"description": s["description"]} if s.get("description") else {}
        if kind == "basic":
            return {"type": "http", "scheme": "basic", **desc}
        if kind == "apiKey":
            return {"type": "apiKey", "name": s.get("name"), "in": s.get("in"), **desc}
        if kind == "oauth2":
            flow = _OAUTH_FLOWS.get(str(s.get("flow")))
            if flow is None:
                self.warn(ptr, f"unknown oauth2 flow {s.get('flow')!r}")
                flow = "clientCredentials"
            body: dict = {"scopes": s.get("scopes") or {}}
            if flow in ("implicit", "authorizationCode") and s.get("authorizationUrl"):
                body["authorizationUrl"] = s["authorizationUrl"]
            if flow != "implicit" and s.get("tokenUrl"):
                body["tokenUrl"] = s["tokenUrl"]
            return {"type": "oauth2", "flows": {flow: body}, **desc}
        self.warn(ptr, f"unknown security scheme type {kind!r}")
        return s

    # ---- the one walk: $refs and schema fixes ------------------------------------------
    def rewrite_refs(self, root: dict) -> None:
        params_prefix = "#/parameters/"
        stack: list = [(root, False)]
        seen: set[int] = set()
        while stack:
            node, name_map = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, list):
                stack.extend((v, False) for v in node if isinstance(v, (dict, list)))
                continue
            if name_map:  # keys are names (properties, paths, ...): every value is an object
                stack.extend((v, False) for v in node.values() if isinstance(v, (dict, list)))
                continue
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                for old, new in _REF_PREFIXES:
                    if ref.startswith(old):
                        node["$ref"] = new + ref[len(old):]
                        break
                else:
                    if ref.startswith(params_prefix):
                        name = unescape_token(ref[len(params_prefix):])
                        kind = "requestBodies" if name in self.body_params else "parameters"
                        node["$ref"] = f"#/components/{kind}/" + ref[len(params_prefix):]
            if node.get("type") == "file":
                node["type"], node["format"] = "string", "binary"
            if "x-nullable" in node and "nullable" not in node:
                node["nullable"] = bool(node.pop("x-nullable"))
            disc = node.get("discriminator")
            if isinstance(disc, str):
                node["discriminator"] = {"propertyName": disc}
            for key, value in node.items():
                if isinstance(value, (dict, list)) and key not in DATA_KEYS and not key.startswith("x-"):
                    stack.append((value, key in NAME_MAP_KEYS))


def _str_list(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _collection_style(fmt, where):
    if fmt == "multi":
        return "form", True
    if fmt == "csv":
        return ("form", False) if where in ("query", "cookie") else ("simple", False)
    if fmt == "ssv":
        return "spaceDelimited", False
    if fmt == "pipes":
        return "pipeDelimited", False
    return None, None


def convert(doc: dict, import_url: str | None = None) -> tuple[dict, list[dict]]:
    """Swagger 2.0 document -> (OpenAPI 3.0.3 document, warnings)."""
    scheme = None
    if import_url:
        scheme = import_url.split(":", 1)[0].lower() if ":" in import_url else None
    conv = _Converter(doc, scheme)
    return conv.convert(), conv.warnings
