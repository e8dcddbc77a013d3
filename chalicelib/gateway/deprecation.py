"""RFC 9745 deprecation of a gateway endpoint: what the invoke answer says.

    fields(epoch, docs_url) -> {"deprecated": True, "deprecated_at": "...Z"[, "deprecation_link": url]}
    headers(result) -> {"Deprecation": "@1767225600"[, "Link": '<url>; rel="deprecation"']} or {}

`epoch` is the endpoint's `deprecated_at` (set by the catalog when the spec
first marks the operation deprecated or an operator sets the status; see
migration 073). The `Link` is sent only for an absolute http(s) URL from the
spec's externalDocs (operation's, else the document's) that can be written
in a header as is; otherwise it is left out.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

_LINKABLE = re.compile(r"^https?://[!#-;=?-\[\]-~]+$")  # visible ASCII except space, ", <, >, \
MAX_LINK_CHARS = 2000


def link_of(url) -> str | None:
    if isinstance(url, str) and len(url) <= MAX_LINK_CHARS and _LINKABLE.match(url):
        return url
    return None


def fields(epoch: int | None, docs_url) -> dict:
    out: dict = {"deprecated": True}
    if epoch is not None:
        out["deprecated_at"] = datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    link = link_of(docs_url)
    if link:
        out["deprecation_link"] = link
    return out


def headers(result: dict) -> dict:
    if not result.get("deprecated"):
        return {}
    out = {}
    at = result.get("deprecated_at")
    if at:
        moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        out["Deprecation"] = f"@{int(moment.timestamp())}"
    if result.get("deprecation_link"):
        out["Link"] = f'<{result["deprecation_link"]}>; rel="deprecation"'
    return out
