"""API keys: shown once, stored hashed, listed without the key, revocable."""
from __future__ import annotations

import subprocess
import sys

from chalicelib.keys.service import hash_key
from tests.conftest import ROOT


def test_created_key_is_shown_once_and_stored_hashed(api, db):
    r = api.post("/api/keys", {"role": "operator", "name": "ci", "permissions": ["orders:read"]})
    assert r.status == 201
    key = r.data["key"]
    assert key.startswith("sfk_") and r.data["key_prefix"] == key[:12]
    row = db.one("SELECT key_hash, permissions FROM api_keys WHERE id = CAST(:id AS uuid)", id=r.data["id"])
    assert row["key_hash"] == hash_key(key) and key not in str(row)
    assert row["permissions"] == ["orders:read"]
    listed = api.get("/api/keys?limit=500").data
    assert key not in str(listed)
    assert any(item["id"] == r.data["id"] for item in listed["items"])
    assert set(listed) == {"items", "total", "has_more"}


def test_new_key_works_and_revoked_key_is_refused(api, anon):
    key = api.post("/api/keys", {"role": "admin"}).data
    assert anon.as_key(key["key"]).get("/api/keys").status == 200
    assert api.delete(f"/api/keys/{key['id']}").status == 200
    r = anon.as_key(key["key"]).get("/api/keys")
    assert r.status == 401 and r.error["code"] == "AUTH_ERROR"


def test_bad_role_is_a_400_naming_the_field(api):
    r = api.post("/api/keys", {"role": "root"})
    assert r.status == 400
    assert r.error["details"]["errors"][0]["loc"] == ["body", "role"]


def test_revoking_unknown_key_is_404_and_malformed_id_400(api):
    assert api.delete("/api/keys/00000000-0000-4000-8000-000000000000").status == 404
    assert api.delete("/api/keys/not-a-uuid").status == 400


def test_cli_creates_a_key(db, anon):
    import os
    out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "create-key", "--role", "viewer"],
                         cwd=ROOT, capture_output=True, text=True, env=dict(os.environ), check=True)
    key = out.stdout.strip().splitlines()[-1]
    assert anon.as_key(key).get("/api/health").status in (200, 503)
    assert db.scalar("SELECT role FROM api_keys WHERE key_hash = :h", h=hash_key(key)) == "viewer"
