"""Dynamic APIs in the browser (seed 002 steps 1-7): create a pool, write a
template, test it, publish it and call it."""
from __future__ import annotations

import json
import urllib.request
import uuid
from urllib.parse import urlsplit

import pytest

from tests.conftest import ADMIN_URL, TEST_DB_NAME


@pytest.fixture
def items_table(db):
    name = f"console_items_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE TABLE {name} (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8, 2))")
    db.execute(f"INSERT INTO {name} VALUES (1, 'alpha', 1.50), (2, 'beta', 2.50), (3, 'gamma', 3.50), (4, 'beta', 4.00)")
    yield name
    db.execute(f"DROP TABLE IF EXISTS {name}")


def set_sql(b, text: str) -> None:
    """Put text in the SQL editor (CodeMirror) as a paste would."""
    b.find("#dyn-template-editor")
    b.js("document.querySelector('#dyn-template-editor').CodeMirror.setValue(arguments[0])", text)


def _create_pool_in_the_ui(b, name: str) -> None:
    pg = urlsplit(ADMIN_URL)
    b.go("#/pools")
    b.fill("#pool-name", name)
    b.choose("#pool-db-type", "postgresql")
    b.fill("#pool-host", pg.hostname or "127.0.0.1")
    b.fill("#pool-port", str(pg.port or 5432))
    b.fill("#pool-database", TEST_DB_NAME)
    b.fill("#pool-username", pg.username or "postgres")
    if pg.password:
        b.fill("#pool-password", pg.password)
    b.click("#pool-create")
    row = b.wait_text("#pool-list tbody tr", name)
    row.find_element("css selector", "button.link").click()   # "test"
    b.wait_text("[data-testid=pool-test-ok]", "connected in")


def test_create_a_pool_write_a_template_test_publish_and_call_it(browser, keys, items_table, console_url):
    b = browser
    b.sign_in(keys["admin"])
    pool = f"console pool {uuid.uuid4().hex[:6]}"
    _create_pool_in_the_ui(b, pool)

    api_name = f"console-items-{uuid.uuid4().hex[:6]}"
    b.go("#/dynamic")
    b.click("#dyn-new")
    # 1. basic form
    b.fill("#dyn-name", api_name)
    b.choose("#dyn-method", "GET")
    b.fill("#dyn-category", "console")
    b.fill("#dyn-remark", "items by name, paged")
    # 2. SQL with the engine choice
    b.choose("#dyn-engine", "liquid")
    set_sql(b, f"SELECT id, name, price FROM {items_table}\nWHERE 1 = 1\n"
               "{% if name %}  AND name = {{ name }}\n{% endif %}")
    # the editor lists the template's variables and offers to declare them
    b.wait_text("#dyn-vars", "name")
    b.click_text("#dyn-vars button", "+ add name")
    b.wait(lambda: b.find("#dyn-params input[name=name]").get_attribute("value") == "name", what="parameter row")
    b.fill("#dyn-params input[name=display_text]", "Item name")
    # 3. pool picker
    b.choose("#dyn-pool", text=pool)
    # 4. paging and sorting switches
    b.click("input[name=is_paging]")
    b.click("input[name=is_sorting]")
    b.fill("#dyn-sortable", "id, name")
    b.fill("#dyn-default-sorting", "id desc")
    b.click("#dyn-save")
    b.wait_text("#main h1", api_name, timeout=20)
    b.wait_text("#dyn-status", "draft")

    # 7. the test screen: rendered SQL, bound values, result
    b.fill("#dyn-in-name", "beta")
    b.click("#dyn-run-test")
    sql = b.find("#dyn-test-sql", timeout=20).text
    assert "beta" not in sql and items_table in sql
    assert "beta" in b.find("#dyn-test-params").text
    rows = b.find("#dyn-test-rows").text
    assert "beta" in rows and "alpha" not in rows
    assert "totalCount 2" in b.find("#dyn-total").text
    b.shot("dynamic-test")

    # 6. publish (no permissions: public) and call it
    b.click("#dyn-publish")
    b.wait_text("#dyn-status", "published")
    b.wait_text("#dyn-publish-result", f"/api/dynamic-api/invoke/{api_name}")
    b.fill("#dyn-in-name", "gamma")
    b.click("#dyn-call")
    result = b.wait_text("#dyn-call-result", "HTTP 200", timeout=20)
    body = json.loads(result.find_element("css selector", "[data-testid=dyn-call-body]").text)
    assert body["totalCount"] == 1 and body["items"][0]["name"] == "gamma"

    # the published API answers anyone (empty permissions) over plain HTTP
    with urllib.request.urlopen(f"{console_url}/api/dynamic-api/invoke/{api_name}?name=beta&sorting=id%20asc", timeout=10) as r:
        data = json.loads(r.read())
    assert [i["id"] for i in data["items"]] == [2, 4]


def test_a_template_error_is_shown_at_save_time(browser, keys, api, items_table):
    pool = api.post("/api/connection-pools", {"display_text": f"p {uuid.uuid4().hex[:6]}", "db_type": "postgresql",
                                              "host": "127.0.0.1", "port": 5432, "database": TEST_DB_NAME,
                                              "username": urlsplit(ADMIN_URL).username or "postgres"})
    assert pool.status == 201, pool.body
    b = browser
    b.allow_console(r"api/dynamic-apis .*400")
    b.sign_in(keys["admin"])
    b.go("#/dynamic/new")
    b.fill("#dyn-name", f"broken-{uuid.uuid4().hex[:6]}")
    set_sql(b, f"SELECT * FROM {items_table} WHERE name = {{{{ undeclared }}}}")
    b.choose("#dyn-pool", pool.data["id"])
    b.click("#dyn-save")
    err = b.find("#dyn-save-result .error-box")
    assert "VALIDATION_ERROR" in err.text and "undeclared" in err.text


