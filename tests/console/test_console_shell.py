"""The console shell: static files, sign-in with a key, role display, layout."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from chalicelib.console.routes import static_files


def _get(url: str, headers: dict | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_index_is_served_at_root_with_a_strict_content_security_policy(console_url):
    status, headers, body = _get(console_url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'<script type="module" src="/console/app.js">' in body


@pytest.mark.parametrize("name, ctype", [("app.js", "text/javascript"), ("app.css", "text/css"),
                                         ("favicon.svg", "image/svg+xml"), ("index.html", "text/html")])
def test_console_files_are_served_with_their_content_type(console_url, name, ctype):
    status, headers, body = _get(f"{console_url}/console/{name}")
    assert status == 200
    assert headers["Content-Type"].startswith(ctype)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body


@pytest.mark.parametrize("name", ["nope.js", "..%2Fapp.py", "%2E%2E%2F%2E%2E%2Fapp.py", "routes.py", ".js"])
def test_unknown_or_traversing_console_names_answer_404(console_url, name):
    status, _, body = _get(f"{console_url}/console/{name}")
    assert status == 404
    assert b"NOT_FOUND" in body


def test_an_unchanged_file_answers_304_to_its_etag(console_url):
    _, headers, _ = _get(f"{console_url}/console/app.js")
    status, _, body = _get(f"{console_url}/console/app.js", {"If-None-Match": headers["ETag"]})
    assert status == 304
    assert body == b""


def test_every_module_the_pages_import_is_a_served_file():
    import re
    files = static_files()
    for name, (text, _, _) in files.items():
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert imported in files, (name, imported)


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_whoami_tells_a_key_its_role_and_prefix(api, keys, role):
    r = api.as_key(keys[role]).get("/api/whoami")
    assert r.status == 200
    assert r.data["role"] == role
    assert keys[role].startswith(r.data["key_prefix"])
    assert "key" not in r.data


def test_whoami_without_a_key_is_401(anon):
    assert anon.get("/api/whoami").status == 401


def test_signing_in_shows_the_role_and_signing_out_forgets_the_key(browser, keys):
    browser.sign_in(keys["operator"])
    assert "operator" in browser.find("#who-role").text
    browser.wait_text("#main h1", "Catalog")
    assert browser.js("return sessionStorage.getItem('stepflow.apiKey')") == keys["operator"]
    assert browser.js("return localStorage.length") == 0
    browser.click("#signout")
    browser.find("#login-form")
    assert browser.js("return sessionStorage.getItem('stepflow.apiKey')") is None


def test_a_refused_key_is_reported_on_the_sign_in_form(browser):
    browser.allow_console(r"api/whoami .*401")
    browser.open("/")
    browser.fill("#api-key", "sfk_not-a-real-key")
    browser.click("#login-submit")
    browser.wait_text("#login-form .error-box", "unknown or revoked")


def test_a_viewer_does_not_see_write_actions(browser, keys):
    browser.sign_in(keys["viewer"])
    browser.wait_text("#main h1", "Catalog")
    browser.find("#documents")
    assert not browser.find_all("#import-form")
    assert not any(a.is_displayed() for a in browser.find_all("#nav a[data-section=pools]"))
    browser.go("#/dynamic")
    browser.wait_text("#main h1", "Dynamic APIs")
    assert not browser.find_all("#dyn-new")


PAGES = [
    ("#/catalog", "Catalog"), ("#/endpoints", "Endpoints"), ("#/stats", "Statistics"), ("#/dynamic", "Dynamic APIs"),
    ("#/dynamic/new", "New dynamic API"), ("#/pools", "Connection pools"), ("#/compare", "Compare data"),
    ("#/compare-runs", "Whole-dataset runs"),
    ("#/history", "Comparison history"), ("#/logs", "Query logs"), ("#/jobs", "Jobs"),
    ("#/templates", "Templates"), ("#/calls", "Call logs"), ("#/references", "Resource references"),
    ("#/audit", "Audit log"), ("#/keys", "API keys"),
]


def test_every_page_fits_a_390_px_screen(narrow_browser, keys):
    b = narrow_browser
    b.sign_in(keys["admin"])
    for route, heading in PAGES:
        b.go(route)
        b.wait_text("#main h1", heading)
        b.wait(lambda: "Loading" not in b.find("#main").text, what=f"{route} loaded")
        width = b.js("return document.documentElement.clientWidth")
        assert width <= 390
        assert b.js("return document.documentElement.scrollWidth") <= width, f"{route} scrolls sideways"
        b.shot(route.strip("#/").replace("/", "-"))


def test_keyboard_users_get_a_skip_link_focus_on_each_new_heading_and_arrow_key_tabs(browser, keys):
    from selenium.webdriver.common.keys import Keys
    b = browser
    b.sign_in(keys["operator"])
    b.wait_text("#main h1", "Catalog")
    # the first Tab reaches the skip link, which moves focus into the content
    b.driver.refresh()                                   # a page load leaves the focus at the top
    b.wait_text("#main h1", "Catalog")
    b.driver.find_element("css selector", "body").send_keys(Keys.TAB)
    assert b.js("return document.activeElement.id") == "skip-link"
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert b.js("return document.activeElement.tagName") == "H1"
    # navigating moves focus to the new view's heading; the nav marks the current section
    b.click('#nav a[data-section="templates"]')
    b.wait(lambda: b.js("return document.activeElement.tagName === 'H1' && document.activeElement.textContent") == "Templates",
           what="focus on the Templates heading")
    assert b.find('#nav a[data-section="templates"]').get_attribute("aria-current") == "page"
    # tabs: aria-selected, arrow keys move and select
    b.go("#/catalog")
    tab = b.find('#import-form [role=tab][data-tab="paste"]')
    assert tab.get_attribute("aria-selected") == "true"
    tab.send_keys(Keys.ARROW_RIGHT)
    b.wait(lambda: b.find('#import-form [role=tab][data-tab="file"]').get_attribute("aria-selected") == "true", what="file tab")
    assert b.js("return document.activeElement.dataset.tab") == "file"
    assert b.find("#import-file")
    assert b.find('#import-form [role=tab][data-tab="paste"]').get_attribute("aria-selected") == "false"
    # sortable headers are buttons a keyboard can reach
    b.go("#/endpoints")
    sort = b.find('#endpoints th button[data-sort="path"]')
    sort.send_keys(Keys.ENTER)
    b.wait(lambda: b.find('#endpoints th[aria-sort="descending"]'), what="sorted by the keyboard")


@pytest.mark.parametrize("name, ctype", [("codemirror.js", "text/javascript"), ("codemirror-sql.js", "text/javascript"),
                                         ("codemirror-overlay.js", "text/javascript"), ("codemirror.css", "text/css"),
                                         ("LICENSE-codemirror.txt", "text/plain")])
def test_the_vendored_editor_is_served_by_the_app_with_its_license(console_url, name, ctype):
    status, headers, body = _get(f"{console_url}/console/{name}")
    assert status == 200 and headers["Content-Type"].startswith(ctype)
    if name.startswith("LICENSE"):
        assert b"MIT" in body or b"Permission is hereby granted" in body


@pytest.mark.parametrize("name", ["vendor%2Fcodemirror.js", "vendor", "..%2Fvendor%2Fcodemirror.js"])
def test_the_vendor_folder_is_reached_by_file_name_only(console_url, name):
    assert _get(f"{console_url}/console/{name}")[0] == 404


def test_the_index_loads_nothing_from_elsewhere():
    import re
    text = static_files()["index.html"][0]
    assert all(src.startswith("/console/") for src in re.findall(r'(?:src|href)="([^"#]+)"', text))
