"""Templates, URL imports that hit a name clash, the document header after a
re-import, API keys (shown once, revoked), the audit log, call logs across
endpoints and resource references - each through the console."""
from __future__ import annotations

import copy
import json
import uuid

import pytest

from tests.console.helpers import FORM_SPEC, import_doc, upstream
from tests.net.loopback_http import LoopbackServer


@pytest.fixture
def spec_server():
    spec = {"openapi": "3.0.3", "info": {"title": f"Petstore {uuid.uuid4().hex[:6]}", "version": "1.0.0"},
            "servers": [{"url": "http://127.0.0.1:9/v1"}],
            "paths": {"/pets": {"get": {"operationId": "listPets", "responses": {"200": {"description": "ok"}}}}}}
    with LoopbackServer(lambda req: (200, {"Content-Type": "application/json"}, spec)) as srv:
        yield srv, spec


def _templates_named(api, name):
    return [t for t in api.get(f"/api/templates?text={name}&limit=100").data["items"] if t["name"] == name]


def test_a_url_import_with_a_clashing_name_leaves_no_template_and_a_retry_under_another_name_works(browser, keys, api, spec_server):
    srv, spec = spec_server
    taken = f"taken {uuid.uuid4().hex[:6]}"
    import_doc(api, spec, "http://127.0.0.1:9", name=taken)           # a document already has this name
    b = browser
    b.allow_console(r"api/documents .*409")
    b.sign_in(keys["operator"])
    b.go("#/catalog")
    b.click('#import-form [data-tab="url"]')
    b.fill("#import-url", srv.url("/openapi.json"))
    b.fill("#import-name", taken)
    b.click("#import-submit")
    b.wait_text("#import-result .error-box", "CONFLICT")
    assert _templates_named(api, taken) == []                          # the template of the failed attempt is gone
    fresh = f"fresh {uuid.uuid4().hex[:6]}"
    b.fill("#import-name", fresh)
    b.click("#import-submit")
    b.wait_text("[data-testid=import-done]", "1 endpoints", timeout=20)
    assert not b.find_all("#import-result .error-box")
    assert [t["name"] for t in _templates_named(api, fresh)] == [fresh]  # the Name names the template too


def test_the_templates_page_filters_views_and_deletes_a_template(browser, keys, api):
    name = f"orphan {uuid.uuid4().hex[:6]}"
    spec = copy.deepcopy(FORM_SPEC)
    r = api.post("/api/templates", {"content": json.dumps(spec), "name": name, "category": "console", "tags": ["t1"]})
    assert r.status == 201, r.body
    b = browser
    b.sign_in(keys["operator"])
    b.go("#/templates")
    b.fill('#template-filters input[name=text]', name)
    b.click("#template-filters button[type=submit]")
    b.wait(lambda: len(b.find_all("#template-list tbody tr[data-template-id]")) == 1, what="one template")
    assert f"text={name.replace(' ', '+')}" in b.js("return location.hash")
    b.click_text("#template-list a", name)
    b.wait_text("#main h1", name)
    b.click("#template-show-content")
    assert "CreateMessage" in b.find("#template-content").text
    b.js("window.confirm = () => true")
    b.click("#template-delete")
    b.wait_text("#main h1", "Templates")
    assert _templates_named(api, name) == []


def test_the_document_header_shows_the_new_version_after_a_reimport(browser, keys, api):
    doc = import_doc(api, FORM_SPEC, "http://127.0.0.1:9")
    b = browser
    b.sign_in(keys["operator"])
    b.go(f"#/document/{doc['id']}")
    assert b.find("#doc-version").text == "1.0.0"
    newer = copy.deepcopy(FORM_SPEC)
    newer["info"]["version"] = "2.0.0"
    del newer["paths"]["/broken"]
    b.fill("#doc-reimport textarea[name=content]", json.dumps(newer))
    b.click("#doc-reimport button[type=submit]")
    b.find("[data-testid=reimport-diff]", timeout=20)
    b.wait(lambda: b.find("#doc-version").text == "2.0.0", what="the header's new version")
    assert "3 active / 4" in b.find("#doc-facts").text


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it(browser, keys, api):
    b = browser
    b.sign_in(keys["admin"])
    b.go("#/keys")
    name = f"ci {uuid.uuid4().hex[:6]}"
    b.fill("#key-name", name)
    b.choose("#key-role", "viewer")
    b.click("#key-create")
    secret = b.find("#key-secret").get_attribute("value")
    assert len(secret) > 20
    assert api.as_key(secret).get("/api/whoami").data["role"] == "viewer"
    b.wait_text("#key-list tbody tr", name)
    assert secret not in b.find("#key-list").text                     # the list never shows a key
    b.go("#/catalog"); b.go("#/keys")
    b.wait_text("#key-list tbody tr", name)
    assert not b.find_all("#key-secret")                              # shown once
    b.js("window.confirm = () => true")
    b.wait_text("#key-list tbody tr", name).find_element("css selector", "button[data-revoke]").click()
    b.wait(lambda: "revoked" in b.wait_text("#key-list tbody tr", name).text, what="revoked")
    assert api.as_key(secret).get("/api/whoami").status == 401


