"""The outbound guard (DESIGN 9): what an outbound call may reach, and its limits.

Only loopback servers started here ever receive traffic: refused targets are
refused before any connection is attempted, and names are resolved through a
resolver handed in by the test (or `localhost`).
"""
from __future__ import annotations

import gzip
import subprocess
import sys
import time

import pytest

from chalicelib.net import outbound
from chalicelib.errors import RequestTimeout, UpstreamError, ValidationError
from tests.net.loopback_http import LoopbackServer
from tests.net.tls_certs import make_ca_and_server


def no_dns(host, port):  # a resolver that must not be consulted
    raise AssertionError(f"resolver called for {host!r}")


def resolver_for(table: dict[str, list[str]], calls: list | None = None):
    def resolve(host, port):
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"unknown test host {host}")
        return table[host]

    return resolve


def ok_handler(req):
    return 200, {"X-Seen-Host": req.headers.get("Host", "")}, {"path": req.path, "method": req.method}


@pytest.fixture
def upstream():
    with LoopbackServer(ok_handler) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh_pools():
    yield
    outbound.close_pools()


# ------------------------------------------------------------------ refusals

REFUSED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped IPv6"),
    ("http://10.0.0.1/", "private (RFC 1918)"),
    ("http://172.16.0.1/", "private (RFC 1918)"),
    ("http://192.168.1.1/", "private (RFC 1918)"),
    ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
    ("http://169.254.1.1/", "link-local"),
    ("http://100.64.0.1/", "CGNAT shared address space"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://[64:ff9b::a00:1]/", "IPv4-embedding IPv6 (NAT64)"),
    ("http://[2002:a00:1::1]/", "IPv4-embedding IPv6 (6to4)"),
    ("http://[fc00::1]/", "private (unique local)"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[::]/", "unspecified"),
    ("https://127.0.0.1:8443/x", "loopback"),
]


@pytest.mark.parametrize("url,address_class", REFUSED)
def test_forbidden_literal_address_is_refused_without_dns(url, address_class):
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url(url, resolver=no_dns)
    err = info.value
    assert isinstance(err, ValidationError) and err.status == 400
    assert err.error_type == "refused"
    assert err.details["address_class"] == address_class
    assert address_class in err.message
    assert "OUTBOUND_ALLOWLIST" in err.message


@pytest.mark.parametrize("url,address_class", REFUSED[:6])
def test_fetch_refuses_before_connecting(url, address_class):
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(url, resolver=no_dns)


@pytest.mark.parametrize(
    "answers,address_class",
    [
        (["10.1.2.3"], "private (RFC 1918)"),
        (["127.0.0.5"], "loopback"),
        (["93.184.215.14", "192.168.0.7"], "private (RFC 1918)"),  # one bad answer is enough
        (["2606:4700::1", "fd00::1"], "private (unique local)"),
        (["::ffff:169.254.169.254"], "IPv4-mapped IPv6"),
    ],
)
def test_host_name_resolving_to_a_forbidden_address_is_refused(answers, address_class):
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url("https://internal.example/api", resolver=resolver_for({"internal.example": answers}))
    assert info.value.details["address_class"] == address_class
    assert info.value.details["host"] == "internal.example"


def test_localhost_resolved_by_the_system_is_refused():
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url("http://localhost:9/")
    assert info.value.details["address_class"] == "loopback"


@pytest.mark.parametrize(
    "url,fragment",
    [
        ("ftp://example.com/spec.yaml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http://user:secret@example.com/", "credentials in the URL"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "malformed URL"),
        ("", "URL is required"),
        ("http://exa mple.com/", "invalid host name"),
        ("http://999.1/", "invalid numeric host"),
    ],
)
def test_malformed_or_non_http_urls_are_refused(url, fragment):
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url(url, resolver=no_dns)
    assert fragment in info.value.message


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "1.1.1.1"])
def test_public_addresses_are_not_classified(address):
    assert outbound.classify_address(address) is None


def test_unresolvable_host_is_a_connection_error():
    with pytest.raises(outbound.OutboundConnectionError) as info:
        outbound.check_url("http://nowhere.test/", resolver=resolver_for({}))
    assert isinstance(info.value, UpstreamError)
    assert info.value.error_type == "connection"


# ----------------------------------------------------------------- allowlist


