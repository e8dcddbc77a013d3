"""Test helpers: put a spec's document and endpoints in the database.

Uses the catalog's parser (chalicelib.catalog.spec.parse_spec) and writes the
rows directly, the way the catalog's import does, with the auth config sealed
by the secret box. Every document gets a unique name so tests never collide.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

SPECS = Path("/work/shared/specs")
SEED001 = SPECS / "seed001_gorm_asynq.yaml"


def seal(cfg):
    from chalicelib.secrets import get_box

    return get_box().seal(cfg) if cfg else None


def import_spec(db, text: str, *, base_url: str, auth_config=None, rate_limit_config=None, timeout_config=None,
                name: str | None = None) -> dict:
    """Create a document + endpoints through the catalog's import service;
    returns {"document_id", "endpoints": {(METHOD, path): id}, "name"}."""
    name = name or f"test-{uuid.uuid4().hex[:10]}"
    try:
        from chalicelib.catalog.service import import_document
    except ImportError:  # catalog not there yet: write the rows ourselves
        return _insert_rows(db, text, base_url=base_url, auth_config=auth_config,
                            rate_limit_config=rate_limit_config, timeout_config=timeout_config, name=name)
    out = import_document(db, content=text, name=name, base_url=base_url, auth_config=auth_config,
                          rate_limit_config=rate_limit_config, timeout_config=timeout_config)
    return {"document_id": str(out["document"]["id"]), "name": name,
            "endpoints": {(e["method"], e["path"]): str(e["id"]) for e in out["endpoints"]}}


def _insert_rows(db, text: str, *, base_url: str, auth_config=None, rate_limit_config=None, timeout_config=None,
                 name: str) -> dict:
    from chalicelib.catalog.spec import parse_spec

    parsed = parse_spec(text)
    with db.transaction():
        doc_id = db.scalar(
            "INSERT INTO api_documents (name, version, base_url, server_url, parsed_spec, original_content, "
            " content_type, auth_config, rate_limit_config, timeout_config, total_endpoints, active_endpoints) "
            "VALUES (:name, :version, :base_url, :server_url, CAST(:spec AS jsonb), :text, :ctype, "
            " CAST(:auth AS jsonb), CAST(:rl AS jsonb), CAST(:tc AS jsonb), :n, :n) RETURNING id",
            name=name, version=parsed.api_version or "1", base_url=base_url, server_url=parsed.server_url,
            spec=json.dumps(parsed.spec), text=parsed.text, ctype=parsed.content_type,
            auth=json.dumps(seal(auth_config)) if auth_config else None,
            rl=json.dumps(rate_limit_config) if rate_limit_config else None,
            tc=json.dumps(timeout_config) if timeout_config else None, n=len(parsed.endpoints))
        endpoints = {}
        for ep in parsed.endpoints:
            eid = db.scalar(
                "INSERT INTO api_endpoints (api_document_id, path, method, operation_id, summary, tags, parameters, "
                " request_body_schema, response_schemas, auth_required, status, is_deprecated) "
                "VALUES (CAST(:doc AS uuid), :path, :method, :oid, :summary, CAST(:tags AS text[]), "
                " CAST(:params AS jsonb), CAST(:body AS jsonb), CAST(:resp AS jsonb), :auth, :status, :dep) RETURNING id",
                doc=str(doc_id), path=ep["path"], method=ep["method"], oid=ep["operation_id"], summary=ep["summary"],
                tags=ep["tags"], params=json.dumps(ep["parameters"]),
                body=json.dumps(ep["request_body_schema"]) if ep["request_body_schema"] is not None else None,
                resp=json.dumps(ep["response_schemas"]), auth=ep["auth_required"], status=ep["status"],
                dep=ep["is_deprecated"])
            endpoints[(ep["method"], ep["path"])] = str(eid)
    return {"document_id": str(doc_id), "endpoints": endpoints, "name": name}


def spec_text(paths: dict, components: dict | None = None, openapi: str = "3.0.3") -> str:
    """A small spec as JSON text."""
    doc = {"openapi": openapi, "info": {"title": "t", "version": "1"}, "paths": paths}
    if components:
        doc["components"] = components
    return json.dumps(doc)


def set_document(api, document_id: str, **fields) -> dict:
    """Change a document through its route (PUT /api/documents/{id}), so every
    configuration goes through the same validation a user's would."""
    r = api.put(f"/api/documents/{document_id}", fields)
    assert r.status == 200, r.json
    return r.data
