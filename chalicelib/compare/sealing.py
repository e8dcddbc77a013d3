"""Secrets inside comparison configs (DESIGN decision 8).

Config groups store every secret-named field (password, token, ...; see
chalicelib.secrets.SECRET_FIELDS) sealed in place: {"password": {"_enc": …}}.
`open_secrets` gives the usable config back, `mask_secrets` the one that may
be shown, stored in history or written to logs.
"""
from __future__ import annotations

from typing import Any

from chalicelib.secrets import ENC_FIELD, MASK, SECRET_FIELDS, get_box


def _sealed(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {ENC_FIELD}


def seal_secrets(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if str(k).lower() in SECRET_FIELDS and v not in (None, "") and not isinstance(v, (dict, list)):
                out[k] = get_box().seal(v)
            elif _sealed(v):
                out[k] = v
            else:
                out[k] = seal_secrets(v)
        return out
    if isinstance(obj, list):
        return [seal_secrets(v) for v in obj]
    return obj


def open_secrets(obj: Any) -> Any:
    if _sealed(obj):
        return get_box().unseal(obj)
    if isinstance(obj, dict):
        return {k: open_secrets(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [open_secrets(v) for v in obj]
    return obj


def mask_secrets(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if str(k).lower() in SECRET_FIELDS and (_sealed(v) or not isinstance(v, (dict, list))):
                out[k] = v if v in (None, "") else MASK
            else:
                out[k] = mask_secrets(v)
        return out
    if isinstance(obj, list):
        return [mask_secrets(v) for v in obj]
    return obj


def secret_values(obj: Any) -> list[str]:
    """Every clear secret value inside obj (to scrub them from log messages)."""
    found: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).lower() in SECRET_FIELDS and isinstance(v, str) and v and v != MASK:
                found.append(v)
            else:
                found.extend(secret_values(v))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(secret_values(v))
    return found
