"""Secrets inside comparison configs (DESIGN decision 8).

Config groups store every secret field (a name `chalicelib.masking` calls
secret: password, token, ...) sealed in place: {"password": {"_enc": …}}.
`open_secrets` gives the usable config back; `mask_secrets` (the one
masker) the one that may be shown, stored in history or written to logs.
"""
from __future__ import annotations

from typing import Any

from chalicelib.masking import is_sealed, is_secret_name
from chalicelib.masking import mask as mask_secrets
from chalicelib.secrets import get_box

__all__ = ["mask_secrets", "open_secrets", "seal_secrets"]


def seal_secrets(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if is_secret_name(k) and v not in (None, "") and not isinstance(v, (dict, list)):
                out[k] = get_box().seal(v)
            elif is_sealed(v):
                out[k] = v
            else:
                out[k] = seal_secrets(v)
        return out
    if isinstance(obj, list):
        return [seal_secrets(v) for v in obj]
    return obj


def open_secrets(obj: Any) -> Any:
    if is_sealed(obj):
        return get_box().unseal(obj)
    if isinstance(obj, dict):
        return {k: open_secrets(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [open_secrets(v) for v in obj]
    return obj
