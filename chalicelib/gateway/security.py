"""What an endpoint's spec asks for (OpenAPI security) and whether a call has it.

An endpoint stores its effective `security` (operation over document, as
imported by chalicelib.catalog.extract) and `security_schemes` (the scheme
objects it names). The requirement list is a choice of alternatives (OR);
each alternative names schemes that are all needed (AND). `[]`, no
`security`, or an empty alternative `{}` means nothing is required.

A scheme is given by the document's auth_config or by the caller's invoke input:

  scheme                    auth_config gives it with             the caller with
  apiKey in header/query/   {"type": "apiKey"} of the same `in`   that header / query
  cookie, name N            and name (or a `headers` entry N)     parameter / cookie N
  http basic                {"type": "http", "scheme": "basic"}   headers.Authorization
  http bearer               http bearer, or oauth2                "Basic ..." / "Bearer ..."
  oauth2, openIdConnect     oauth2, or http bearer                (only with auth_config
                                                                  forward_authorization)
  a name the spec does not define: any config (the per-scheme form: an entry of that name).

A per-scheme auth_config ({"schemes": {name: ...}}) gives a scheme by its
name (the entry must be of a kind that fits it); a single one gives every
scheme it fits. `credentials_for(t, cfg, inp)` answers the scheme names
whose entries the call sends (the first alternative satisfied, in spec
order), or a 400 naming the schemes when no alternative is;
`document_check` is the save-time report (warnings, never a refusal).
Endpoints stored before schemes were recorded (security_schemes NULL) are
not checked until the migrator's backfill records them (catalog.backfill).
"""
from __future__ import annotations

from typing import Any

from chalicelib.errors import ValidationError, field_error, field_errors


def alternatives(security: Any) -> list[dict] | None:
    """The requirement alternatives, or None when nothing is required."""
    if not isinstance(security, list) or not security:
        return None
    alts = [req for req in security if isinstance(req, dict)]
    if not alts or any(not req for req in alts):
        return None
    return alts


def describe(name: str, scheme: Any) -> str:
    """`TokenAuth (apiKey in header 'token')`: a scheme as an error names it."""
    if not isinstance(scheme, dict):
        return f"{name} (not defined by the spec)"
    kind = scheme.get("type")
    if kind == "apiKey":
        return f"{name} (apiKey in {scheme.get('in')} {scheme.get('name')!r})"
    if kind == "http":
        return f"{name} (http {str(scheme.get('scheme', '')).lower()})"
    return f"{name} ({kind})"


def _header_set(cfg: dict, name: str) -> bool:
    return any(h.lower() == name.lower() for h in (cfg.get("headers") or {}))


def fits(entry: Any, scheme: Any) -> bool:
    """A single credential config gives this scheme object (None: undefined by the spec)."""
    if not isinstance(entry, dict):
        return False
    if not isinstance(scheme, dict):
        return entry.get("type") not in (None, "none")
    kind, have = scheme.get("type"), entry.get("type")
    if kind == "apiKey":
        where = scheme.get("in", "header")
        if where == "header" and _header_set(entry, str(scheme.get("name", ""))):
            return True
        same_name = (str(entry.get("name", "")).lower() == str(scheme.get("name", "")).lower() if where == "header"
                     else entry.get("name") == scheme.get("name"))
        return have == "apiKey" and entry.get("in", "header") == where and same_name
    if _header_set(entry, "Authorization") and kind in ("http", "oauth2", "openIdConnect"):
        return True
    if kind == "http":
        wanted = str(scheme.get("scheme", "")).lower()
        if wanted == "bearer":
            return (have == "http" and entry.get("scheme") == "bearer") or have == "oauth2"
        return have == "http" and entry.get("scheme") == wanted
    if kind in ("oauth2", "openIdConnect"):
        return have == "oauth2" or (have == "http" and entry.get("scheme") == "bearer")
    return False


def config_gives(cfg: dict | None, name: str, scheme: Any) -> bool:
    if not cfg:
        return False
    if cfg.get("type") == "schemes":
        entry = (cfg.get("schemes") or {}).get(name)
        if entry is not None:
            return fits(entry, scheme) or not isinstance(scheme, dict)
        return isinstance(scheme, dict) and scheme.get("type") == "apiKey" and fits(
            {"headers": cfg.get("headers")}, scheme)
    return fits(cfg, scheme)


