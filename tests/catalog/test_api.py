"""The catalog over HTTP with the real database: templates, documents,
endpoints, re-import, delete without orphans, audit, import-url."""
from __future__ import annotations

import http.server
import json
import threading
import uuid

import pytest

from tests.conftest import base_settings
from chalicelib.settings import reset_settings
from tests.shared import SPECS



def uniq(prefix="t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def mini_spec(title: str, version: str = "1.0.0", paths: dict | None = None, **extra) -> str:
    doc = {"openapi": "3.0.3", "info": {"title": title, "version": version},
           "servers": [{"url": "https://api.example.com/v1"}],
           "paths": paths or {
               "/pets": {"get": {"operationId": "listPets", "tags": ["pets"], "summary": "List pets",
                                 "responses": {"200": {"description": "ok", "content": {"application/json": {
                                     "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}}}},
                         "post": {"operationId": "createPet", "tags": ["pets"],
                                  "requestBody": {"content": {"application/json": {
                                      "schema": {"$ref": "#/components/schemas/Pet"}}}},
                                  "responses": {"201": {"description": "created"}}}},
               "/pets/{id}": {"get": {"operationId": "getPet", "tags": ["pets"],
                                      "parameters": [{"name": "id", "in": "path", "required": True,
                                                      "schema": {"type": "string"}}],
                                      "responses": {"200": {"description": "ok"}}}},
           },
           "components": {"schemas": {"Pet": {"type": "object", "properties": {
               "name": {"type": "string"}, "parent": {"$ref": "#/components/schemas/Pet"}}}}}}
    doc.update(extra)
    return json.dumps(doc)


def counts(db) -> dict:
    return db.one("SELECT (SELECT COUNT(*) FROM openapi_templates) AS templates,"
                  " (SELECT COUNT(*) FROM api_documents) AS documents,"
                  " (SELECT COUNT(*) FROM api_endpoints) AS endpoints")


@pytest.fixture
def doc(api):
    r = api.post("/api/documents", {"content": mini_spec(uniq("pets")),
                                    "auth_config": {"type": "http", "scheme": "bearer", "token": "s3cret-token"}})
    assert r.status == 201, r.json
    return r.data


# ---- real specs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, operations, base_url", [
    ("openai.yaml", 288, None), ("pagerduty_rest.json", 465, None), ("twilio_api_v2010.yaml", 197, None),
    ("docker_engine_swagger2.yaml", 108, "http://docker.example.com/v1.56"),
    ("seed001_gorm_asynq.yaml", 8, None), ("oai_petstore.yaml", 3, None),
    ("oai_petstore-expanded.yaml", 4, None), ("oai_uspto.yaml", 3, None),
    ("oai_api-with-examples.yaml", 2, "https://examples.example.com"),
    ("oai_callback-example.yaml", 1, "https://callbacks.example.com"),
    ("oai_link-example.yaml", 6, "https://links.example.com"),
])
def test_every_real_spec_imports_with_its_endpoints(api, db, name, operations, base_url):
    content = (SPECS / name).read_text()
    body = {"content": content, "name": uniq(name), **({"base_url": base_url} if base_url else {})}
    r = api.post("/api/documents", body)
    assert r.status == 201, r.json
    doc_id = r.data["document"]["id"]
    assert len(r.data["endpoints"]) == operations
    row = db.one("SELECT total_endpoints, (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = d.id) AS n,"
                 " original_content = :c AS same_text, parsed_spec ? 'paths' AS has_paths, parsed_spec ->> 'openapi'"
                 " AS oas FROM api_documents d WHERE id = CAST(:id AS uuid)", id=doc_id, c=content)
    assert row["total_endpoints"] == row["n"] == operations
    assert row["same_text"] and row["has_paths"] and row["oas"].startswith("3.")
    assert api.delete(f"/api/documents/{doc_id}").status == 200


# ---- bad input: 4xx, a message, nothing written ---------------------------------------------------

BILLION_LAUGHS = "openapi: 3.0.0\n" + "\n".join(
    [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]
).replace("b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]')

BAD_INPUTS = [
    ("not yaml or json", "\x7fELF binary ]]] {{{ : : :", 400, "not valid"),
    ("alias bomb", BILLION_LAUGHS, 400, "alias"),
    ("10,000-deep nesting", "openapi: 3.0.0\npaths: " + "[" * 10_000 + "]" * 10_000, 400, "nesting"),
    ("no openapi or swagger key", json.dumps({"info": {"title": "x"}, "paths": {}}), 400, "no 'openapi'"),
    ("swagger 1.2", json.dumps({"swagger": "1.2", "info": {}, "apis": []}), 400, "1.2"),
    ("paths not a mapping", json.dumps({"openapi": "3.0.0", "info": {"title": "x", "version": "1"},
                                        "paths": ["/a"]}), 400, "/paths"),
    ("external ref", mini_spec("ext", paths={"/a": {"get": {"responses": {"200": {"$ref": "other.yaml#/R"}}}}}),
     400, "external $ref"),
    ("dangling ref", mini_spec("dangling", paths={"/a": {"get": {"responses": {"200": {
        "description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}),
     400, "#/components/schemas/Nope"),
]


@pytest.mark.parametrize("case, content, status, words", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
@pytest.mark.parametrize("route", ["/api/documents", "/api/templates"])
def test_bad_input_is_refused_with_a_message_and_nothing_is_written(api, db, route, case, content, status, words):
    before = counts(db)
    r = api.post(route, {"content": content, "name": uniq(), "version": "1"})
    assert r.status == status, r.json
    assert r.error["code"] == "VALIDATION_ERROR"
    assert words in r.error["message"] + json.dumps(r.error["details"])
    assert r.error["details"]["errors"][0]["pointer"] is not None
    assert counts(db) == before


def test_a_body_over_the_limit_is_413_pointing_to_import_url(api, db):
    reset_settings(base_settings(max_sync_body_bytes=2000))
    before = counts(db)
    big = mini_spec(uniq("big"), description="x" * 3000)
    for r in (api.post("/api/templates", body=big, headers={"Content-Type": "application/json"}),
              api.post("/api/documents", {"content": big})):
        assert r.status == 413, r.json
        assert r.error["code"] == "PAYLOAD_TOO_LARGE"
    r = api.post("/api/templates", body=big, headers={"Content-Type": "application/json"})
    assert "/api/templates/import-url" in r.error["message"]
    assert counts(db) == before


def test_problems_name_their_pointers(api):
    spec = json.loads(mini_spec("ops"))
    spec["paths"]["/broken"] = {"get": "nope", "post": ["nope"]}
    r = api.post("/api/documents", {"content": json.dumps(spec)})
    assert r.status == 400
    pointers = {p["pointer"] for p in r.error["details"]["errors"]}
    assert pointers == {"/paths/~1broken/get", "/paths/~1broken/post"}


def test_circular_refs_import(doc):
    assert len(doc["endpoints"]) == 3


@pytest.mark.parametrize("ctype", ["application/yaml", "application/json"])
def test_a_document_imports_from_a_raw_spec_body_with_metadata_in_the_query(api, ctype):
    import yaml
    title = uniq("rawdoc")
    spec = json.loads(mini_spec(title, servers=[{"url": "/v1"}]))
    body = json.dumps(spec) if ctype == "application/json" else yaml.safe_dump(spec)
    r = api.post("/api/documents?base_url=https://raw.example.com/v1&version=3", body=body,
                 headers={"Content-Type": ctype})
    assert r.status == 201, r.json
    d = r.data["document"]
    assert (d["name"], d["version"], d["base_url"], len(r.data["endpoints"])) == \
        (title, "3", "https://raw.example.com/v1", 3)


def test_a_document_imports_from_a_template_id_in_the_query(api):
    t = api.post("/api/templates", {"content": mini_spec(uniq("q"))}).data
    r = api.post(f"/api/documents?template_id={t['id']}", body=b"", headers={"Content-Type": "application/yaml"})
    assert r.status == 201, r.json
    assert r.data["document"]["template_id"] == t["id"]


# ---- templates ---------------------------------------------------------------------------------------

def test_template_from_a_json_body_defaults_name_and_version_from_info(api):
    title = uniq("tpl")
    r = api.post("/api/templates", {"content": mini_spec(title, "2.0.1"), "category": "pets", "tags": ["a", "b"]})
    assert r.status == 201, r.json
    t = r.data
    assert (t["name"], t["version"], t["content_type"], t["operation_count"]) == (title, "2.0.1", "json", 3)
    assert "template_content" not in t
    got = api.get(f"/api/templates/{t['id']}?include_content=true").data
    assert json.loads(got["template_content"])["info"]["title"] == title


@pytest.mark.parametrize("ctype", ["application/yaml", "text/yaml", "application/json"])
def test_template_from_a_raw_spec_body_takes_metadata_from_the_query(api, ctype):
    import yaml
    title = uniq("raw")
    spec = json.loads(mini_spec(title))
    body = json.dumps(spec) if ctype == "application/json" else yaml.safe_dump(spec)
    r = api.post(f"/api/templates?category=raw&tags=x,y&is_public=true&version=9", body=body,
                 headers={"Content-Type": ctype})
    assert r.status == 201, r.json
    assert (r.data["name"], r.data["version"], r.data["category"], r.data["tags"], r.data["is_public"]) == \
        (title, "9", "raw", ["x", "y"], True)
    assert r.data["content_type"] == ("json" if ctype == "application/json" else "yaml")


def test_duplicate_template_name_and_version_is_409(api):
    body = {"content": mini_spec(uniq("dup"))}
    assert api.post("/api/templates", body).status == 201
    r = api.post("/api/templates", body)
    assert r.status == 409 and r.error["code"] == "CONFLICT"


def test_templates_are_listed_with_filters(api):
    cat = uniq("cat")
    a = api.post("/api/templates", {"content": mini_spec(uniq("a")), "category": cat, "tags": ["red"]}).data
    b = api.post("/api/templates", {"content": mini_spec(uniq("b")), "category": cat, "tags": ["blue"],
                                    "is_public": True}).data
    assert {t["id"] for t in api.get(f"/api/templates?category={cat}").data["items"]} == {a["id"], b["id"]}
    assert [t["id"] for t in api.get(f"/api/templates?category={cat}&tag=red").data["items"]] == [a["id"]]
    assert [t["id"] for t in api.get(f"/api/templates?category={cat}&is_public=true").data["items"]] == [b["id"]]
    page = api.get(f"/api/templates?text={a['name']}").data
    assert page["total"] == 1 and page["has_more"] is False


def test_template_update_revalidates_content_and_delete_detaches_documents(api, db):
    t = api.post("/api/templates", {"content": mini_spec(uniq("upd"))}).data
    bad = api.put(f"/api/templates/{t['id']}", {"content": '{"openapi": "3.0.0", "paths": 5}'})
    assert bad.status == 400
    ok = api.put(f"/api/templates/{t['id']}", {"description": "new", "status": "deprecated"})
    assert ok.status == 200 and ok.data["description"] == "new" and ok.data["status"] == "deprecated"
    d = api.post("/api/documents", {"template_id": t["id"]}).data["document"]
    assert d["template_id"] == t["id"]
    assert api.delete(f"/api/templates/{t['id']}").data["documents_detached"] == 1
    assert api.get(f"/api/templates/{t['id']}").status == 404
    assert api.get(f"/api/documents/{d['id']}").data["template_id"] is None


# ---- documents ---------------------------------------------------------------------------------------

def test_document_without_an_absolute_server_asks_for_base_url(api, db):
    spec = mini_spec(uniq("rel"), servers=[{"url": "/v1"}])
    r = api.post("/api/documents", {"content": spec})
    assert r.status == 400 and "base_url" in r.error["message"]
    r = api.post("/api/documents", {"content": spec, "base_url": "https://given.example.com/v1/"})
    assert r.status == 201 and r.data["document"]["base_url"] == "https://given.example.com/v1"


def test_auth_config_is_stored_encrypted_and_shown_masked(api, db, doc):
    d = doc["document"]
    assert d["auth_config"] == {"type": "http", "scheme": "bearer", "token": "********"}
    raw = db.scalar("SELECT auth_config::text FROM api_documents WHERE id = CAST(:id AS uuid)", id=d["id"])
    assert "s3cret-token" not in raw and "_enc" in raw
    assert "s3cret-token" not in json.dumps(api.get(f"/api/documents/{d['id']}").json)
    from chalicelib.catalog.service import document_auth_config
    # sending the mask back keeps the stored secret
    r = api.put(f"/api/documents/{d['id']}", {"auth_config": {**d["auth_config"], "headers": {"X-A": "1"}},
                                              "description": "edited"})
    assert r.status == 200 and r.data["description"] == "edited"
    assert document_auth_config(db, d["id"]) == {"type": "http", "scheme": "bearer", "token": "s3cret-token",
                                                 "headers": {"X-A": "1"}}
    audit = db.query("SELECT old_data::text AS o, new_data::text AS n FROM api_audit_logs "
                     "WHERE record_id = CAST(:id AS uuid)", id=d["id"])
    assert audit and all("s3cret-token" not in (a["o"] or "") + (a["n"] or "") for a in audit)


@pytest.mark.parametrize("cfg, loc", [
    ({"type": "apiKey", "in": "body", "name": "k", "value": "v"}, "in"),
    ({"type": "http", "scheme": "basic", "username": "u"}, "password"),
    ({"type": "oauth2", "flow": "client_credentials", "client_id": "c", "client_secret": "s"}, "token_url"),
])
def test_an_incomplete_auth_config_is_a_400(api, cfg, loc):
    r = api.post("/api/documents", {"content": mini_spec(uniq()), "auth_config": cfg})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"][-1] == loc


def test_documents_are_listed_with_filters_and_without_spec_bodies(api, doc):
    d = doc["document"]
    page = api.get(f"/api/documents?text={d['name']}").data
    assert [x["id"] for x in page["items"]] == [d["id"]]
    assert "parsed_spec" not in page["items"][0] and "original_content" not in page["items"][0]
    assert api.get(f"/api/documents?text={d['name']}&status=inactive").data["total"] == 0
    full = api.get(f"/api/documents/{d['id']}?include_spec=true").data
    assert full["parsed_spec"]["info"]["title"] == d["name"]
    raw = api.get(f"/api/documents/{d['id']}/content")
    assert raw.status == 200 and json.loads(raw.body)["info"]["title"] == d["name"]


def test_deleting_a_document_leaves_no_orphans(api, db, doc):
    d = doc["document"]
    ep_ids = [e["id"] for e in doc["endpoints"]]
    for ep in ep_ids:
        db.execute("INSERT INTO resource_references (resource_type, resource_id, api_endpoint_id) "
                   "VALUES ('workflow_node', gen_random_uuid(), CAST(:e AS uuid))", e=ep)
        db.execute("INSERT INTO api_call_logs (api_endpoint_id, request_method, request_url) "
                   "VALUES (CAST(:e AS uuid), 'GET', 'https://api.example.com/v1/pets')", e=ep)
    db.execute("INSERT INTO api_health_checks (api_document_id, check_type, status) "
               "VALUES (CAST(:d AS uuid), 'connectivity', 'success')", d=d["id"])
    orphans_sql = ("SELECT (SELECT COUNT(*) FROM api_endpoints e WHERE NOT EXISTS"
                   " (SELECT 1 FROM api_documents d WHERE d.id = e.api_document_id)) AS endpoints,"
                   " (SELECT COUNT(*) FROM resource_references r WHERE NOT EXISTS"
                   " (SELECT 1 FROM api_endpoints e WHERE e.id = r.api_endpoint_id)) AS refs")
    orphans_before = db.one(orphans_sql)
    r = api.delete(f"/api/documents/{d['id']}")
    assert r.status == 200
    assert r.data["removed"] == {"endpoints": 3, "resource_references": 3, "call_logs": 3, "health_checks": 1}
    left = db.one(
        "SELECT (SELECT COUNT(*) FROM api_documents WHERE id = CAST(:d AS uuid)) AS docs,"
        " (SELECT COUNT(*) FROM api_endpoints WHERE api_document_id = CAST(:d AS uuid)) AS eps,"
        " (SELECT COUNT(*) FROM resource_references WHERE api_endpoint_id = ANY(CAST(:e AS uuid[]))) AS refs,"
        " (SELECT COUNT(*) FROM api_call_logs WHERE api_endpoint_id = ANY(CAST(:e AS uuid[]))) AS logs,"
        " (SELECT COUNT(*) FROM api_health_checks WHERE api_document_id = CAST(:d AS uuid)) AS hc",
        d=d["id"], e=ep_ids)
    assert left == {"docs": 0, "eps": 0, "refs": 0, "logs": 0, "hc": 0}
    # and across the whole database the delete made no new orphan (other tests' rows are theirs)
    assert db.one(orphans_sql) == orphans_before
    assert api.delete(f"/api/documents/{d['id']}").status == 404


# ---- re-import -----------------------------------------------------------------------------------------

def test_reimport_answers_a_diff_and_keeps_ids_statistics_and_references(api, db, doc):
    d = doc["document"]
    ids = {(e["method"], e["path"]): e["id"] for e in doc["endpoints"]}
    get_pet, list_pets, create_pet = ids[("GET", "/pets/{id}")], ids[("GET", "/pets")], ids[("POST", "/pets")]
    db.execute("UPDATE api_endpoints SET call_count = 7 WHERE id = CAST(:e AS uuid)", e=list_pets)
    ref_removed = db.scalar("INSERT INTO resource_references (resource_type, resource_id, api_endpoint_id) "
                            "VALUES ('form', gen_random_uuid(), CAST(:e AS uuid)) RETURNING id", e=create_pet)
    spec = json.loads(mini_spec(d["name"], "1.1.0"))
    del spec["paths"]["/pets"]["post"]
    spec["paths"]["/pets"]["get"]["summary"] = "List all pets"
    spec["paths"]["/pets"]["get"]["deprecated"] = True
    spec["paths"]["/owners"] = {"get": {"operationId": "listOwners", "responses": {"200": {"description": "ok"}}}}
    r = api.post(f"/api/documents/{d['id']}/reimport", {"content": json.dumps(spec)})
    assert r.status == 200, r.json
    diff = r.data["diff"]
    assert r.data["counts"] == {"added": 1, "changed": 1, "removed": 1, "unchanged": 1}
    assert [(a["method"], a["path"]) for a in diff["added"]] == [("GET", "/owners")]
    assert diff["changed"] == [{"id": list_pets, "method": "GET", "path": "/pets",
                                "changes": ["summary", "is_deprecated"]}]
    assert [x["id"] for x in diff["removed"]] == [create_pet]
    assert [x["id"] for x in diff["unchanged"]] == [get_pet]
    assert r.data["document"]["version"] == "1.1.0"
    rows = {str(x["id"]): x for x in db.query(
        "SELECT id, status, call_count, removed_at FROM api_endpoints WHERE api_document_id = CAST(:d AS uuid)",
        d=d["id"])}
    assert len(rows) == 4  # nothing deleted
    assert rows[list_pets]["call_count"] == 7 and rows[list_pets]["status"] == "deprecated"
    assert rows[create_pet]["status"] == "inactive" and rows[create_pet]["removed_at"] is not None
    assert db.scalar("SELECT status FROM resource_references WHERE id = :i", i=ref_removed) == "error"
    doc_row = api.get(f"/api/documents/{d['id']}").data
    assert (doc_row["total_endpoints"], doc_row["active_endpoints"]) == (4, 2)

    # the removed endpoint comes back with its id
    r2 = api.post(f"/api/documents/{d['id']}/reimport", {"content": mini_spec(d["name"], "1.2.0")})
    assert r2.status == 200
    restored = [c for c in r2.data["diff"]["changed"] if c["id"] == create_pet]
    assert restored and "restored" in restored[0]["changes"]
    assert [x["id"] for x in r2.data["diff"]["removed"]] == [rows_id for rows_id in
                                                             [x["id"] for x in diff["added"]]]


def test_reimport_of_a_broken_spec_changes_nothing(api, db, doc):
    d = doc["document"]
    before = db.one("SELECT updated_at, version FROM api_documents WHERE id = CAST(:id AS uuid)", id=d["id"])
    r = api.post(f"/api/documents/{d['id']}/reimport", {"content": '{"openapi": "3.0.0", "paths": []}'})
    assert r.status == 400
    assert db.one("SELECT updated_at, version FROM api_documents WHERE id = CAST(:id AS uuid)", id=d["id"]) == before


# ---- endpoints -----------------------------------------------------------------------------------------

def test_endpoints_are_browsed_with_filters_sorting_and_a_total(api, doc):
    d = doc["document"]["id"]
    page = api.get(f"/api/endpoints?document_id={d}&sort=-path").data
    assert page["total"] == 3 and [e["path"] for e in page["items"]] == ["/pets/{id}", "/pets", "/pets"]
    assert set(page["items"][0]) >= {"endpoint_id", "api_name", "reference_count", "call_count", "base_url"}
    assert api.get(f"/api/endpoints?document_id={d}&method=post").data["total"] == 1
    assert api.get(f"/api/endpoints?document_id={d}&text=getPet").data["items"][0]["operation_id"] == "getPet"
    assert api.get(f"/api/endpoints?document_id={d}&tag=pets&limit=2").data["has_more"] is True
    assert api.get(f"/api/endpoints?document_id={d}&status=deprecated").data["total"] == 0
    assert api.get(f"/api/endpoints?sort=nope").status == 400


def test_an_endpoint_detail_has_resolved_schemas_with_cycles_marked(api, doc):
    ep = next(e for e in doc["endpoints"] if e["operation_id"] == "listPets")
    r = api.get(f"/api/endpoints/{ep['id']}")
    assert r.status == 200
    data = r.data
    assert data["response_schemas"]["200"]["content"]["application/json"]["items"] == {
        "$ref": "#/components/schemas/Pet"}
    items = data["resolved"]["response_schemas"]["200"]["content"]["application/json"]["items"]
    assert items["properties"]["name"] == {"type": "string"}
    assert items["properties"]["parent"] == {"$ref": "#/components/schemas/Pet", "x-circular": True}
    assert api.get(f"/api/endpoints/{uuid.uuid4()}").status == 404


def test_an_openai_endpoint_resolves_lazily(api, db):
    r = api.post("/api/documents", {"content": (SPECS / "openai.yaml").read_text(), "name": uniq("oai")})
    assert r.status == 201
    ep = next(e for e in r.data["endpoints"] if e["operation_id"] == "createChatCompletion")
    detail = api.get(f"/api/endpoints/{ep['id']}").data
    body = detail["resolved"]["request_body_schema"]["content"]["application/json"]["schema"]
    assert "$ref" not in json.dumps(body)[:200] and "messages" in json.dumps(body)
    api.delete(f"/api/documents/{r.data['document']['id']}")


def test_patching_an_endpoint_updates_and_audits(api, db, doc):
    ep = doc["endpoints"][0]["id"]
    r = api.patch(f"/api/endpoints/{ep}", {"status": "inactive", "timeout_ms": 5000, "rate_limit_enabled": True})
    assert r.status == 200
    assert (r.data["status"], r.data["timeout_ms"], r.data["rate_limit_enabled"]) == ("inactive", 5000, True)
    assert api.get(f"/api/documents/{doc['document']['id']}").data["active_endpoints"] == 2
    assert api.patch(f"/api/endpoints/{ep}", {"timeout_ms": 0}).status == 400
    logs = api.get(f"/api/audit-logs?table_name=api_endpoints&record_id={ep}").data["items"]
    assert logs[0]["operation"] == "UPDATE"
    assert logs[0]["old_data"]["status"] == "active" and logs[0]["new_data"]["status"] == "inactive"
    assert logs[-1]["operation"] == "INSERT"


def test_every_catalog_write_is_audited(api, doc):
    d = doc["document"]["id"]
    logs = api.get(f"/api/audit-logs?table_name=api_documents&record_id={d}").data["items"]
    assert [x["operation"] for x in logs] == ["INSERT"]
    api.delete(f"/api/documents/{d}")
    logs = api.get(f"/api/audit-logs?table_name=api_documents&record_id={d}").data["items"]
    assert [x["operation"] for x in logs] == ["DELETE", "INSERT"]
    ep = doc["endpoints"][0]["id"]
    assert api.get(f"/api/audit-logs?record_id={ep}&operation=delete").data["total"] == 1


def test_an_import_writes_the_document_its_endpoints_and_one_audit_row_each(api, doc):
    d, eps = doc["document"], doc["endpoints"]
    logs = api.get(f"/api/audit-logs?table_name=api_documents&record_id={d['id']}").data["items"]
    assert len(logs) == 1 and logs[0]["operation"] == "INSERT" and logs[0]["old_data"] is None
    kept = logs[0]["new_data"]
    assert {k: kept[k] for k in ("name", "version", "base_url", "status", "total_endpoints", "active_endpoints",
                                 "spec_version", "server_index", "template_id", "rate_limit_config")} == {
        k: d[k] for k in ("name", "version", "base_url", "status", "total_endpoints", "active_endpoints",
                          "spec_version", "server_index", "template_id", "rate_limit_config")}
    assert kept["auth_config"] == {"type": "http", "scheme": "bearer", "token": "********"}
    assert "parsed_spec" not in kept and "original_content" not in kept
    assert sorted((e["method"], e["path"]) for e in eps) == [("GET", "/pets"), ("GET", "/pets/{id}"),
                                                             ("POST", "/pets")]
    for e in eps:
        assert api.get(f"/api/endpoints/{e['id']}").data["operation_id"] == e["operation_id"]
        rows = api.get(f"/api/audit-logs?table_name=api_endpoints&record_id={e['id']}").data["items"]
        assert [(r["operation"], r["new_data"]["path"], r["new_data"]["api_document_id"]) for r in rows] == [
            ("INSERT", e["path"], d["id"])]


def test_a_refused_import_leaves_no_document_endpoint_or_audit_row(api, db, doc):
    before = counts(db)
    audits = db.scalar("SELECT COUNT(*) FROM api_audit_logs")
    again = api.post("/api/documents", {"content": mini_spec(doc["document"]["name"])})
    assert again.status == 409, again.json
    assert counts(db) == before and db.scalar("SELECT COUNT(*) FROM api_audit_logs") == audits


def test_viewers_read_and_cannot_write(api, keys):
    viewer = api.as_key(keys["viewer"])
    assert viewer.get("/api/endpoints").status == 200
    assert viewer.post("/api/documents", {"content": mini_spec(uniq())}).status == 403


# ---- import-url through the outbound guard ----------------------------------------------------------

@pytest.fixture
def spec_server():
    files = {"/specs/openapi.json": (mini_spec(uniq("remote"), servers=[{"url": "/api/v2"}]), "application/json"),
             "/specs/docker.yaml": ((SPECS / "docker_engine_swagger2.yaml").read_text(), "application/yaml"),
             "/redirect-to-metadata": None}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/redirect-to-metadata":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            hit = files.get(self.path)
            if hit is None:
                self.send_response(404)
                self.end_headers()
                return
            body = hit[0].encode()
            self.send_response(200)
            self.send_header("Content-Type", hit[1])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_url_refuses_a_loopback_target_without_the_allowlist(api, db, spec_server):
    before = counts(db)
    r = api.post("/api/templates/import-url", {"url": spec_server + "/specs/openapi.json"})
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert counts(db) == before


def test_import_url_fetches_an_allowlisted_spec_and_resolves_relative_servers(api, spec_server):
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1/32",)))
    r = api.post("/api/templates/import-url", {"url": spec_server + "/specs/openapi.json", "category": "remote"})
    assert r.status == 201, r.json
    t = r.data
    assert t["source_url"] == spec_server + "/specs/openapi.json" and t["category"] == "remote"
    d = api.post("/api/documents", {"template_id": t["id"]})
    assert d.status == 201, d.json
    assert d.data["document"]["base_url"] == spec_server + "/api/v2"
    y = api.post("/api/templates/import-url", {"url": spec_server + "/specs/docker.yaml"})
    assert y.status == 201 and y.data["content_type"] == "yaml" and y.data["operation_count"] == 108


def test_import_url_refuses_a_redirect_to_the_metadata_address(api, spec_server):
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1/32",)))
    r = api.post("/api/templates/import-url", {"url": spec_server + "/redirect-to-metadata"})
    assert 400 <= r.status < 600 and r.status != 201
    assert "169.254.169.254" in json.dumps(r.json)


def test_import_url_can_run_as_a_job(api, spec_server):
    import time
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1/32",)))
    r = api.post("/api/templates/import-url", {"url": spec_server + "/specs/docker.yaml", "async": True,
                                               "name": uniq("job")})
    assert r.status == 202, r.json
    job_id = r.data["id"]
    deadline = time.monotonic() + 60
    job = r.data
    while job["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = api.get(f"/api/jobs/{job_id}").data
    assert job["status"] == "succeeded", job
    assert job["result"]["operation_count"] == 108
    assert api.get(f"/api/templates/{job['result']['template_id']}").data["source_url"].endswith("docker.yaml")


def test_a_document_import_can_run_as_a_job_from_a_template(api):
    import time
    from chalicelib.jobs import submit_job
    t = api.post("/api/templates", {"content": mini_spec(uniq("jobdoc"))}).data
    job = submit_job("catalog.import_document", {"template_id": str(t["id"]), "name": uniq("jd")})
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = api.get(f"/api/jobs/{job['id']}").data
    assert job["status"] == "succeeded", job
    assert job["result"]["endpoints"] == 3
    assert api.get(f"/api/documents/{job['result']['document_id']}").data["template_id"] == t["id"]


def test_document_import_with_async_answers_202_and_keeps_auth_sealed(api, db):
    import time
    token = "tok-" + uniq("secret")
    r = api.post("/api/documents", {"content": mini_spec(uniq("asyncdoc")), "async": True,
                                    "base_url": "https://api.example.com",
                                    "auth_config": {"type": "http", "scheme": "bearer", "token": token}})
    assert r.status == 202, r.json
    job = r.data
    assert token not in json.dumps(db.one("SELECT payload FROM jobs WHERE id = CAST(:id AS uuid)", id=job["id"]),
                                   default=str)
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = api.get(f"/api/jobs/{job['id']}").data
    assert job["status"] == "succeeded", job
    doc = api.get(f"/api/documents/{job['result']['document_id']}").data
    assert doc["auth_config"]["token"] == "********"
    assert job["result"]["endpoints"] == 3
