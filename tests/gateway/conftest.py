from __future__ import annotations

import pytest

from chalicelib.net import outbound
from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.gateway.seed001_upstream import Seed001Upstream
from tests.net.loopback_http import LoopbackServer


@pytest.fixture(autouse=True)
def allow_loopback():
    """The test upstreams live on 127.0.0.1: admit it for the outbound guard."""
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    yield
    outbound.close_pools()


@pytest.fixture
def seed001():
    with Seed001Upstream() as up:
        yield up


@pytest.fixture
def loopback():
    """A loopback server whose handler a test sets: `loopback.handler = fn`."""
    srv = LoopbackServer(lambda req: (200, {}, {"ok": True}))
    with srv:
        yield srv
