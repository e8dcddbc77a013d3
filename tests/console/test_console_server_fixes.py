"""Console bugs whose fix is on the server: a form body typed as text, the
reason of a refusal kept when the value is long, a readable message when a
pool cannot connect."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs

import pytest

from tests.console.helpers import ACCOUNT, FORM_SPEC, import_doc, upstream

MESSAGES = ("POST", "/Accounts/{AccountSid}/Messages.json")


def test_a_form_body_typed_as_text_is_accepted_like_the_same_object(api):
    with upstream() as up:
        doc = import_doc(api, FORM_SPEC, up.url(""))
        r = api.post(f"/api/endpoints/{doc['endpoints'][MESSAGES]}/invoke",
                     {"path_params": {"AccountSid": ACCOUNT}, "body": "To=%2B1555&From=%2B1666",
                      "content_type": "application/x-www-form-urlencoded"})
        assert r.status == 200, r.body
        assert parse_qs(up.requests[-1].body.decode()) == {"To": ["+1555"], "From": ["+1666"]}


def test_a_refused_long_body_still_says_why(api):
    doc = import_doc(api, FORM_SPEC, "http://127.0.0.1:9")
    long_text = ["x" * 600]
    r = api.post(f"/api/endpoints/{doc['endpoints'][MESSAGES]}/invoke",
                 {"path_params": {"AccountSid": ACCOUNT}, "body": long_text,
                  "content_type": "application/x-www-form-urlencoded"})
    assert r.status == 400
    assert "is not of type 'object'" in r.error["message"]


def test_a_failed_pool_test_answers_a_readable_message(api):
    r = api.post("/api/connection-pools", {"display_text": f"nosuch {uuid.uuid4().hex[:6]}", "db_type": "postgresql",
                                           "host": "127.0.0.1", "port": 5432, "database": "nosuchdb",
                                           "username": "postgres"})
    assert r.status == 201, r.body
    t = api.post(f"/api/connection-pools/{r.data['id']}/test", {})
    # the server answered and refused the configured database: the caller's to fix (422, no retry)
    assert t.status == 422 and t.error["code"] == "CONNECTION_ERROR" and t.error["details"]["reason"] == "database"
    text = t.error["message"] + str(t.error.get("details"))
    assert 'database "nosuchdb" does not exist' in t.error["message"]
    assert "{'S'" not in text and "3D000" not in text
