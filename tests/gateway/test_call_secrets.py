"""What one gateway call must keep out of logs and answers (`invoke.sensitive_of`):
worked out once per sealed auth_config, and every call gets its own copy."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

from chalicelib.gateway import invoke, upstream_auth


def test_each_call_gets_its_own_copy_of_a_sealed_configs_secrets():
    cfg = {"type": "apiKey", "in": "header", "name": "X-Key", "value": "k-123456", "headers": {"X-Extra": "e-98765"}}
    target = SimpleNamespace(auth_config={"_enc": f"sealed-{uuid.uuid4()}"})
    first = invoke.sensitive_of(target, cfg)
    assert first == upstream_auth.sensitive_for(cfg)
    first.values.add("oauth-token-of-this-call")   # what a call adds to its own (an OAuth2 token)
    first.headers.add("x-only-here")
    second = invoke.sensitive_of(target, cfg)
    assert second == upstream_auth.sensitive_for(cfg)
    assert "oauth-token-of-this-call" not in second.values and "x-only-here" not in second.headers


def test_an_unsealed_config_is_read_as_given():
    cfg = {"type": "http", "scheme": "bearer", "token": "t-abcdef"}
    target = SimpleNamespace(auth_config=cfg)
    assert invoke.sensitive_of(target, cfg) == upstream_auth.sensitive_for(cfg)
    assert "t-abcdef" in invoke.sensitive_of(target, cfg).values
