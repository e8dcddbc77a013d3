"""Re-import preview (dry_run writes nothing and answers the same diff),
overwrite mode (removed endpoints deleted, their references flagged), and
the audit trail: complete old_data on every endpoint update, rows for
references."""
from __future__ import annotations

import json
import uuid

import pytest

OK = {"responses": {"200": {"description": "ok"}}}


def spec(title: str, version: str, paths: dict) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": title, "version": version},
                       "servers": [{"url": "https://api.example.com/v1"}], "paths": paths})


V1 = {"/pets": {"get": OK, "post": OK}, "/pets/{id}": {"get": OK}, "/owners": {"get": OK}}
V2 = {"/pets": {"get": {**OK, "summary": "List", "deprecated": True}}, "/pets/{id}": {"get": OK},
      "/toys": {"get": OK}}


@pytest.fixture
def doc(api):
    title = f"re-{uuid.uuid4().hex[:8]}"
    r = api.post("/api/documents", {"content": spec(title, "1.0.0", V1)})
    assert r.status == 201, r.json
    eps = {(e["method"], e["path"]): e["id"] for e in r.data["endpoints"]}
    ref = api.post("/api/references", {"resource_type": "form", "resource_id": str(uuid.uuid4()),
                                       "api_endpoint_id": eps[("POST", "/pets")], "display_name": "pet form"})
    assert ref.status == 201, ref.json
    return {"id": r.data["document"]["id"], "title": title, "eps": eps, "ref": ref.data["id"]}


def row_counts(db) -> dict:
    """Rows of every table (partitions counted in their parent), but the API's
    access log, where the preview request itself is recorded."""
    tables = [r["t"] for r in db.query(
        "SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND c.relname <> 'api_access_logs' ORDER BY 1")]
    return {t: db.scalar(f'SELECT COUNT(*) FROM "{t}"') for t in tables}


def without_ids(diff: dict) -> dict:
    return {k: [{f: v for f, v in item.items() if f != "id"} for item in items] for k, items in diff.items()}


def test_a_dry_run_answers_the_real_diff_and_writes_nothing(api, db, doc):
    before = row_counts(db)
    assert {"api_documents", "api_endpoints", "resource_references", "api_audit_logs", "api_call_logs",
            "api_endpoint_cache", "openapi_templates"} <= set(before)
    stamp = db.query("SELECT id, updated_at, status FROM api_endpoints WHERE api_document_id = CAST(:d AS uuid)"
                     " ORDER BY id", d=doc["id"])
    preview = api.post(f"/api/documents/{doc['id']}/reimport?dry_run=true",
                       {"content": spec(doc["title"], "2.0.0", V2)})
    assert preview.status == 200, preview.json
    assert preview.data["dry_run"] is True and preview.json["message"].startswith("a re-import would do")
    assert row_counts(db) == before
    assert db.query("SELECT id, updated_at, status FROM api_endpoints WHERE api_document_id = CAST(:d AS uuid)"
                    " ORDER BY id", d=doc["id"]) == stamp
    assert api.get(f"/api/documents/{doc['id']}").data["version"] == "1.0.0"
    assert api.get(f"/api/references/{doc['ref']}").data["status"] == "active"
    assert preview.data["would_be"]["version"] == "2.0.0" and preview.data["references_marked_error"] == 1

    real = api.post(f"/api/documents/{doc['id']}/reimport", {"content": spec(doc["title"], "2.0.0", V2)})
    assert real.status == 200 and real.data["dry_run"] is False
    assert without_ids(preview.data["diff"]) == without_ids(real.data["diff"])
    assert preview.data["counts"] == real.data["counts"] == {"added": 1, "changed": 1, "removed": 2, "unchanged": 1}
    assert real.data["references_marked_error"] == preview.data["references_marked_error"]
    assert [a["id"] for a in preview.data["diff"]["added"]] == [None]
    assert real.data["diff"]["added"][0]["id"] is not None


