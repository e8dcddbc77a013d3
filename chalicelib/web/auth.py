"""API-key authentication and role checks at the edge (DESIGN decision 7).

Roles and the Principal live with the keys (chalicelib.keys.principal); this
module reads the key from the request and checks the route's role.
"""
from __future__ import annotations

from chalicelib import spans
from chalicelib.errors import AuthError, PermissionDenied
from chalicelib.keys.principal import ROLE_RANK, ROLES, Principal
from chalicelib.web import access_log

__all__ = ["ROLES", "ROLE_RANK", "Principal", "extract_key", "identify", "authenticate", "require_permissions"]


def extract_key(headers) -> str | None:
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if token:
            return token
    key = (headers.get("x-api-key") or "").strip()
    return key or None


def identify(request) -> Principal | None:
    """The caller's principal, or None when no key was sent. A key that was
    sent but is unknown or revoked is an AuthError."""
    from chalicelib.keys.service import lookup_key
    key = extract_key(request.headers)
    if key is None:
        return None
    with spans.span("auth"):
        principal = lookup_key(key)
    if principal is None:
        raise AuthError("invalid or revoked API key")
    access_log.set_principal(principal)   # the access-log row names the caller, refused or not
    return principal


def authenticate(request, role: str) -> Principal:
    principal = identify(request)
    if principal is None:
        raise AuthError("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    if not principal.has_role(role):
        raise PermissionDenied(f"this action needs the {role} role; your key has the {principal.role} role",
                               {"required_role": role, "your_role": principal.role})
    return principal


def require_permissions(principal: Principal | None, required: list[str]) -> None:
    """Dynamic APIs: empty list is public; otherwise every permission is needed."""
    if not required:
        return
    if principal is None:
        raise AuthError("this API requires an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    missing = sorted(set(required) - set(principal.permissions))
    if missing and principal.role != "admin":
        raise PermissionDenied(f"your key lacks permission(s): {', '.join(missing)}", {"missing_permissions": missing})
