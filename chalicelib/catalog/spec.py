"""The import pipeline without a database: bytes -> ParsedSpec.

    load (limits) -> version check -> Swagger 2.0 conversion -> endpoint
    extraction (+ reference check) -> default base URL

What makes extraction impossible raises ValidationError with
details={"errors": [spec_error ... up to 20], "problem_count"} (catalog.problems);
everything else is a warning returned with the result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.catalog import loader, servers, swagger2
from chalicelib.catalog.extract import extract_endpoints
from chalicelib.catalog.problems import Problems, invalid


@dataclass(frozen=True)
class Limits:
    max_bytes: int = loader.DEFAULT_MAX_BYTES
    max_depth: int = loader.DEFAULT_MAX_DEPTH
    max_aliases: int = loader.DEFAULT_MAX_ALIASES
    max_alias_nodes: int = loader.DEFAULT_MAX_ALIAS_NODES

    @classmethod
    def from_settings(cls, settings, asynchronous: bool = False) -> "Limits":
        return cls(
            max_bytes=settings.max_async_spec_bytes if asynchronous else settings.max_sync_body_bytes,
            max_depth=settings.yaml_max_depth,
            max_aliases=settings.yaml_max_aliases,
        )


@dataclass
class ParsedSpec:
    spec: dict                  # OpenAPI 3 shape (Swagger 2.0 converted)
    text: str                   # the original text, unchanged
    content_type: str           # 'json' | 'yaml'
    size_bytes: int
    spec_format: str            # 'openapi' | 'swagger'
    spec_version: str           # '3.1.0', '3.0.3', '2.0'
    converted: bool
    title: str | None
    description: str | None
    api_version: str | None     # info.version
    server_url: str | None      # first server URL as written
    base_url: str | None        # default base URL (None: the caller must supply one)
    endpoints: list[dict]
    skipped: list[dict]
    servers: list[dict] = field(default_factory=list)  # the document-level servers (catalog.servers)
    warnings: list[dict] = field(default_factory=list)
    warning_count: int = 0

    @property
    def spec_is_original_json(self) -> bool:
        """True when `text` is itself the JSON of `spec` (no conversion)."""
        return self.content_type == "json" and not self.converted


def _version(doc: dict) -> tuple[str, str]:
    """-> (format, version) or ValidationError."""
    if "openapi" in doc:
        raw = doc["openapi"]
        v = str(raw)
        if re.match(r"^3\.[01](\.\d+)?([-.].*)?$", v):
            return "openapi", v
        if re.match(r"^3\.\d+", v):
            return "openapi", v  # newer 3.x: imported as 3.1 with a warning (added by the caller)
        raise invalid("/openapi", f"OpenAPI version {v!r} is not supported (3.0.x, 3.1.x or Swagger 2.0)")
    if "swagger" in doc:
        v = str(doc["swagger"])
        if v in ("2.0", "2"):
            return "swagger", "2.0"
        raise invalid("/swagger", f"Swagger version {v!r} is not supported (3.0.x, 3.1.x or Swagger 2.0); "
                                  "convert it to OpenAPI 3 first")
    if "swaggerVersion" in doc:
        raise invalid("/swaggerVersion", f"Swagger {doc['swaggerVersion']} is not supported "
                                         "(3.0.x, 3.1.x or Swagger 2.0); convert it to OpenAPI 3 first")
    raise invalid("", "not an OpenAPI or Swagger document: no 'openapi' or 'swagger' key")


def server_base_url(spec: dict, import_url: str | None, problems: Problems | None = None,
                    values: dict | None = None) -> tuple[str | None, str | None]:
    """-> (first server URL as written, default base URL).

    Variables take their defaults; a relative URL is resolved against the
    import URL, or gives None (the caller asks for base_url); no servers at
    all is the server "/" (OpenAPI's default)."""
    found = servers.document_servers(spec, import_url, problems, values)
    if not found:
        return None, servers.resolve_server({"url": "/"}, import_url, None, "/servers")
    first = found[0]
    raw = first["raw"].strip() if isinstance(first["raw"], str) and first["raw"].strip() else None
    return raw, first["url"]


def parse_spec(content: bytes | str, content_type: str | None = None, *, import_url: str | None = None,
               limits: Limits | None = None, server_variables: dict | None = None,
               variables_at: tuple = ("body",)) -> ParsedSpec:
    """`server_variables`: the document's values for the spec's server
    variables (catalog.servers.check_variables; a 400 at `variables_at`)."""
    limits = limits or Limits()
    loaded = loader.load(content, content_type, max_bytes=limits.max_bytes, max_depth=limits.max_depth,
                         max_aliases=limits.max_aliases, max_alias_nodes=limits.max_alias_nodes)
    doc = loaded.data
    fmt, version = _version(doc)
    problems = Problems()
    converted = False
    if fmt == "swagger":
        spec, conv_warnings = swagger2.convert(doc, import_url)
        problems.extend_warnings(conv_warnings)
        converted = True
    else:
        spec = doc
        if not re.match(r"^3\.[01]", version):
            problems.warn("/openapi", f"OpenAPI {version} is newer than 3.1: imported as 3.1")
        if not isinstance(doc["openapi"], str):
            problems.warn("/openapi", "the version should be a string (quote it in YAML)")
    server_variables = servers.check_variables(spec, server_variables, variables_at)
    json_text = loaded.text if (loaded.content_type == "json" and not converted) else None
    endpoints, skipped = extract_endpoints(spec, problems, max_depth=limits.max_depth, json_text=json_text,
                                           import_url=import_url, server_variables=server_variables)
    problems.raise_if_any()
    info = spec.get("info")
    if not isinstance(info, dict):
        info = {}
    if not info:
        problems.warn("/info", "the spec has no info object")
    server_url, base_url = server_base_url(spec, import_url, problems, server_variables)
    title = info.get("title")
    api_version = info.get("version")
    return ParsedSpec(
        spec=spec, text=loaded.text, content_type=loaded.content_type, size_bytes=loaded.size_bytes,
        spec_format=fmt, spec_version=version, converted=converted,
        title=str(title) if title is not None else None,
        description=info.get("description") if isinstance(info.get("description"), str) else None,
        api_version=str(api_version) if api_version is not None else None,
        server_url=server_url, base_url=base_url,
        endpoints=endpoints, skipped=skipped,
        servers=servers.document_servers(spec, import_url, values=server_variables),
        warnings=problems.warnings, warning_count=problems.warning_count,
    )
