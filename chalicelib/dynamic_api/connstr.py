"""A pool's `connection_string` never keeps a password in clear.

Pools connect from their fields (host, port, username, the encrypted
password, database); `connection_string` is a descriptive copy for humans.
When it carries a password, in any of the common forms

    postgresql://user:secret@host:5432/db        (URL userinfo)
    host=h user=u password=secret dbname=d       (libpq keywords)
    Server=h;Uid=u;Pwd=secret;Database=d         (ADO.NET, seed 002's style)

`split_password` takes the password out (the caller stores it encrypted like
the `password` field) and leaves the mask (`chalicelib.secrets.MASK`) in its
place. `redact` applies the same rule to text already stored, so that no
answer carries a password even from a row saved before this rule existed.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

_URL_USERINFO = re.compile(r"(?P<head>^[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:)(?P<pw>[^/?#]*)(?P<tail>@)")
_KEYWORD = re.compile(r"(?P<head>(?:^|[;\s])\s*(?:password|pwd)\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^;\s]*)", re.I)


def _mask() -> str:
    from chalicelib.secrets import MASK
    return MASK


def split_password(text: str | None) -> tuple[str | None, str | None]:
    """(text with any password replaced by the mask, the password or None).

    A password that is already the mask is not a password (a client sending
    back what it was shown)."""
    if not text:
        return text, None
    mask = _mask()
    found: list[str] = []

    def url_sub(m: re.Match) -> str:
        found.append(unquote(m.group("pw")))
        return m.group("head") + mask + m.group("tail")

    def kw_sub(m: re.Match) -> str:
        pw = m.group("pw")
        if len(pw) >= 2 and pw[0] == pw[-1] == "'":
            pw = re.sub(r"\\(.)", r"\1", pw[1:-1])
        found.append(pw)
        return m.group("head") + mask

    out = _URL_USERINFO.sub(url_sub, text, count=1)
    out = _KEYWORD.sub(kw_sub, out)
    passwords = [p for p in found if p and p != mask]
    return out, (passwords[0] if passwords else None)


def redact(text: str | None) -> str | None:
    return split_password(text)[0]
