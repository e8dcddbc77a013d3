"""Injection corpus (written for this project): every payload in every
parameter of a published API, both engines x both databases.

For each invocation the statements handed to the driver are recorded (the
real driver still runs them). Either the input is refused before anything
runs (400 naming the parameter: integers, dates, sorting, NUL bytes), or the
SQL text is identical to the baseline's and the payload appears only among
the bound values. The canary table is untouched at the end.
"""
from __future__ import annotations

import pytest

from chalicelib.dynamic_api import drivers
from tests.conftest import Api
from tests.dynamic_api.conftest import CANARY, canary_rows
from tests.dynamic_api.helpers import create_api, like, pool_body

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE canary; --",
    "\"; DROP TABLE canary; --",
    "1; DELETE FROM canary",
    "1 OR 1=1",
    "' UNION SELECT id, secret FROM canary --",
    "' UNION ALL SELECT NULL, secret FROM canary #",
    "admin'--",
    "admin' #",
    "admin'/*",
    "*/ OR 1=1 /*",
    "'; SELECT pg_sleep(5); --",
    "' AND (SELECT 1 FROM pg_sleep(5)) IS NULL --",
    "1 AND SLEEP(5)",
    "' OR SLEEP(5) OR '",
    "'; WAITFOR DELAY '0:0:5' --",
    "' AND 1=(SELECT COUNT(*) FROM canary) AND 'a'='a",
    "%' OR 1=1 #",
    "\\'; DROP TABLE canary; #",
    "\\\\'; DELETE FROM canary; -- ",
    "ʼ OR ʼ1ʼ=ʼ1",            # U+02BC modifier letter apostrophe
    "＇ OR ＇1＇=＇1",          # U+FF07 fullwidth apostrophe
    "‘ OR 1=1 --",            # U+2018
    "’; DROP TABLE canary; --",
    "\u02b9 OR 1=1",
    "nul\x00' OR 1=1 --",
    "$1",
    "$2; DROP TABLE canary",
    "%s",
    "%(x)s",
    "%%s' OR '1'='1",
    "$$; DROP TABLE canary; $$",
    "$tag$ OR 1=1 $tag$",
    "{{ 7*7 }}",
    "{% raw %}",
    "{{ ''.__class__.__mro__ }}",
    ":p1",
    "';\nDELETE FROM canary;\n--",
    "' OR 'a'='a' LIMIT 1 OFFSET 1 --",
    "(SELECT secret FROM canary)",
    "id desc; DROP TABLE canary",
    "name, (SELECT 1 FROM canary)",
    "CASE WHEN 1=1 THEN id ELSE name END",
    "1,2) OR (1=1",
    "canary",
    "0x27204f5220313d31",
    "\\x27 OR 1=1",
    "' COLLATE \"C\" --",
    "E'\\x27' OR 1=1",
]

TEMPLATE_GET = (
    "SELECT id, name FROM people WHERE 1=1"
    "{% if s %} AND name = {{ s }}{% endif %}"
    "{% if q %} AND name LIKE <<LIKE>>{% endif %}"
    "{% if names %} AND name IN {{ names }}{% endif %}"
    "{% if n %} AND id = {{ n }}{% endif %}"
    "{% if d %} AND born >= {{ d }}{% endif %}"
    "{% if h %} AND city <> {{ h }}{% endif %}"
)
GET_PARAMS = [
    {"name": "s"}, {"name": "q"}, {"name": "names", "multiple": True},
    {"name": "n", "data_type": "integer"}, {"name": "d", "data_type": "date"},
    {"name": "h", "param_type": "header"},
]
TEMPLATE_POST = ("SELECT id FROM people WHERE city <> {{ b }} AND name <> {{ f }} AND id IN {{ ids }}")
POST_PARAMS = [{"name": "b", "param_type": "body"}, {"name": "f", "param_type": "form"},
               {"name": "ids", "param_type": "body", "data_type": "integer", "multiple": True}]
BENIGN = {"s": "benign", "q": "benign", "names": "benign", "n": "1", "d": "2000-01-01", "h": "benign",
          "sorting": "name desc", "b": "benign", "f": "benign", "ids": [1]}


@pytest.fixture
def recorder(monkeypatch):
    sent: list = []
    real = drivers.DbConnection.execute

    def recording(self, stmt, max_rows=None, **kw):
        sent.append(stmt)
        return real(self, stmt, max_rows, **kw)

    monkeypatch.setattr(drivers.DbConnection, "execute", recording)
    return sent


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


