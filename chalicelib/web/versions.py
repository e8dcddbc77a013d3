"""Versions of the management API (seed 003 section 5.1).

Every management route answers at `/api/...` and at `/api/v1/...` (the
unversioned path is v1). A client may also ask for a version with
`Accept: application/vnd.stepflow.v1+json` (or seed 003's
`application/vnd.datatools.v1+json`); a version this server does not serve
is a 406 NOT_ACCEPTABLE listing the supported ones. Every answer carries
`API-Version: v1`. A route declared `deprecated="SINCE/SUNSET"` (two YYYY-MM-DD
dates) answers with `Deprecation: @<epoch of SINCE>` (RFC 9745) and `Sunset`
(RFC 8594, the SUNSET day) headers.

Policy (README "Versioning"): within a version, changes are additive only
(new routes, new optional fields, new answer fields); a breaking change
makes a new version, and the old one is served, marked deprecated with a
Sunset date at least 6 months ahead, until then.
"""
from __future__ import annotations

import re

SUPPORTED = ("v1",)
CURRENT = "v1"
VERSIONED_PREFIXES = ("/api/",)
# Not management routes: published dynamic APIs keep their own paths.
UNVERSIONED = ("/api/dynamic-api/invoke/",)

_PATH_VERSION = re.compile(r"^/api/(v\d+)/")
_MEDIA = re.compile(r"application/vnd\.(stepflow|datatools)\.(v\d+)\+json", re.IGNORECASE)


def versioned_paths(path: str) -> list[str]:
    if not path.startswith(VERSIONED_PREFIXES) or path.startswith(UNVERSIONED) or path.startswith("/api/v1/"):
        return []
    return ["/api/" + v + path[4:] for v in SUPPORTED]


def path_version(path: str) -> str | None:
    m = _PATH_VERSION.match(path or "")
    return m.group(1) if m else None


def requested(accept: str | None) -> tuple[str | None, str | None]:
    """(version, media type) asked for by an Accept header, or (None, None)."""
    m = _MEDIA.search(accept or "")
    if not m:
        return None, None
    return m.group(2).lower(), m.group(0).lower()
