"""Local API Gateway stand-in for `make run` and the tests.

The HTTP server itself is chalicelib.web.local_server. Chalice's LocalGateway
answers an unknown path with API Gateway's 403 "Missing Authentication Token".
In AWS the infra maps that gateway response to a 404 envelope; here
`EnvelopeGateway` does the same, so unknown routes answer 404 in the envelope
everywhere.
"""
from __future__ import annotations

from chalice.local import ForbiddenError, LocalGateway
from chalice.test import Client, TestHTTPClient

from chalicelib.web import envelope


def not_found_response(method: str, path: str) -> dict:
    rid = envelope.set_request_id(None)
    body = envelope.error_body("NOT_FOUND", f"no route for {method} {path.split('?')[0]}; see GET /api/openapi.json")
    return {"statusCode": 404, "headers": {"Content-Type": "application/json", "X-Request-Id": rid},
            "multiValueHeaders": {}, "body": envelope.dumps(body)}


class EnvelopeGateway(LocalGateway):
    def handle_request(self, method, path, headers, body):
        try:
            return super().handle_request(method, path, headers, body)
        except ForbiddenError:
            # This app defines no API Gateway authorizers: a 403 here is
            # always "no such resource".
            return not_found_response(method, path)


class EnvelopeTestHTTPClient(TestHTTPClient):
    """chalice.test's HTTP client with the envelope gateway."""

    def __init__(self, app, config):
        super().__init__(app, config)
        self._local_gateway = EnvelopeGateway(app, self._config)


class ApiTestClient(Client):
    """chalice.test.Client whose `http` uses the envelope gateway."""

    @property
    def http(self):
        if self._http_client is None:
            self._http_client = EnvelopeTestHTTPClient(self._app, self._chalice_config)
        return self._http_client
