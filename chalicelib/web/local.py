"""Local API Gateway stand-in for `make run` and the tests.

The HTTP server itself is chalicelib.web.local_server. Chalice's LocalGateway
answers an unknown path with API Gateway's 403 "Missing Authentication Token".
In AWS the infra maps that gateway response to a 404 envelope; here
`EnvelopeGateway` does the same, so unknown routes answer 404 in the envelope
everywhere.

What Chalice's emulation does per request, it does here too, with less repeated
work (the server of `make run` and the test client both pay it): the route is
matched as Chalice's RouteMatcher does (the first route in sorted order that
fits, captures included) but only among routes with as many segments as the
path; the Lambda context's settings are read from the config once. The test
client's environment for the stage (Chalice patches `os.environ` with a copy
for each request) is copied without decoding the environment twice.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Any
from urllib.parse import parse_qs, urlparse

from chalice.local import ForbiddenError, LambdaContext, LocalGateway, MatchResult, RouteMatcher
from chalice.test import Client, TestHTTPClient

from chalicelib.web import envelope


def not_found_response(method: str, path: str) -> dict:
    rid = envelope.set_request_id(None)
    body = envelope.error_body("NOT_FOUND", f"no route for {method} {path.split('?')[0]}; see GET /api/openapi.json")
    return {"statusCode": 404, "headers": {"Content-Type": "application/json", "X-Request-Id": rid},
            "multiValueHeaders": {}, "body": envelope.dumps(body)}


class SegmentRouteMatcher(RouteMatcher):
    """Chalice's RouteMatcher, answering the same MatchResult (same route, same captures,
    same query parameters, same ValueError), with the routes grouped by segment count:
    Chalice compares a path only with routes of its own length anyway."""

    def __init__(self, route_urls: list[str]) -> None:
        super().__init__(route_urls)
        self._by_length: dict[int, list[tuple[str, tuple[tuple[str | None, str], ...]]]] = {}
        for route_url in self.route_urls:   # sorted, as Chalice tries them
            parts = route_url.split("/")
            segments = tuple((p[1:-1] if p.startswith("{") and p.endswith("}") else None, p) for p in parts)
            self._by_length.setdefault(len(parts), []).append((route_url, segments))

    def match_route(self, url: str) -> MatchResult:
        parsed_url = urlparse(url)
        query_params = parse_qs(parsed_url.query, keep_blank_values=True)
        path = parsed_url.path
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        parts = path.split("/")
        captured: dict[str, str] = {}   # shared across the routes tried, as in Chalice
        for route_url, segments in self._by_length.get(len(parts), ()):
            for value, (capture, literal) in zip(parts, segments, strict=True):   # same length
                if capture is not None:
                    captured[capture] = value
                    continue
                if value != literal:
                    break
            else:
                return MatchResult(route_url, captured, query_params)
        raise ValueError("No matching route found for: %s" % url)


class EnvelopeGateway(LocalGateway):
    def __init__(self, app_object: Any, config: Any) -> None:
        super().__init__(app_object, config)
        self.event_converter._route_matcher = SegmentRouteMatcher(list(app_object.routes))
        self._context_args: tuple[str, int, int] | None = None

    def _generate_lambda_context(self) -> LambdaContext:
        if self._context_args is None:   # what LocalGateway reads from the config each time
            timeout = self._config.lambda_timeout
            self._context_args = (self._config.function_name, self._config.lambda_memory_size,
                                  (self.MAX_LAMBDA_EXECUTION_TIME if timeout is None else timeout) * 1000)
        name, memory, max_runtime_ms = self._context_args
        return LambdaContext(function_name=name, memory_size=memory, max_runtime_ms=max_runtime_ms)

    def handle_request(self, method, path, headers, body):
        try:
            return super().handle_request(method, path, headers, body)
        except ForbiddenError:
            # This app defines no API Gateway authorizers: a 403 here is
            # always "no such resource".
            return not_found_response(method, path)


def _environ_copy() -> dict[str, str]:
    """`os.environ.copy()`, reading the process environment's entries once each (on POSIX,
    decoded as os.environ decodes them: the file-system encoding, surrogateescape)."""
    env: Any = os.environ
    data = getattr(env, "_data", None)
    if type(env) is not os._Environ or not isinstance(data, dict):
        return dict(env)
    if os.name == "posix":
        enc = sys.getfilesystemencoding()
        return {k.decode(enc, "surrogateescape"): v.decode(enc, "surrogateescape") for k, v in data.items()}
    key, value = env.decodekey, env.decodevalue
    return {key(k): value(v) for k, v in data.items()}


class EnvelopeTestHTTPClient(TestHTTPClient):
    """chalice.test's HTTP client with the envelope gateway."""

    def __init__(self, app, config):
        super().__init__(app, config)
        self._local_gateway = EnvelopeGateway(app, self._config)

    @contextlib.contextmanager
    def _patched_env_vars(self, environment_variables):
        # Chalice's BaseClient._patched_env_vars: os.environ is a patched copy for the request.
        original = os.environ
        patched = _environ_copy()
        patched.update(environment_variables)
        os.environ = patched  # noqa: B003 - a copy for the request, as Chalice does
        try:
            yield
        finally:
            os.environ = original  # noqa: B003 - the process environment back


class ApiTestClient(Client):
    """chalice.test.Client whose `http` uses the envelope gateway."""

    @property
    def http(self):
        if self._http_client is None:
            self._http_client = EnvelopeTestHTTPClient(self._app, self._chalice_config)
        return self._http_client
