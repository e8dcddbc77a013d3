"""Secrets at rest (DESIGN decision 8): Fernet with key rotation, and masking.

Keys come from settings: SECRET_KEYS (comma-separated Fernet keys, newest
first) or, in AWS, SECRET_KEYS_SECRET_ARN (a Secrets Manager secret holding
the same comma-separated list; boto3 is imported only then). Encrypting uses
the newest key; decrypting tries each; `rotate()` re-encrypts with the newest.

JSON configs (auth_config, cluster configs) are stored as {"_enc": token}.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from chalicelib.web.errors import SystemError_, ValidationError

MASK = "********"
ENC_FIELD = "_enc"
# Field names whose values are secrets wherever they appear in a config.
SECRET_FIELDS = frozenset({
    "password", "token", "value", "client_secret", "secret", "api_key", "apikey",
    "access_token", "refresh_token", "private_key", "authorization",
})


class SecretBox:
    def __init__(self, keys: list[str] | tuple[str, ...]):
        from cryptography.fernet import Fernet, MultiFernet
        if not keys:
            raise SystemError_("no secret keys configured: set SECRET_KEYS (see README, Settings)")
        try:
            self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SystemError_("SECRET_KEYS holds a malformed Fernet key") from exc

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise SystemError_("a stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def seal(self, obj: Any) -> dict | None:
        """A JSON value as {"_enc": token}; None stays None."""
        if obj is None:
            return None
        return {ENC_FIELD: self.encrypt(json.dumps(obj, separators=(",", ":")))}

    def unseal(self, sealed: Any) -> Any:
        if sealed is None:
            return None
        if isinstance(sealed, str):
            sealed = json.loads(sealed)
        if not isinstance(sealed, dict) or ENC_FIELD not in sealed:
            raise SystemError_("expected an encrypted value")
        return json.loads(self.decrypt(sealed[ENC_FIELD]))


def generate_key() -> str:
    from cryptography.fernet import Fernet
    return Fernet.generate_key().decode("ascii")


_box: SecretBox | None = None
_lock = threading.Lock()


def _keys_from_secrets_manager(arn: str) -> list[str]:
    from chalicelib.aws import client
    value = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return [k.strip() for k in value.split(",") if k.strip()]


def get_box() -> SecretBox:
    global _box
    if _box is None:
        with _lock:
            if _box is None:
                from chalicelib.settings import get_settings
                s = get_settings()
                keys = list(s.secret_keys)
                if not keys and s.secret_keys_secret_arn:
                    keys = _keys_from_secrets_manager(s.secret_keys_secret_arn)
                _box = SecretBox(keys)
    return _box


def set_box(box: SecretBox | None) -> None:
    global _box
    _box = box


def mask_value(value: Any) -> Any:
    if value is None or value == "":
        return value
    return MASK


def mask_config(obj: Any, secret_fields: frozenset = SECRET_FIELDS) -> Any:
    """A copy with every secret-named field's value replaced by the mask."""
    if isinstance(obj, dict):
        return {k: (mask_value(v) if k.lower() in secret_fields and not isinstance(v, (dict, list)) else
                    mask_config(v, secret_fields)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_config(v, secret_fields) for v in obj]
    return obj


def merge_secrets(new: Any, old: Any, secret_fields: frozenset = SECRET_FIELDS) -> Any:
    """On update, a secret field sent back as the mask keeps its stored value."""
    if isinstance(new, dict) and isinstance(old, dict):
        out = {}
        for k, v in new.items():
            if k.lower() in secret_fields and v == MASK:
                if k not in old:
                    raise ValidationError(f"{k} is the mask '{MASK}' but nothing is stored to keep")
                out[k] = old[k]
            else:
                out[k] = merge_secrets(v, old.get(k), secret_fields)
        return out
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [merge_secrets(n, o, secret_fields) for n, o in zip(new, old)]
    return new
