"""Small helpers shared by the dynamic API route tests."""
from __future__ import annotations

import uuid


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pool_body(params, **extra) -> dict:
    body = {"display_text": unique("pool")[:64], "db_type": params.db_type, "host": params.host,
            "port": params.port, "username": params.username, "password": params.password or None,
            "database": params.database, "pool_size": 2, "max_concurrency": 4}
    body.update(extra)
    return body


def create_api(api, pool_id: str, engine: str, template: str, parameters=(), *, publish=True,
               permissions=None, **fields) -> dict:
    body = {"name": unique(fields.pop("prefix", "dyn")), "connection_pool_id": pool_id, "template_engine": engine,
            "script_template": template, "parameters": list(parameters)}
    body.update(fields)
    r = api.post("/api/dynamic-apis", body)
    assert r.status == 201, r.json
    d = r.data
    if publish:
        r = api.post(f"/api/dynamic-apis/{d['id']}/publish", {"permissions": permissions} if permissions is not None else {})
        assert r.status == 200, r.json
        d = r.data
    return d


def like(engine: str, var: str) -> str:
    return f"{{{{ '%' ~ {var} ~ '%' }}}}" if engine == "jinja2" else f"{{{{ {var} | prepend: '%' | append: '%' }}}}"
