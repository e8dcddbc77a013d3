"""A document's upstream `auth_config`: sealed at rest, masked in every
answer and audit row, and bound to the origin it is sent to.

    seal(config) -> the jsonb text stored; unseal(stored) -> the config
    masked(stored) -> what callers see
    document_auth_config(db, document_id) -> the decrypted config (for the gateway)
"""
from __future__ import annotations

from typing import Any

from chalicelib.catalog.sql import database, dumps
from chalicelib.errors import Conflict, NotFound, field_error, field_errors


def seal(config: dict | None) -> str | None:
    if config is None:
        return None
    from chalicelib.secrets import get_box
    return dumps(get_box().seal(config))


def unseal(stored: Any) -> Any:
    if stored is None:
        return None
    from chalicelib.secrets import get_box
    return get_box().unseal(stored)


def masked(stored: Any) -> Any:
    from chalicelib.masking import mask_auth_config
    return mask_auth_config(unseal(stored))


def _shown(origin: tuple | None) -> str | None:
    return f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else None


def check_origin_binding(old_row: dict, old_auth: dict | None, new_base: str | None, new_auth: Any,
                          kept: list | None, may_retarget: bool) -> None:
    """A stored upstream secret is bound to the origin (scheme, host, port) it
    is sent to: the document's base_url, and for OAuth2 the token_url. Moving
    an origin while a stored secret would follow it needs the secrets sent
    again in the same request (nothing kept from the stored config), or an
    admin. `kept`: the paths merged from the stored config (None: the request
    leaves auth_config as it is)."""
    from chalicelib.masking import secret_values
    from chalicelib.net.policy import origin_of

    if may_retarget or not old_auth or not secret_values(old_auth, auth=True):
        return
    following = kept is None or bool(kept)  # stored secrets the new config still carries
    if not following:
        return
    moves = []
    if new_base is not None and origin_of(new_base) != origin_of(old_row["base_url"]):
        moves.append(("base_url", old_row["base_url"], new_base))
    final = old_auth if kept is None else new_auth
    if (isinstance(final, dict) and old_auth.get("type") == "oauth2" and final.get("token_url")
            and origin_of(final["token_url"]) != origin_of(old_auth.get("token_url") or "")):
        moves.append(("auth_config.token_url", old_auth.get("token_url"), final["token_url"]))
    if not moves:
        return
    field, old_url, new_url = moves[0]
    o, n = origin_of(old_url or ""), origin_of(new_url)
    raise Conflict(
        f"{field} moves the upstream origin from {_shown(o)} to {_shown(n)}, and the stored auth_config "
        "secrets are bound to their origin: send auth_config again with every secret in clear in the same "
        "request (not the mask; PUT /api/documents/{id} takes base_url and auth_config together), "
        "or ask an admin to make the change",
        field_errors(field_error(["body", *field.split(".")],
                                 "moves the upstream origin the stored secrets are bound to", "origin_bound"),
                     old_origin=_shown(o), new_origin=_shown(n),
                     kept_secrets=["auth_config"] if kept is None else [".".join(map(str, p)) for p in kept],
                     fix="resend auth_config with its secrets"))


def check_new_endpoint_origins(old_auth: dict | None, known: set, servers_lists: list, may_retarget: bool) -> None:
    """A re-import whose endpoint servers (operation / path-item `servers`)
    reach an origin the document did not call before would send the stored
    secrets there: it needs an admin, or the secrets sent again (PUT
    auth_config first). `known`: the origins already called."""
    from chalicelib.masking import secret_values
    from chalicelib.net.policy import origin_of

    if may_retarget or not old_auth or not secret_values(old_auth, auth=True):
        return
    for servers in servers_lists:
        for s in servers or ():
            url = s.get("url") if isinstance(s, dict) else None
            o = origin_of(url) if isinstance(url, str) and "://" in url else None
            if o and o not in known:
                raise Conflict(
                    f"the new spec sends calls to {_shown(o)} (an operation's or path's servers), and the stored "
                    "auth_config secrets are bound to the origins the document calls: ask an admin to re-import, "
                    "or clear auth_config and set it again after the re-import",
                    field_errors(field_error(["spec", "servers"], "reaches an origin the stored secrets are not "
                                             "bound to", "origin_bound"),
                                 new_origin=_shown(o), known_origins=sorted(map(_shown, known)),
                                 kept_secrets=["auth_config"], fix="re-import as an admin"))


def document_auth_config(db, document_id: str) -> dict | None:
    """The decrypted auth_config of a document (for the gateway)."""
    row = database(db).one("SELECT auth_config FROM api_documents WHERE id = CAST(:id AS uuid)", id=document_id)
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return unseal(row["auth_config"])
