"""Shared pieces of the console's browser tests: a loopback upstream, small
specs, and documents imported through the live server's API."""
from __future__ import annotations

import json
import uuid

from tests.net.loopback_http import LoopbackServer

FORM_SPEC = {  # a Twilio-style API: form-encoded POST bodies, a patterned path id, markdown descriptions
    "openapi": "3.0.3",
    "info": {"title": "Formy", "version": "1.0.0"},
    "paths": {
        "/Accounts/{AccountSid}/Messages.json": {"post": {
            "operationId": "CreateMessage", "tags": ["Api20100401Message"],
            "summary": "Send a message",
            "description": "Send a **message** from `From` to `To`.\n\n- one *recipient*\n- see [the docs](https://example.com/docs)\n\n"
                           "<script>window.__pwned = 1</script> [bad](javascript:window.__pwned=2)",
            "parameters": [{"name": "AccountSid", "in": "path", "required": True, "description": "The SID of the **Account**.",
                            "schema": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$", "minLength": 34, "maxLength": 34}}],
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["To"],
                "properties": {"To": {"type": "string", "description": "The destination"},
                               "From": {"type": "string"}, "Body": {"type": "string", "maxLength": 1600}}}}}},
            "responses": {"201": {"description": "Created"}}}},
        "/Accounts/{AccountSid}/Calls/{CallSid}/Recordings/{RecordingSid}/Transcriptions.json": {"get": {
            "operationId": "ListTranscriptions", "tags": ["Api20100401Transcription"],
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                           for n in ("AccountSid", "CallSid", "RecordingSid")],
            "responses": {"200": {"description": "OK"}}}},
        "/Accounts.json": {"get": {"operationId": "ListAccount", "tags": ["Api20100401Account"],
                                   "responses": {"200": {"description": "OK"}}}},
        "/broken": {"get": {"operationId": "Broken", "tags": ["Api20100401Account"],
                            "responses": {"200": {"description": "OK"}}}},
    },
}
ACCOUNT = "AC" + "0123456789abcdef" * 2


def echo(req):
    """The upstream: echoes what it got; /broken answers 500."""
    if req.path.endswith("/broken"):
        return 500, {}, {"error": "boom"}
    return (201 if req.method == "POST" else 200), {}, {"method": req.method, "path": req.path,
                                                          "content_type": req.headers.get("content-type"),
                                                          "body": req.body.decode("utf-8", "replace")}


def upstream():
    return LoopbackServer(echo)


def import_doc(api, spec: dict, base_url: str, name: str | None = None) -> dict:
    """A document through the live server's API -> {"id", "name", "endpoints": {(METHOD, path): id}}."""
    name = name or f"{spec['info']['title']} {uuid.uuid4().hex[:6]}"
    r = api.post("/api/documents", {"content": json.dumps(spec), "base_url": base_url, "name": name})
    assert r.status == 201, r.body
    doc = r.data.get("document") or r.data
    return {"id": doc["id"], "name": name, "endpoints": {(e["method"], e["path"]): e["id"] for e in r.data["endpoints"]}}
