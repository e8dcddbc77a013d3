"""Fixtures for the console's browser tests: the app served on a free
loopback port in a thread (as `make run` serves it), headless Chromium, and
on failure a screenshot in build/console-screenshots/."""
from __future__ import annotations

import threading

import pytest

from tests.conftest import ROOT, base_settings
from tests.console.browser import Browser, ensure_chromium


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(autouse=True)
def allow_loopback_upstreams():
    """The gateway may call the loopback upstreams these tests start."""
    from chalicelib.settings import reset_settings
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    yield
    from chalicelib.net import outbound
    outbound.close_pools()


@pytest.fixture(scope="session")
def console_url(chalice_app, db):
    from chalice.cli import factory

    from chalicelib.web.local import make_server
    config = factory.CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    httpd = make_server(chalice_app, config, "127.0.0.1", 0)
    httpd.server.daemon_threads = True
    port = httpd.server.server_address[1]
    thread = threading.Thread(target=httpd.server.serve_forever, name="console-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.server.shutdown()
    httpd.server.server_close()
    thread.join(10)


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
