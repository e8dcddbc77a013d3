"""Serves the console's static files and tells a key what it may do.

`GET /` is the console's index.html; `GET /console/{name}` serves one file of
chalicelib/console/static/ or of its vendor/ folder (third-party components
shipped with the console, each with its license), by file name: one flat
namespace (Chalice path parameters cannot span slashes, and a fixed set of
names leaves nothing to traverse). Both are public: the pages hold no data;
every call they make carries the user's key.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from chalice import Response

from chalicelib.errors import NotFound
from chalicelib.web.api import ApiBlueprint, Ctx

bp = ApiBlueprint(__name__, tag="console")

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
# The pages load nothing from elsewhere and run no inline script or style.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

_files: dict[str, tuple[str, str, str]] | None = None


def static_files() -> dict[str, tuple[str, str, str]]:
    """name ("app.js", "codemirror.js" from vendor/) -> (text, content type, etag); read once per container."""
    global _files
    if _files is None:
        found = {}
        for folder in (STATIC_DIR, STATIC_DIR / "vendor"):
            for entry in sorted(os.listdir(folder)) if folder.is_dir() else []:
                path = folder / entry
                ctype = CONTENT_TYPES.get(path.suffix)
                if ctype and path.is_file():
                    text = path.read_text(encoding="utf-8")
                    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20] + '"'
                    if entry in found:
                        raise RuntimeError(f"two console files are named {entry!r}")
                    found[entry] = (text, ctype, etag)
        _files = found
    return _files


def serve(name: str, request) -> Response:
    item = static_files().get(name)
    if item is None:
        raise NotFound(f"no console file named {name!r}")
    text, ctype, etag = item
    headers: dict[str, str | list[str]] = {
        "Content-Type": ctype, "Cache-Control": "no-cache", "ETag": etag,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if ctype.startswith("text/html"):
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
    if (request.headers.get("if-none-match") or "") == etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=200, headers=headers)


@bp.api("/", "GET", role=None, raw_response=True, summary="The web console (HTML), public")
def console_index(ctx: Ctx):
    return serve("index.html", ctx.request)


@bp.api("/console/{name}", "GET", role=None, raw_response=True,
        summary="A static file of the web console (JS, CSS, SVG, vendored components and their licenses), public")
def console_file(ctx: Ctx, name: str):
    if "/" in name:
        raise NotFound(f"no console file named {name!r}")
    return serve(name, ctx.request)


@bp.api("/api/whoami", "GET", role="viewer", summary="The calling key: prefix, role, permissions and quota")
def whoami(ctx: Ctx):
    from chalicelib.errors import AuthError
    from chalicelib.keys import quotas
    p = ctx.principal
    if p is None:   # role="viewer": the wrapper authenticated; this only narrows the type
        raise AuthError("missing API key")
    return {"key_id": p.key_id, "key_prefix": p.key_prefix, "role": p.role,
            "permissions": sorted(p.permissions), "limits": quotas.status(p)}