def test_merge_keeps_removed_endpoints_inactive_and_every_update_has_complete_old_data(api, db, doc):
    r = api.post(f"/api/documents/{doc['id']}/reimport", {"content": spec(doc["title"], "2.0.0", V2)})
    assert r.status == 200 and r.data["mode"] == "merge"
    ids = list(doc["eps"].values())
    rows = db.query("SELECT record_id::text AS id, old_data, new_data FROM api_audit_logs"
                    " WHERE table_name = 'api_endpoints' AND operation = 'UPDATE'"
                    " AND record_id = ANY(CAST(:ids AS uuid[]))", ids=ids)
    changed = {c["id"] for c in r.data["diff"]["changed"]} | {x["id"] for x in r.data["diff"]["removed"]}
    assert {row["id"] for row in rows} == changed and len(rows) == 3
    for row in rows:
        assert row["old_data"] is not None
        assert set(row["old_data"]) == set(row["new_data"]) - {"reimport_changes", "removed_from_spec"}
    listing = next(row for row in rows if row["id"] == doc["eps"][("GET", "/pets")])
    assert (listing["old_data"]["is_deprecated"], listing["new_data"]["is_deprecated"]) == (False, True)
    assert listing["new_data"]["reimport_changes"] == ["summary", "is_deprecated"]
    gone = db.scalar("SELECT COUNT(*) FROM api_endpoints WHERE id = CAST(:e AS uuid) AND status = 'inactive'",
                     e=doc["eps"][("POST", "/pets")])
    assert gone == 1


def test_overwrite_deletes_removed_endpoints_and_flags_their_references_with_audit_rows(api, db, doc):
    r = api.post(f"/api/documents/{doc['id']}/reimport?mode=overwrite", {"content": spec(doc["title"], "2.0.0", V2)})
    assert r.status == 200, r.json
    removed = {x["id"] for x in r.data["diff"]["removed"]}
    assert removed == {doc["eps"][("POST", "/pets")], doc["eps"][("GET", "/owners")]}
    assert all(x["deleted"] for x in r.data["diff"]["removed"])
    assert db.scalar("SELECT COUNT(*) FROM api_endpoints WHERE id = ANY(CAST(:ids AS uuid[]))",
                     ids=list(removed)) == 0
    assert api.get(f"/api/documents/{doc['id']}").data["total_endpoints"] == 3
    ref = api.get(f"/api/references/{doc['ref']}").data
    assert ref["status"] == "error" and r.data["references_marked_error"] == 1
    audits = api.get(f"/api/audit-logs?table_name=resource_references&record_id={doc['ref']}").data["items"]
    assert [a["operation"] for a in audits] == ["UPDATE", "INSERT"]
    assert audits[0]["old_data"]["status"] == "active" and audits[0]["new_data"]["status"] == "error"
    assert audits[0]["new_data"]["reason"] == "endpoint deleted by re-import"
    deletes = db.query("SELECT old_data FROM api_audit_logs WHERE table_name = 'api_endpoints'"
                       " AND operation = 'DELETE' AND record_id = ANY(CAST(:ids AS uuid[]))", ids=list(removed))
    assert sorted(d["old_data"]["path"] + d["old_data"]["method"] for d in deletes) == ["/ownersGET", "/petsPOST"]


def test_overwrite_also_removes_endpoints_a_merge_left_inactive(api, db, doc):
    api.post(f"/api/documents/{doc['id']}/reimport", {"content": spec(doc["title"], "2.0.0", V2)})
    r = api.post(f"/api/documents/{doc['id']}/reimport?mode=overwrite&dry_run=true",
                 {"content": spec(doc["title"], "2.0.0", V2)})
    assert r.status == 200 and r.data["counts"]["removed"] == 2
    assert db.scalar("SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:d AS uuid)", d=doc["id"]) == 5


def test_reference_writes_have_audit_rows_with_the_mapping_masked(api, doc):
    ep = doc["eps"][("GET", "/pets")]
    cfg = {"headers.X-Api-Token": "ref-secret-1"}
    r = api.post("/api/references", {"resource_type": "dashboard", "resource_id": str(uuid.uuid4()),
                                     "api_endpoint_id": ep, "reference_config": cfg})
    assert r.status == 201, r.json
    rid = r.data["id"]
    assert api.put(f"/api/references/{rid}", {"display_name": "renamed"}).status == 200
    assert api.delete(f"/api/references/{rid}").status == 200
    page = api.get(f"/api/audit-logs?table_name=resource_references&record_id={rid}")
    ops = [(a["operation"], (a["old_data"] or {}).get("display_name"), (a["new_data"] or {}).get("display_name"))
           for a in page.data["items"]]
    assert ops == [("DELETE", "renamed", None), ("UPDATE", None, "renamed"), ("INSERT", None, None)]
    assert "ref-secret-1" not in page.body.decode()


@pytest.mark.parametrize("query,loc", [("mode=replace", "mode"), ("dry_run=perhaps", "dry_run")])
def test_a_bad_reimport_option_is_a_400_naming_it(api, doc, query, loc):
    r = api.post(f"/api/documents/{doc['id']}/reimport?{query}", {"content": spec(doc["title"], "2.0.0", V2)})
    assert r.status == 400
    assert loc in json.dumps(r.error["details"])
