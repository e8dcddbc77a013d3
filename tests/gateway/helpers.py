"""Test helpers: import a spec's document and endpoints through the catalog's
import service, and change a document through its route. Every document gets
a unique name so tests never collide.
"""
from __future__ import annotations

import json
import uuid
from tests.shared import SPECS

SEED001 = SPECS / "seed001_gorm_asynq.yaml"


def seal(cfg):
    from chalicelib.secrets import get_box

    return get_box().seal(cfg) if cfg else None


def import_spec(db, text: str, *, base_url: str, auth_config=None, rate_limit_config=None, timeout_config=None,
                name: str | None = None) -> dict:
    """Create a document + endpoints through the catalog's import service, the
    configurations checked by the same validators as the document routes;
    returns {"document_id", "endpoints": {(METHOD, path): id}, "name"}."""
    from chalicelib.catalog.service import import_document
    from chalicelib.gateway import configs

    name = name or f"test-{uuid.uuid4().hex[:10]}"
    checked = {k: configs.for_save(k, v) for k, v in (("auth_config", auth_config),
                                                        ("rate_limit_config", rate_limit_config),
                                                        ("timeout_config", timeout_config))}
    out = import_document(db, content=text, name=name, base_url=base_url, **checked)
    return {"document_id": str(out["document"]["id"]), "name": name,
            "endpoints": {(e["method"], e["path"]): str(e["id"]) for e in out["endpoints"]}}


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
