"""chalicelib.net.outbound._prepare: requests' prepared request, without the steps that
cannot change it here, and requests' URL refusals kept on every call."""
from __future__ import annotations

import pytest
import requests

from chalicelib.net import outbound

CASES = [
    ("GET", "http://127.0.0.1:8080/health", {"A": "1"}, None, None),
    ("POST", "http://127.0.0.1:8080/x?y=1#f", {"Content-Type": "application/json"}, None, b'{"a":1}'),
    ("POST", "http://127.0.0.1:8080/x", {}, None, "a=b"),
    ("PUT", "https://Example.com/%2E%2E/x", {"Cookie": "a=b"}, None, None),
    ("GET", "https://example.com/x", {}, {"q": "1"}, None),
    ("DELETE", "http://[::1]:99/x", {}, None, None),
    ("GET", "http://example.com/%zz", {}, None, None),
]
REFUSED = [
    ("GET", "http://ex ample.com/x", {}, None, None),
    ("GET", "http://example.com:99999/x", {}, None, None),
    ("GET", "http://.example.com/x", {}, None, None),
    ("GET", "http://example.com/x", {"Bad\n": "v"}, None, None),
]


def _requests_way(method, url, headers, params, body):
    p = requests.Request(method, url, headers=headers, params=params, data=body).prepare()
    if not params:
        p.url = url
    return p


def _shape(p):
    return p.method, p.url, dict(p.headers), p.body, dict(p.hooks)


@pytest.mark.parametrize("case", CASES)
def test_the_prepared_request_is_requests_own(case):
    for _ in range(2):   # the second time with the authority already checked
        assert _shape(outbound._prepare(requests, *case)) == _shape(_requests_way(*case))


@pytest.mark.parametrize("case", REFUSED)
def test_what_requests_refuses_is_refused_every_time(case):
    for _ in range(2):
        with pytest.raises((requests.exceptions.RequestException, ValueError)) as ours:
            outbound._prepare(requests, *case)
        with pytest.raises((requests.exceptions.RequestException, ValueError)) as theirs:
            _requests_way(*case)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
