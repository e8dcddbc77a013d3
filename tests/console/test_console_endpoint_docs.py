"""Endpoint pages of a Twilio-style spec: markdown rendered and sanitised,
parameter constraints, form-encoded "try it", a failed call listed at once,
logged bodies formatted; the endpoint list's tags, sorting and URL filters."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from tests.console.helpers import ACCOUNT, FORM_SPEC, import_doc, upstream


@pytest.fixture
def formy(api):
    with upstream() as up:
        doc = import_doc(api, FORM_SPEC, up.url(""))
        yield doc, up


def test_descriptions_are_rendered_markdown_without_any_markup_from_the_spec(browser, keys, formy):
    doc, _ = formy
    b = browser
    b.sign_in(keys["viewer"])
    b.go(f"#/endpoint/{doc['endpoints'][('POST', '/Accounts/{AccountSid}/Messages.json')]}")
    desc = b.find("#main .md.desc")
    assert desc.find_element("css selector", "strong").text == "message"
    assert desc.find_element("css selector", "code").text == "From"
    assert [li.text for li in desc.find_elements("css selector", "li")] == ["one recipient", "see the docs"]
    link = desc.find_element("css selector", 'a[href="https://example.com/docs"]')
    assert link.get_attribute("rel") == "noopener noreferrer"
    # the spec's <script> is text, its javascript: link is not a link
    assert "<script>window.__pwned = 1</script>" in desc.text
    assert not desc.find_elements("css selector", "script") and not b.find_all('a[href^="javascript"]')
    assert b.js("return window.__pwned === undefined")
    # parameters with their constraints, the description rendered
    row = b.find('tr[data-param="path.AccountSid"]')
    assert "pattern ^AC[0-9a-fA-F]{32}$" in row.text and "exactly 34 chars" in row.text
    assert row.find_element("css selector", ".md strong").text == "Account"


def test_try_it_sends_a_form_encoded_body_and_names_the_pattern_a_value_misses(browser, keys, formy):
    doc, up = formy
    b = browser
    b.sign_in(keys["operator"])
    b.go(f"#/endpoint/{doc['endpoints'][('POST', '/Accounts/{AccountSid}/Messages.json')]}")
    assert b.find("#try-content-type").get_attribute("value") == "application/x-www-form-urlencoded"
    b.fill("#try-path-AccountSid", "AC123")
    b.fill("#try-form-body-To", "+15551234567")
    b.click("#try-send")
    err = b.wait_text("#try-result .error-box", "pattern")
    assert "^AC[0-9a-fA-F]{32}$" in err.text
    b.fill("#try-path-AccountSid", ACCOUNT)
    b.fill("#try-form-body-From", "+15557654321")
    b.fill("#try-form-body-Body", "Hello & bye")
    b.click("#try-send")
    b.wait_text("#try-response", "HTTP 201", timeout=20)
    assert not b.find_all("#try-result .error-box")          # the old error box is gone
    b.shot("endpoint-try-it", docs=True, at="#main h1")
    sent = [r for r in up.requests if r.method == "POST"][-1]
    ctype = {k.lower(): v for k, v in sent.headers.items()}["content-type"]
    assert ctype.startswith("application/x-www-form-urlencoded")
    assert parse_qs(sent.body.decode()) == {"To": ["+15551234567"], "From": ["+15557654321"], "Body": ["Hello & bye"]}
    # the logged bodies are shown formatted, not as an escaped string
    b.wait(lambda: b.find_all("#recent-calls tbody tr .badge.ok"), what="the call listed")
    b.click("#recent-calls details.call-bodies summary")
    logged = b.find("#recent-calls [data-testid=logged-response-body]")
    assert logged.find_elements("css selector", ".j-key") and '\\"' not in logged.text
    assert json.loads(logged.text)["method"] == "POST"


def test_a_failed_call_is_listed_at_once_and_opens_as_a_call_log(browser, keys, formy):
    doc, _ = formy
    b = browser
    b.sign_in(keys["operator"])
    b.go(f"#/endpoint/{doc['endpoints'][('GET', '/broken')]}")
    b.wait_text("#recent-calls", "No calls yet.")
    b.click("#try-send")
    b.wait_text("#try-response", "HTTP 500", timeout=20)
    row = b.wait(lambda: b.find_all("#recent-calls tbody tr .badge.bad"), what="the failed call listed without Refresh")
    b.click("#recent-calls tbody tr a")
    b.wait_text("#main h1", "/broken")
    body = b.find("[data-testid=call-response-body]")
    assert json.loads(body.text) == {"error": "boom"}


def test_the_endpoint_list_filters_by_tag_sorts_and_keeps_its_filters_in_the_url(browser, keys, formy):
    doc, _ = formy
    b = browser
    b.sign_in(keys["viewer"])
    b.go(f"#/endpoints?document_id={doc['id']}")
    b.wait(lambda: len(b.find_all("#endpoints tbody a[data-path]")) == 4, what="4 endpoints")
    tags = [t.get_attribute("data-tag") for t in b.find_all("#endpoint-tags button[data-tag]")]
    assert tags == ["Api20100401Account", "Api20100401Message", "Api20100401Transcription"]
    b.click('#endpoint-tags button[data-tag="Api20100401Account"]')
    b.wait(lambda: {a.text for a in b.find_all("#endpoints tbody a[data-path]")} == {"/Accounts.json", "/broken"}, what="tag filter")
    b.click('#endpoints th button[data-sort="path"]')                       # path descending
    b.wait(lambda: [a.text for a in b.find_all("#endpoints tbody a[data-path]")] == ["/broken", "/Accounts.json"], what="sorted desc")
    assert b.find('#endpoints th[aria-sort="descending"]').text.startswith("Path")
    assert "tag=Api20100401Account" in b.js("return location.hash") and "sort=-path" in b.js("return location.hash")
    b.driver.refresh()                                                      # reload keeps tag and order
    b.wait(lambda: [a.text for a in b.find_all("#endpoints tbody a[data-path]")] == ["/broken", "/Accounts.json"], what="after reload")
    b.click('#endpoint-tags button[data-tag="Api20100401Account"]')         # untoggle: all four
    b.wait(lambda: len(b.find_all("#endpoints tbody a[data-path]")) == 4, what="tag cleared")
    b.driver.back()                                                         # Back restores the tag filter
    b.wait(lambda: len(b.find_all("#endpoints tbody a[data-path]")) == 2, what="back to the tag filter")


def test_long_paths_break_only_after_a_slash(narrow_browser, keys, formy):
    doc, _ = formy
    b = narrow_browser
    b.sign_in(keys["viewer"])
    b.go(f"#/endpoints?document_id={doc['id']}")
    link = b.wait_text("#endpoints tbody a[data-path]", "Transcriptions.json")
    rects = b.js("""const r = document.createRange(); const out = [];
        for (const n of arguments[0].querySelectorAll('.path')[0].childNodes) {
          if (n.nodeType !== 3) continue; r.selectNodeContents(n); out.push(r.getClientRects().length); }
        return out;""", link)
    assert rects and all(n == 1 for n in rects)          # no segment is split over two lines
    assert b.js("return arguments[0].getClientRects().length", link.find_element("css selector", ".path")) >= 1