@pytest.mark.parametrize(
    "allowlist",
    [
        "127.0.0.0/8",
        "127.0.0.1",
        ["10.0.0.0/8", "127.0.0.1/32"],
        "localhost",
        "LOCALHOST.",
        "*.localdomain, localhost",
    ],
)
def test_allowlist_admits_loopback_test_upstream(upstream, allowlist):
    resp = outbound.fetch(upstream.url("/ping", host="localhost"), allowlist=allowlist)
    assert resp.status_code == 200
    assert resp.json() == {"path": "/ping", "method": "GET"}
    assert resp.address in ("127.0.0.1", "::1")


def test_host_port_allowlist_entry_admits_only_that_port(upstream):
    resp = outbound.fetch(upstream.url("/"), allowlist=f"127.0.0.1:{upstream.port}")
    assert resp.status_code == 200
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(f"http://127.0.0.1:{upstream.port + 1}/", allowlist=f"127.0.0.1:{upstream.port}")


def test_allowlisted_network_does_not_admit_other_classes():
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url("http://169.254.169.254/", allowlist="127.0.0.0/8, 10.0.0.0/8")
    assert info.value.details["address_class"] == "link-local (cloud metadata)"


def test_allowlist_comes_from_settings():
    from chalicelib.settings import Settings

    settings = Settings.from_env({"OUTBOUND_ALLOWLIST": "127.0.0.0/8,upstream.test:8080"})
    policy = outbound.policy_from_settings(settings, max_redirects=2)
    assert policy.max_redirects == 2
    target = outbound.check_url(
        "http://upstream.test:8080/", policy.allowlist, resolver_for({"upstream.test": ["10.9.9.9"]})
    )
    assert target.address == "10.9.9.9"
    assert outbound.check_url("http://127.0.0.9/", policy.allowlist).address == "127.0.0.9"


@pytest.mark.parametrize("entry", ["host:notaport", "[::1]:70000", "bad host"])
def test_invalid_allowlist_entries_are_reported(entry):
    with pytest.raises(ValueError):
        outbound.parse_allowlist([entry])


# ------------------------------------------------------------------- pinning


def test_connection_goes_to_the_address_resolved_once(upstream):
    calls: list[str] = []
    answers = {"upstream.test": ["127.0.0.1"]}
    resolve = resolver_for(answers, calls)

    def rebinding(host, port):  # a second lookup would get a different answer
        result = resolve(host, port)
        answers["upstream.test"] = ["10.0.0.1"]
        return result

    resp = outbound.fetch(upstream.url("/pinned", host="upstream.test"), allowlist="127.0.0.1", resolver=rebinding)
    assert resp.status_code == 200
    assert calls == ["upstream.test"]
    # "upstream.test" does not resolve through DNS: the request reached the
    # pinned address while keeping the original Host header.
    assert upstream.requests[-1].headers["Host"] == f"upstream.test:{upstream.port}"
    assert resp.headers["X-Seen-Host"] == f"upstream.test:{upstream.port}"