def _pool_via_api(api, database=TEST_DB_NAME):
    pool = api.post("/api/connection-pools", {"display_text": f"p {uuid.uuid4().hex[:6]}", "db_type": "postgresql",
                                              "host": "127.0.0.1", "port": 5432, "database": database,
                                              "username": urlsplit(ADMIN_URL).username or "postgres"})
    assert pool.status == 201, pool.body
    return pool.data


def test_the_sql_editor_highlights_sql_and_the_template_and_marks_undeclared_variables(browser, keys, items_table):
    b = browser
    b.sign_in(keys["operator"])
    b.go("#/dynamic/new")
    set_sql(b, f"SELECT id, name FROM {items_table}\nWHERE 1 = 1 {{% if name %}} AND name = {{{{ name }}}} {{% endif %}}")
    editor = b.find("#dyn-template-editor")
    assert "SELECT" in [e.text for e in editor.find_elements("css selector", ".cm-keyword")]
    assert editor.find_elements("css selector", ".cm-template-expr") and editor.find_elements("css selector", ".cm-template-tag")
    b.wait(lambda: [e.text for e in editor.find_elements("css selector", ".cm-undeclared")] == ["name", "name"], what="undeclared marks")
    b.shot("sql-editor", docs=True, at=".steps > section:nth-child(2)")
    b.click_text("#dyn-vars button", "+ add name")
    b.wait(lambda: not editor.find_elements("css selector", ".cm-undeclared"), what="marks gone once declared")
    # keyboard: typing goes into the editor, Tab leaves it (no keyboard trap)
    from selenium.webdriver.common.keys import Keys
    editor.find_element("css selector", ".CodeMirror-code").click()
    active = b.driver.switch_to.active_element
    active.send_keys(Keys.CONTROL, Keys.END)
    active.send_keys(" LIMIT 5")
    assert b.js("return document.querySelector('#dyn-template-editor').CodeMirror.getValue()").endswith("LIMIT 5")
    assert b.js("return document.querySelector('#dyn-template').value").endswith("LIMIT 5")
    active.send_keys(Keys.TAB)
    assert not b.js("return document.querySelector('#dyn-template-editor').contains(document.activeElement)")


def test_a_draft_is_tested_before_it_is_saved_and_leaves_nothing_behind(browser, keys, api, items_table):
    pool = _pool_via_api(api)
    b = browser
    b.sign_in(keys["admin"])
    b.go("#/dynamic/new")
    set_sql(b, f"SELECT id, name FROM {items_table} WHERE name = {{{{ name }}}} ORDER BY id")
    b.click_text("#dyn-vars button", "+ add name")
    b.choose("#dyn-pool", pool["id"])
    b.fill("#dyn-draft-params", '{"name": "beta"}')
    b.click("#dyn-test-draft")
    rows = b.find("#dyn-draft-result #dyn-test-rows", timeout=20).text
    assert "beta" in rows and "alpha" not in rows
    assert "beta" in b.find("#dyn-draft-result #dyn-test-params").text
    assert b.find("#main h1").text == "New dynamic API"              # nothing was saved
    left = api.get("/api/dynamic-apis?category=console-draft&limit=100").data["items"]
    assert left == []


def test_the_pool_form_keeps_its_values_after_a_create_and_a_pool_can_be_edited(browser, keys, api):
    b = browser
    b.sign_in(keys["admin"])
    first, second = f"pool a {uuid.uuid4().hex[:6]}", f"pool b {uuid.uuid4().hex[:6]}"
    _create_pool_in_the_ui(b, first)
    assert b.find("#pool-name").get_attribute("value") == ""
    assert b.find("#pool-database").get_attribute("value") == TEST_DB_NAME     # not emptied
    b.fill("#pool-name", second)
    b.click("#pool-create")
    b.wait_text("[data-testid=pool-created]", second)
    assert not b.find_all("#pool-result .error-box")
    # edit the first pool: the stored password is kept, the remark changes
    b.wait_text("#pool-list tbody tr", first).find_element("css selector", "button[data-edit]").click()
    b.wait_text("#pool-form-title", f"Edit pool {first}")
    b.fill("#pool-remark", "edited in the console")
    b.fill("#pool-concurrency", "7")
    b.click("#pool-access input[name=write_operator]")              # operators may now define writing APIs
    b.click("#pool-create")
    b.wait_text("[data-testid=pool-saved]", first)
    pool = next(p for p in api.get("/api/connection-pools?limit=500").data["items"] if p["display_text"] == first)
    assert (pool["remark"], pool["max_concurrency"]) == ("edited in the console", 7)
    assert set(pool["access"]["write_roles"]) == {"admin", "operator"}
    assert set(pool["access"]["read_roles"]) == {"admin", "operator"}
    assert api.post(f"/api/connection-pools/{pool['id']}/test", {}).status == 200


def test_a_failed_pool_test_shows_a_readable_message(browser, keys, api):
    pool = _pool_via_api(api, database="nosuchdb")
    b = browser
    b.allow_console(r"connection-pools/.*/test .*422")
    b.sign_in(keys["admin"])
    b.go("#/pools")
    row = b.wait(lambda: b.find(f'#pool-list tbody tr[data-pool-id="{pool["id"]}"]'), what="the pool row")
    row.find_element("css selector", "button.link").click()                 # "test"
    err = b.find("#pool-result .error-box", timeout=20)
    assert 'database "nosuchdb" does not exist' in err.text
    assert "{'S'" not in err.text and "3D000" not in err.text