def test_operators_read_the_audit_log_and_viewers_do_not_see_it(browser, keys, api):
    doc = import_doc(api, FORM_SPEC, "http://127.0.0.1:9")
    assert api.put(f"/api/documents/{doc['id']}", {"base_url": "http://127.0.0.1:10"}).status == 200
    b = browser
    b.sign_in(keys["operator"])
    b.go(f"#/audit?record_id={doc['id']}")
    b.wait(lambda: len(b.find_all("#audit-list tbody tr")) >= 2, what="audit rows")
    text = b.find("#audit-list").text
    assert "INSERT" in text and "UPDATE" in text
    assert "base_url" in text                                          # the changed field is named
    b.click("#signout")
    b.sign_in(keys["viewer"])
    assert not any(a.is_displayed() for a in b.find_all('#nav a[data-section="audit"]'))


def test_call_logs_across_endpoints_filter_by_status_and_keep_filters_on_reload(browser, keys, api):
    with upstream() as up:
        doc = import_doc(api, FORM_SPEC, up.url(""))
        ok, bad = doc["endpoints"][("GET", "/Accounts.json")], doc["endpoints"][("GET", "/broken")]
        for eid in (ok, ok, bad):
            assert api.post(f"/api/endpoints/{eid}/invoke", {}).status == 200
    b = browser
    b.sign_in(keys["viewer"])
    b.go(f"#/calls?document_id={doc['id']}")
    b.wait(lambda: b.find("#calls-total").text.startswith("3 "), what="3 calls")
    b.choose("#calls-status-class", "5xx")
    b.click("#calls-apply")
    b.wait(lambda: b.find("#calls-total").text.startswith("1 "), what="1 failed call")
    b.driver.refresh()
    b.wait(lambda: b.find("#calls-total").text.startswith("1 "), what="filters kept on reload")
    assert b.find("#calls-status-class").get_attribute("value") == "5xx"
    b.click("#call-list tbody tr a")
    b.wait_text("#main h1", "/broken")
    assert json.loads(b.find("[data-testid=call-response-body]").text) == {"error": "boom"}


def test_a_reference_is_created_with_a_mapping_invoked_and_its_usage_counted(browser, keys, api):
    with upstream() as up:
        doc = import_doc(api, FORM_SPEC, up.url(""))
        b = browser
        b.sign_in(keys["operator"])
        b.go("#/references")
        b.choose("#ref-document", doc["id"])
        b.choose("#ref-endpoint", text="POST /Accounts/{AccountSid}/Messages.json")
        b.wait(lambda: b.find_all("#ref-mapping tr.map-row"), what="mapping rows from the parameters")
        assert b.find("#ref-mapping input[name=map_key]").get_attribute("value") == "path.AccountSid"
        rows = b.find_all("#ref-mapping tr.map-row")
        rows[-1].find_element("css selector", "input[name=map_key]").clear()
        rows[-1].find_element("css selector", "input[name=map_key]").send_keys("body")
        b.js("arguments[0].value = arguments[1]", rows[-1].find_element("css selector", "input[name=map_value]"),
             '{"To": "{{ input.to }}"}')
        b.fill("#ref-name", "notify node")
        b.click("#ref-create")
        b.wait_text("#main h1", "notify node", timeout=20)
        b.fill("#ref-input", json.dumps({"AccountSid": "AC" + "ab" * 16, "to": "+15550001111"}))
        b.click("#ref-invoke")
        b.wait_text("#try-response", "HTTP 201", timeout=20)
        b.wait(lambda: b.find("#ref-usage").text == "1", what="usage counted")
        b.wait(lambda: b.find_all("#ref-calls tbody tr .badge.ok"), what="the call listed")
        sent = [r for r in up.requests if r.method == "POST"][-1]
        assert sent.path.endswith(f"/Accounts/AC{'ab' * 16}/Messages.json")
        assert "To=%2B15550001111" in sent.body.decode()