def test_tls_uses_host_name_for_sni_and_certificate_while_connecting_to_pinned_ip(tmp_path):
    ca, server_ctx = make_ca_and_server(tmp_path, ["upstream.test"])
    with LoopbackServer(ok_handler, tls_context=server_ctx) as srv:
        resolve = resolver_for({"upstream.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        resp = outbound.fetch(srv.url("/secure", host="upstream.test"), allowlist="127.0.0.1", resolver=resolve, verify=str(ca))
        assert resp.status_code == 200
        assert srv.requests[-1].sni == "upstream.test"
        assert srv.requests[-1].headers["Host"] == f"upstream.test:{srv.port}"

        with pytest.raises(outbound.OutboundSSLError) as info:
            outbound.fetch(srv.url("/secure", host="other.test"), allowlist="127.0.0.1", resolver=resolve, verify=str(ca))
        assert info.value.status == 502 and info.value.error_type == "ssl"


def test_connections_are_pooled_between_calls(upstream):
    for _ in range(3):
        outbound.fetch(upstream.url("/"), allowlist="127.0.0.1")
    assert len({r.client for r in upstream.requests}) == 1


def test_importing_the_guard_does_not_import_requests():
    code = "import sys, chalicelib.net.outbound; print('requests' in sys.modules, 'urllib3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".")
    assert out.stdout.split() == ["False", "False"]


# ----------------------------------------------------------------- redirects


def redirecting(table: dict[str, tuple[int, str]]):
    def handler(req):
        if req.path in table:
            status, location = table[req.path]
            return status, {"Location": location}, b""
        return 200, {}, {"path": req.path, "method": req.method, "body": req.body.decode(), "auth": req.headers.get("Authorization")}

    return handler


def test_public_url_redirecting_to_metadata_address_is_refused():
    handler = redirecting({"/spec.yaml": (302, "http://169.254.169.254/latest/meta-data/iam")})
    with LoopbackServer(handler) as srv:
        # "api.public.example" stands for a public host; it is the allowlisted loopback server
        resolve = resolver_for({"api.public.example": ["127.0.0.1"]})
        with pytest.raises(outbound.RedirectRefused) as info:
            outbound.fetch(srv.url("/spec.yaml", host="api.public.example"), allowlist="api.public.example", resolver=resolve)
        err = info.value
        assert err.status == 502 and err.error_type == "refused"
        assert err.details["address"] == "169.254.169.254"
        assert err.details["address_class"] == "link-local (cloud metadata)"
        assert err.details["redirect_from"].endswith("/spec.yaml")
        assert [r.path for r in srv.requests] == ["/spec.yaml"]


def test_redirect_to_a_non_allowlisted_port_of_loopback_is_refused():
    with LoopbackServer(redirecting({"/a": (307, "http://127.0.0.1:1/b")})) as srv:
        with pytest.raises(outbound.RedirectRefused):
            outbound.fetch(srv.url("/a"), allowlist=f"127.0.0.1:{srv.port}")


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1/"])
def test_redirect_to_another_scheme_is_refused(location):
    with LoopbackServer(redirecting({"/a": (302, location)})) as srv:
        with pytest.raises(outbound.RedirectRefused):
            outbound.fetch(srv.url("/a"), allowlist="127.0.0.1")


def test_redirects_are_followed_and_rechecked_each_hop():
    calls: list[str] = []
    resolve = resolver_for({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]}, calls)
    with LoopbackServer(redirecting({"/one": (301, "/two"), "/two": (302, "http://b.test:{port}/three")})) as srv:
        srv.handler = redirecting({"/one": (301, "/two"), "/two": (302, f"http://b.test:{srv.port}/three")})
        resp = outbound.fetch(srv.url("/one", host="a.test"), allowlist="127.0.0.1", resolver=resolve)
    assert resp.status_code == 200
    assert resp.json()["path"] == "/three"
    assert resp.url == f"http://b.test:{srv.port}/three"
    assert len(resp.redirects) == 2
    assert calls == ["a.test", "a.test", "b.test"]


def test_too_many_redirects_is_an_upstream_error():
    with LoopbackServer(redirecting({"/loop": (302, "/loop")})) as srv:
        with pytest.raises(outbound.TooManyRedirects) as info:
            outbound.fetch(srv.url("/loop"), allowlist="127.0.0.1", max_redirects=3)
        assert len(srv.requests) == 4
    assert info.value.status == 502 and info.value.error_type == "redirects"


def test_redirects_are_returned_as_is_when_following_is_off():
    with LoopbackServer(redirecting({"/a": (302, "http://169.254.169.254/")})) as srv:
        resp = outbound.fetch(srv.url("/a"), allowlist="127.0.0.1", max_redirects=0)
    assert resp.status_code == 302 and resp.headers["Location"] == "http://169.254.169.254/"


def test_see_other_turns_post_into_get_without_body():
    with LoopbackServer(redirecting({"/submit": (303, "/result")})) as srv:
        resp = outbound.fetch(srv.url("/submit"), method="POST", body=b'{"a":1}',
                              headers={"Content-Type": "application/json"}, allowlist="127.0.0.1")
    assert resp.json() == {"path": "/result", "method": "GET", "body": "", "auth": None}


def test_temporary_redirect_keeps_method_and_body():
    with LoopbackServer(redirecting({"/submit": (307, "/again")})) as srv:
        resp = outbound.fetch(srv.url("/submit"), method="POST", body=b"payload", allowlist="127.0.0.1")
    assert resp.json()["method"] == "POST" and resp.json()["body"] == "payload"


def test_credentials_are_dropped_when_a_redirect_changes_origin():
    resolve = resolver_for({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    with LoopbackServer(ok_handler) as srv:
        srv.handler = redirecting({"/same": (302, "/final"), "/cross": (302, f"http://b.test:{srv.port}/final")})
        headers = {"Authorization": "Bearer s3cret", "X-Token": "t0ken"}
        same = outbound.fetch(srv.url("/same", host="a.test"), headers=headers, allowlist="127.0.0.1",
                              resolver=resolve, sensitive_headers=["X-Token"])
        cross = outbound.fetch(srv.url("/cross", host="a.test"), headers=headers, allowlist="127.0.0.1",
                               resolver=resolve, sensitive_headers=["X-Token"])
        finals = [r for r in srv.requests if r.path == "/final"]
    assert same.json()["auth"] == "Bearer s3cret"
    assert cross.json()["auth"] is None
    assert finals[0].headers.get("X-Token") == "t0ken"
    assert "X-Token" not in finals[1].headers


# ------------------------------------------------------------ size and time


def test_declared_oversized_response_is_refused_before_reading():
    with LoopbackServer(lambda req: (200, {}, b"x" * 5000)) as srv:
        with pytest.raises(outbound.ResponseTooLarge) as info:
            outbound.fetch(srv.url("/"), allowlist="127.0.0.1", max_bytes=4096)
    assert info.value.details["declared_bytes"] == 5000
    assert info.value.status == 502 and info.value.error_type == "too_large"


def test_streamed_oversized_response_is_cut_off():
    def endless(req):
        return 200, {}, (b"y" * 1024 for _ in range(10_000))

    with LoopbackServer(endless) as srv:
        with pytest.raises(outbound.ResponseTooLarge):
            outbound.fetch(srv.url("/"), allowlist="127.0.0.1", max_bytes=64 * 1024)


def test_compressed_response_is_capped_after_decompression():
    bomb = gzip.compress(b"\0" * (2 * 1024 * 1024))
    with LoopbackServer(lambda req: (200, {"Content-Encoding": "gzip"}, bomb)) as srv:
        with pytest.raises(outbound.ResponseTooLarge):
            outbound.fetch(srv.url("/"), allowlist="127.0.0.1", max_bytes=256 * 1024)


def test_response_at_the_limit_is_returned():
    with LoopbackServer(lambda req: (200, {}, b"z" * 4096)) as srv:
        resp = outbound.fetch(srv.url("/"), allowlist="127.0.0.1", max_bytes=4096)
    assert resp.content == b"z" * 4096


def test_slow_upstream_is_a_timeout():
    def slow(req):
        time.sleep(1.0)
        return 200, {}, b"late"

    with LoopbackServer(slow) as srv:
        with pytest.raises(outbound.OutboundTimeout) as info:
            outbound.fetch(srv.url("/"), allowlist="127.0.0.1", read_timeout=0.2)
    assert isinstance(info.value, RequestTimeout) and info.value.status == 408
    assert info.value.details["phase"] == "read"


def test_dripping_upstream_is_bounded_by_the_total_time():
    def drip(req):
        def gen():
            for _ in range(100):
                time.sleep(0.05)
                yield b"."
        return 200, {}, gen()

    with LoopbackServer(drip) as srv:
        with pytest.raises(outbound.OutboundTimeout) as info:
            outbound.fetch(srv.url("/"), allowlist="127.0.0.1", read_timeout=1.0, total_timeout=0.4)
    assert info.value.details["phase"] == "total"


def test_closed_port_is_a_connection_error():
    with LoopbackServer(ok_handler) as srv:
        port = srv.port
    with pytest.raises(outbound.OutboundConnectionError) as info:
        outbound.fetch(f"http://127.0.0.1:{port}/", allowlist="127.0.0.1")
    assert info.value.status == 502 and info.value.error_type == "connection"


def test_header_injection_is_refused(upstream):
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(upstream.url("/"), headers={"X-A": "v\r\nX-Injected: 1"}, allowlist="127.0.0.1")


def test_percent_encoded_dots_reach_the_upstream_unchanged(upstream):
    outbound.fetch(upstream.url("/items/%2E%2E/x%2Fy"), allowlist="127.0.0.1")
    assert upstream.requests[-1].raw_target == "/items/%2E%2E/x%2Fy"


def test_per_call_limits_override_the_policy_and_unknown_ones_are_refused(upstream):
    policy = outbound.policy_from_settings(allowlist="127.0.0.1", max_redirects=0)
    assert policy.with_limits(max_bytes=10, read_timeout=None).max_bytes == 10
    assert policy.with_limits(read_timeout=None).read_timeout == policy.read_timeout
    with pytest.raises(outbound.ResponseTooLarge):
        outbound.fetch(upstream.url("/big"), policy=policy, max_bytes=5)
    with pytest.raises(TypeError, match="max_bites"):
        outbound.fetch(upstream.url("/"), policy=policy, max_bites=5)
