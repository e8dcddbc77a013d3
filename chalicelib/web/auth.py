"""API-key authentication and role checks (DESIGN decision 7, seed 003 4.2).

Roles are ordered: viewer reads; operator also writes and invokes; admin also
manages keys, connection pools and init-db.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib import observability
from chalicelib.web.errors import AuthError, PermissionDenied

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {name: i for i, name in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    permissions: frozenset = field(default_factory=frozenset)
    key_prefix: str = ""

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


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
    principal = lookup_key(key)
    if principal is None:
        raise AuthError("invalid or revoked API key")
    observability.note_principal(principal)
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
