"""Every error answer the suite receives is checked against the one envelope
and the one `error.details` shape (README, "Using the API"), the moment it
is received.

`install()` (tests/conftest.py, at configure time) wraps the clients at
their base, so no test can go around it:
- in-process: `chalice.test.TestHTTPClient.request` (chalicelib.web.local's
  ApiTestClient and every chalice.test.Client);
- over HTTP: `requests.adapters.HTTPAdapter.send` for answers from a server
  registered with `watch(url)` (tests/live.py registers each live server),
  so `live_server.call`, HttpApi and a bare `requests.get` are all checked.

A wrong answer fails the test at once (AssertionError where it was
received) and is also recorded in `VIOLATIONS`, so an answer received on a
worker thread fails its test too (`conftest._error_shape_guard`).
`envelope_problems(status, body)` is the check itself; the details rule is
`chalicelib.errors.details_problems` (one owner).
"""
from __future__ import annotations

import json
import threading
from typing import Any

from chalicelib import errors as app_errors

ENVELOPE_KEYS = {"success", "error", "timestamp", "request_id"}
# /api/health's 503 also carries the report (data) beside the error.
OPTIONAL_KEYS = {"data"}


def _codes() -> dict[str, set[int]]:
    """Each code and the statuses its error classes answer (QUERY_ERROR: 422, 500 or 503)."""
    out: dict[str, set[int]] = {}
    todo = [app_errors.AppError]
    while todo:
        cls = todo.pop()
        out.setdefault(cls.code, set()).add(cls.status)
        todo.extend(cls.__subclasses__())
    return out


def envelope_problems(status: int, body: bytes | str | None) -> list[str]:
    """What is wrong with an error answer (status >= 400); [] when it is the one shape."""
    if not body:
        return []   # HEAD, or a body-less answer: nothing to shape
    try:
        doc = json.loads(body)
    except ValueError:
        return [f"the {status} answer is not JSON: {str(body)[:120]!r}"]
    if not isinstance(doc, dict):
        return [f"the {status} answer is a JSON {type(doc).__name__}, not the envelope"]
    out = []
    missing = ENVELOPE_KEYS - set(doc)
    extra = set(doc) - ENVELOPE_KEYS - OPTIONAL_KEYS
    if missing:
        out.append(f"the envelope lacks {sorted(missing)}")
    if extra:
        out.append(f"the envelope has unknown keys {sorted(extra)}")
    if doc.get("success") is not False:
        out.append("success is not false")
    for k in ("timestamp", "request_id"):
        if k in doc and not (isinstance(doc[k], str) and doc[k]):
            out.append(f"{k} is not a non-empty string")
    err = doc.get("error")
    if not isinstance(err, dict):
        return out + ["error is not an object"]
    if set(err) != {"code", "message", "details"}:
        out.append(f"error has keys {sorted(err)}, not code, message, details")
    code = err.get("code")
    codes = _codes()
    if code not in codes:
        out.append(f"error.code {code!r} is not one of chalicelib.errors' codes")
    elif status not in codes[code]:
        out.append(f"error.code {code} answers {sorted(codes[code])}, not {status}")
    if not (isinstance(err.get("message"), str) and err["message"]):
        out.append("error.message is not a non-empty string")
    details = err.get("details")
    out += app_errors.details_problems(details)
    if code == "VALIDATION_ERROR" and not (isinstance(details, dict) and details.get("errors")):
        out.append("a VALIDATION_ERROR has no details.errors naming the input")
    return out


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.checked = {"in-process": 0, "http": 0}
        self.violations: list[str] = []

    def check(self, tier: str, where: str, status: int, body: Any) -> None:
        if status < 400:
            return
        problems = envelope_problems(status, body)
        with self.lock:
            self.checked[tier] += 1
            if problems:
                self.violations.append(f"{where} -> {status}: {'; '.join(problems)}")
        if problems:
            raise AssertionError(f"error answer of {where} ({status}) breaks the one shape: {'; '.join(problems)}\n"
                                 f"{str(body)[:800]}")


TALLY = Tally()
VIOLATIONS = TALLY.violations
_WATCHED: set[str] = set()
_installed = False


def watch(base_url: str) -> None:
    """Check the error answers of the server at `base_url` (a live server)."""
    _WATCHED.add(base_url.rstrip("/"))


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from chalice.test import TestHTTPClient
    from requests.adapters import HTTPAdapter

    original_request = TestHTTPClient.request

    def checked_request(self, method, path, headers=None, body=b""):
        response = original_request(self, method, path, headers=headers, body=body)
        TALLY.check("in-process", f"{method} {path}", response.status_code, response.body)
        return response

    TestHTTPClient.request = checked_request   # type: ignore[method-assign]

    original_send = HTTPAdapter.send

    def checked_send(self, request, *args, **kwargs):
        response = original_send(self, request, *args, **kwargs)
        url = request.url or ""
        if response.status_code >= 400 and any(url.startswith(base + "/") or url == base for base in _WATCHED):
            TALLY.check("http", f"{request.method} {url}", response.status_code, response.content)
        return response

    HTTPAdapter.send = checked_send   # type: ignore[method-assign]
