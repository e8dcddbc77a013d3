"""Resource references: CRUD, invoke through the mapping, usage, stats view,
and references to inactive or removed endpoints."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.gateway import mapping
from chalicelib.errors import ValidationError
from tests.gateway.helpers import import_spec, spec_text

PATHS = {
    "/pets/{petId}": {"post": {
        "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}},
                       {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                           "meta": {"type": "object"}}}}}},
        "responses": {"200": {"description": "ok"}}}},
}


def echo(req):
    return 200, {}, {"path": req.path, "query": dict(req.query), "trace": req.headers.get("X-Trace"),
                     "body": req.json()}


@pytest.fixture
def endpoint(db, loopback):
    loopback.handler = echo
    d = import_spec(db, spec_text(PATHS), base_url=loopback.url(""))
    return {"document_id": d["document_id"], "id": d["endpoints"][("POST", "/pets/{petId}")]}


CONFIG = {
    "path.petId": "{{ input.pet_id }}",
    "query.limit": 20,
    "headers.X-Trace": "trace-{{ input.trace_id }}",
    "body": {"name": "{{ input.name | upper }}", "tags": "{{ input.tags }}"},
    "body.meta.source": "{{ reference.resource_type }}",
    "defaults": {"trace_id": "none", "tags": []},
}


def create(api, endpoint, **over):
    payload = {"resource_type": "workflow_node", "resource_id": str(uuid.uuid4()),
               "api_endpoint_id": endpoint["id"], "reference_config": CONFIG, "display_name": "node 1"}
    payload.update(over)
    return api.post("/api/references", payload)


def test_reference_crud(api, endpoint):
    r = create(api, endpoint)
    assert r.status == 201, r.json
    ref = r.data
    assert ref["status"] == "active" and ref["usage_count"] == 0 and ref["endpoint_method"] == "POST"
    got = api.get(f"/api/references/{ref['id']}")
    assert got.data["reference_config"] == CONFIG
    listed = api.get(f"/api/references?resource_id={ref['resource_id']}")
    assert listed.data["total"] == 1 and listed.data["items"][0]["id"] == ref["id"]
    assert api.get(f"/api/references?endpoint_id={endpoint['id']}&resource_type=dashboard").data["total"] == 0
    upd = api.patch(f"/api/references/{ref['id']}", {"display_name": "renamed", "status": "inactive"})
    assert upd.data["display_name"] == "renamed" and upd.data["status"] == "inactive"
    assert api.post(f"/api/references/{ref['id']}/invoke", {"input": {}}).status == 409
    assert api.delete(f"/api/references/{ref['id']}").status == 200
    assert api.get(f"/api/references/{ref['id']}").status == 404


def test_reference_to_unknown_endpoint_is_404(api):
    r = api.post("/api/references", {"resource_type": "form", "resource_id": str(uuid.uuid4()),
                                     "api_endpoint_id": str(uuid.uuid4())})
    assert r.status == 404


@pytest.mark.parametrize("cfg,fragment", [
    ({"nowhere.x": 1}, "expected path.<name>"),
    ({"path.petId": "{% for x in y %}{% endfor %}"}, "statement"),
    ({"path.petId": "{{ input.pet_id "}, "does not compile"),
])
def test_bad_mappings_are_refused_on_save(api, endpoint, cfg, fragment):
    r = create(api, endpoint, reference_config=cfg)
    assert r.status == 400 and fragment in r.error["message"]


def test_invoking_a_reference_renders_its_mapping_and_counts_usage(api, db, endpoint, loopback):
    ref = create(api, endpoint).data
    r = api.post(f"/api/references/{ref['id']}/invoke", {"input": {"pet_id": 42, "name": "rex", "tags": ["a", "b"]}})
    assert r.status == 200, r.json
    body = r.data["body"]
    assert body["path"] == "/pets/42"
    assert body["query"] == {"limit": "20"}
    assert body["trace"] == "trace-none"
    assert body["body"] == {"name": "REX", "tags": ["a", "b"], "meta": {"source": "workflow_node"}}
    row = db.one("SELECT resource_reference_id::text AS rid FROM api_call_logs WHERE id = CAST(:id AS uuid)",
                 id=r.data["log_id"])
    assert row["rid"] == ref["id"]
    again = api.get(f"/api/references/{ref['id']}").data
    assert again["usage_count"] == 1 and again["last_used_at"] is not None
    logs = api.get(f"/api/call-logs?reference_id={ref['id']}")
    assert logs.data["total"] == 1


def test_missing_input_and_sandbox_escapes_are_400(api, endpoint, loopback):
    ref = create(api, endpoint).data
    r = api.post(f"/api/references/{ref['id']}/invoke", {"input": {"name": "x"}})
    assert r.status == 400 and "pet_id" in r.error["message"]
    evil = create(api, endpoint, reference_config={"path.petId": "{{ input.__class__.__mro__ }}"}).data
    r = api.post(f"/api/references/{evil['id']}/invoke", {"input": {"pet_id": 1}})
    assert r.status == 400
    assert loopback.requests == []


def test_rendered_values_are_validated_like_direct_calls(api, endpoint, loopback):
    ref = create(api, endpoint, reference_config={**CONFIG, "query.limit": "{{ input.limit }}"}).data
    r = api.post(f"/api/references/{ref['id']}/invoke", {"input": {"pet_id": 1, "name": "a", "limit": 500}})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("change", ["deactivate", "remove"])
def test_reference_to_inactive_or_removed_endpoint_is_409_and_shows_error(api, db, endpoint, change):
    ref = create(api, endpoint).data
    if change == "deactivate":
        db.execute("UPDATE api_endpoints SET status = 'inactive' WHERE id = CAST(:id AS uuid)", id=endpoint["id"])
    else:
        db.execute("DELETE FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=endpoint["id"])
    assert api.get(f"/api/references/{ref['id']}").data["status"] == "error"
    r = api.post(f"/api/references/{ref['id']}/invoke", {"input": {"pet_id": 1, "name": "a"}})
    assert r.status == 409 and r.error["details"]["status"] == "error"
    stored = db.scalar("SELECT status FROM resource_references WHERE id = CAST(:id AS uuid)", id=ref["id"])
    assert stored == "error"
    assert api.get(f"/api/references?status=error&resource_id={ref['resource_id']}").data["total"] == 1
    api.delete(f"/api/references/{ref['id']}")


def test_a_reference_recovers_to_active_when_its_endpoint_is_active_again(api, endpoint, loopback):
    ref = create(api, endpoint).data
    assert api.patch(f"/api/endpoints/{endpoint['id']}", {"status": "inactive"}).status == 200
    assert api.get(f"/api/references/{ref['id']}").data["status"] == "error"
    r = api.post(f"/api/references/{ref['id']}/invoke", {"input": {"pet_id": 1, "name": "a"}})
    assert r.status == 409  # stored as error now
    assert api.patch(f"/api/endpoints/{endpoint['id']}", {"status": "active"}).status == 200
    assert api.get(f"/api/references/{ref['id']}").data["status"] == "active"
    listed = api.get(f"/api/references?status=active&resource_id={ref['resource_id']}").data
    assert [i["id"] for i in listed["items"]] == [ref["id"]]
    stats = api.get(f"/api/references/stats?resource_id={ref['resource_id']}").data["items"][0]
    assert stats["active_references"] == 1 and stats["error_references"] == 0


def test_a_document_reactivated_recovers_its_references(api, endpoint):
    ref = create(api, endpoint).data
    assert api.put(f"/api/documents/{endpoint['document_id']}", {"status": "inactive"}).status == 200
    assert api.post(f"/api/references/{ref['id']}/invoke", {"input": {"pet_id": 1, "name": "a"}}).status == 409
    assert api.put(f"/api/documents/{endpoint['document_id']}", {"status": "active"}).status == 200
    stats = api.get(f"/api/references/stats?resource_id={ref['resource_id']}").data["items"][0]
    assert stats["active_references"] == 1 and stats["error_references"] == 0


@pytest.mark.parametrize("template,expected", [
    ("{{ input.items }}", ["a", "b"]),
    ("{{ input.keys }}", "k1"),
    ("{{ input.values | length }}", 3),
])
def test_mapping_names_are_the_inputs_keys_not_dict_methods(template, expected):
    built, _ = mapping.render({"body.v": template}, {"items": ["a", "b"], "keys": "k1", "values": [1, 2, 3]},
                              {"id": "r"})
    assert built.body == {"v": expected}


@pytest.mark.parametrize("template", ["{{ input.keys }}", "k={{ input.items }}", "{{ input.get }}"])
def test_a_mapping_that_reaches_a_dict_method_is_refused(template):
    with pytest.raises(ValidationError) as caught:
        mapping.render({"query.x": template}, {}, {"id": "r"})
    assert "function" in caught.value.message


def test_reference_stats_view(api, endpoint):
    resource = str(uuid.uuid4())
    a = create(api, endpoint, resource_id=resource).data
    create(api, endpoint, resource_id=resource, resource_type="workflow_node")
    api.post(f"/api/references/{a['id']}/invoke", {"input": {"pet_id": 1, "name": "a"}})
    api.post(f"/api/references/{a['id']}/invoke", {"input": {"pet_id": 2, "name": "b"}})
    r = api.get(f"/api/references/stats?resource_id={resource}")
    assert r.status == 200
    assert r.data["items"] == [{"resource_type": "workflow_node", "resource_id": resource, "total_references": 2,
                                "active_references": 2, "error_references": 0, "total_usage": 2,
                                "last_used": r.data["items"][0]["last_used"]}]
    assert r.data["items"][0]["last_used"] is not None


def test_whole_expression_templates_keep_native_types():
    built, timeout = mapping.render({"path.id": "{{ input.n + 1 }}", "query.ids": "{{ input.ids }}",
                                     "query.text": "n={{ input.n }}", "timeout_ms": 1500},
                                    {"n": 1, "ids": [1, 2]}, {"id": "r"})
    assert built.path_params == {"id": 2} and built.query == {"ids": [1, 2], "text": "n=1"}
    assert timeout == 1500


def test_mapping_statements_are_refused_even_at_render_time():
    with pytest.raises(ValidationError):
        mapping.render({"query.x": "{% set a = 1 %}"}, {}, {"id": "r"})