def caller_gives(inp, cfg: dict | None, scheme: Any) -> bool:
    if not isinstance(scheme, dict) or inp is None:
        return False
    kind = scheme.get("type")
    if kind == "apiKey":
        where, name = scheme.get("in", "header"), str(scheme.get("name", ""))
        if where == "header":
            return any(str(h).lower() == name.lower() for h in (inp.headers or {}))
        return name in ((inp.query if where == "query" else inp.cookies) or {})
    if not (cfg or {}).get("forward_authorization"):
        return False  # the caller's Authorization is dropped (upstream_auth.apply)
    value = next((str(v) for h, v in (inp.headers or {}).items() if str(h).lower() == "authorization"), "")
    if kind == "http":
        return value.lower().startswith(str(scheme.get("scheme", "")).lower() + " ")
    return kind in ("oauth2", "openIdConnect") and value.lower().startswith("bearer ")


def missing_for(cfg: dict | None, security: Any, schemes: Any, inp=None) -> tuple[list[str] | None, list[list[str]]]:
    """(names the config sends for the first satisfied alternative, or None when
    none is; the names each alternative lacks)."""
    alts = alternatives(security)
    if alts is None:
        return [], []
    schemes = schemes if isinstance(schemes, dict) else {}
    lacking: list[list[str]] = []
    for alt in alts:
        gaps, use = [], []
        for name in alt:
            scheme = schemes.get(name)
            if config_gives(cfg, name, scheme):
                use.append(name)
            elif not caller_gives(inp, cfg, scheme):
                gaps.append(name)
        if not gaps:
            return use, []
        lacking.append(gaps)
    return None, lacking


def credentials_for(t, cfg: dict | None, inp) -> list[str] | None:
    """The scheme names whose credentials this call sends; a 400 naming the
    schemes when neither the auth_config nor the caller gives any alternative."""
    if t.security_schemes is None:  # stored before schemes were recorded
        return None
    use, lacking = missing_for(cfg, t.security, t.security_schemes, inp)
    if use is not None:
        return use
    schemes = t.security_schemes or {}
    names = sorted({n for gap in lacking for n in gap})
    wanted = " or ".join(" and ".join(describe(n, schemes.get(n)) for n in gap) for gap in lacking)
    raise ValidationError(
        f"{t.method} {t.path} requires credentials that neither the document's auth_config nor the call gives: "
        f"{wanted}; configure auth_config (per scheme: {{\"schemes\": {{\"{names[0]}\": ...}}}}) "
        "or pass them in the invoke input",
        field_errors([field_error(["auth_config", "schemes", n], f"the spec asks for {describe(n, schemes.get(n))}",
                                  "missing_credentials") for n in names],
                     security=t.security, missing=lacking, schemes={n: schemes.get(n) for n in names}))


def document_check(auth_config: Any, document_id: str, db=None) -> dict:
    """What a document's endpoints ask for and what `auth_config` leaves open:
    {"requires": {name: scheme}, "unsatisfied": [{method, path, missing}], "warnings": [text]}."""
    from chalicelib.db import get_db

    rows = (db or get_db()).query(
        "SELECT method, path, security, security_schemes FROM api_endpoints"
        " WHERE api_document_id = CAST(:id AS uuid) AND status <> 'inactive' ORDER BY path, method",
        id=document_id)
    cfg = auth_config if isinstance(auth_config, dict) and auth_config else None
    requires: dict = {}
    unsatisfied = []
    for r in rows:
        if r["security_schemes"] is None or alternatives(r["security"]) is None:
            continue
        requires.update(r["security_schemes"])
        use, lacking = missing_for(cfg, r["security"], r["security_schemes"])
        if use is None:
            unsatisfied.append({"method": r["method"], "path": r["path"], "missing": lacking})
    warnings = []
    if unsatisfied:
        asked = ", ".join(describe(n, s) for n, s in sorted(requires.items()))
        warnings.append(f"{len(unsatisfied)} endpoint(s) ask for credentials auth_config does not give "
                        f"(the spec's schemes: {asked}); their calls are refused unless the caller passes them")
    if cfg and cfg.get("type") == "schemes":
        unknown = sorted(set(cfg.get("schemes") or {}) - set(requires))
        if unknown:
            warnings.append(f"auth_config names schemes no endpoint asks for: {', '.join(unknown)}")
    return {"requires": requires, "unsatisfied": unsatisfied, "warnings": warnings}
