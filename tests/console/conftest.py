"""Fixtures for the console's browser tests: the real server that `make run`
starts (tests/live.py, own port and database), headless Chromium, and on
failure a screenshot in build/console-screenshots/. Keys and state are made
through that server's API (`keys`, `api` here shadow the in-process ones)."""
from __future__ import annotations

import pytest

from tests.console.browser import Browser, ensure_chromium


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def console_url(live_server):
    return live_server.url


@pytest.fixture(scope="session")
def keys(live_server) -> dict[str, str]:
    return {"admin": live_server.admin_key, "operator": live_server.key("operator"),
            "viewer": live_server.key("viewer")}


@pytest.fixture
def api(live_server):
    return live_server.api("admin")


@pytest.fixture
def anon(live_server):
    return live_server.api(None)


@pytest.fixture(scope="session")
def chromium():
    ensure_chromium()


def _browser(request, console_url, width, height):
    b = Browser(console_url, width, height)
    try:
        yield b
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if failed:
            path = b.screenshot(request.node.nodeid)
            print(f"\nscreenshot: {path}")
        else:
            b.assert_no_console_errors()
    finally:
        b.quit()


@pytest.fixture
def browser(request, chromium, console_url):
    """A fresh Chromium at 1280 px; console errors fail the test."""
    yield from _browser(request, console_url, 1280, 900)


@pytest.fixture
def narrow_browser(request, chromium, console_url):
    """A fresh Chromium 390 px wide (a phone)."""
    yield from _browser(request, console_url, 390, 844)