def _get(anon, name, values):
    query = {k: v for k, v in values.items() if k not in ("h",)}
    from urllib.parse import urlencode
    return anon.get(f"/api/dynamic-api/invoke/{name}?{urlencode(query)}", headers={"h": values["h"]})


def _post(anon, name, values, as_form):
    from urllib.parse import urlencode
    if as_form:
        return anon.request("POST", f"/api/dynamic-api/invoke/{name}",
                            body=urlencode({"b": values["b"], "f": values["f"], "ids": values["ids"]}, doseq=True),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    return anon.post(f"/api/dynamic-api/invoke/{name}", {"b": values["b"], "f": values["f"], "ids": values["ids"]})


def _check(resp, sent, baseline, payload, param, pieces=None):
    """Refused before running, or same SQL text with the payload only bound.

    `pieces`: what the payload becomes as bound values (a multiple parameter
    splits a query-string comma list into items)."""
    if resp.status == 400:
        assert resp.error["details"]["errors"][0]["loc"][1] == param, resp.json
        assert sent == [], "a refused input must not reach the database"
        return "refused"
    assert resp.status == 200, (param, payload, resp.json)
    assert [s.sql for s in sent] == baseline, (param, payload)
    values = [v for s in sent for v in s.params]
    for piece in pieces or [payload]:
        assert any(isinstance(v, str) and piece in v for v in values), (param, payload, values)
    for s in sent:
        if payload not in baseline[0]:
            assert payload not in s.sql
    return "bound"


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
@pytest.mark.parametrize("dbname", ["postgresql", "mysql"])
def test_every_payload_in_every_parameter_changes_only_bound_values(
        admin, anon, recorder, engine, dbname, request):
    params = request.getfixturevalue("pg_target_params" if dbname == "postgresql" else "my_target_params")
    pool = admin.post("/api/connection-pools", pool_body(params)).data["id"]
    get_api = create_api(admin, pool, engine, TEMPLATE_GET.replace("<<LIKE>>", like(engine, "q")), GET_PARAMS,
                         is_sorting=True, sortable_columns=["id", "name"])
    post_api = create_api(admin, pool, engine, TEMPLATE_POST, POST_PARAMS, http_method="POST")

    assert _get(anon, get_api["name"], BENIGN).status == 200     # the pool's connection is opened and checked
    recorder.clear()
    r = _get(anon, get_api["name"], BENIGN)
    assert r.status == 200, r.json
    baseline_get = [s.sql for s in recorder]
    recorder.clear()
    r = _post(anon, post_api["name"], BENIGN, as_form=False)
    assert r.status == 200, r.json
    baseline_post = [s.sql for s in recorder]
    recorder.clear()

    def baseline_for_items(count):
        recorder.clear()
        assert _get(anon, get_api["name"], dict(BENIGN, names=",".join(["benign"] * count))).status == 200
        return [s.sql for s in recorder]

    outcomes = {}
    for payload in PAYLOADS:
        for param in ("s", "q", "names", "n", "d", "h", "sorting"):
            values = dict(BENIGN, **{param: payload})
            expected, pieces = baseline_get, None
            if param == "names":      # comma list: one bound (stripped) value per item
                pieces = [p.strip() for p in payload.split(",")]
                if len(pieces) > 1:
                    expected = baseline_for_items(len(pieces))
            recorder.clear()
            outcomes[(param, payload)] = _check(_get(anon, get_api["name"], values), recorder, expected,
                                                payload, param, pieces)
        for param, as_form in (("b", False), ("b", True), ("f", False), ("f", True)):
            values = dict(BENIGN, **{param: payload})
            recorder.clear()
            outcomes[(param, payload, as_form)] = _check(_post(anon, post_api["name"], values, as_form),
                                                         recorder, baseline_post, payload, param)
        recorder.clear()
        values = dict(BENIGN, ids=[1, payload])
        r = _post(anon, post_api["name"], values, as_form=False)
        assert r.status == 400 and r.error["details"]["errors"][0]["loc"][1] == "ids" and recorder == []

    # integers, dates and sorting refuse every payload; strings bind every payload but NUL
    assert all(outcomes[(p, x)] == "refused" for x in PAYLOADS for p in ("n", "d", "sorting"))
    assert all(outcomes[("s", x)] == ("refused" if "\x00" in x else "bound") for x in PAYLOADS)

    recorder.clear()
    from chalicelib.dynamic_api.drivers import connect
    conn = connect(params)
    try:
        assert canary_rows(conn) == CANARY
    finally:
        conn.close()
