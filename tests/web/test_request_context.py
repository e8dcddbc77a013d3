"""Every invocation starts from an empty request context: nothing one request
set is seen by the next one on the same thread (a warm Lambda container)."""
from __future__ import annotations

import pytest

from chalicelib.keys import quotas
from chalicelib.web import access_log


def test_a_later_anonymous_request_does_not_inherit_the_previous_caller(api, anon, keys):
    assert api.get("/api/keys?limit=1").status == 200          # sets the principal in its context
    assert access_log.current_principal() is None               # the caller's thread never saw it
    r = anon.get("/api/keys")                                  # an anonymous caller is refused as anonymous
    assert r.status == 401 and r.json["error"]["code"] == "AUTH_ERROR"
    assert access_log.current_principal() is None


def test_an_unlimited_key_never_reads_another_key_s_quota_ticket(api, live_keys_with_limits):
    limited, unlimited = live_keys_with_limits
    assert api.as_key(limited).get("/api/whoami").json["data"]["limits"]["remaining_this_minute"] is not None
    after = api.as_key(unlimited).get("/api/whoami").json["data"]["limits"]
    assert after["remaining_this_minute"] is None and after["rate_per_minute"] is None
    assert quotas._ticket.get() is None



@pytest.fixture
def live_keys_with_limits(api):
    limited = api.post("/api/keys", {"role": "viewer", "rate_per_minute": 1000}).data["key"]
    unlimited = api.post("/api/keys", {"role": "viewer", "rate_per_minute": 0, "max_concurrent": 0}).data["key"]
    return limited, unlimited
