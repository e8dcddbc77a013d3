"""Secrets at rest (DESIGN decision 8): Fernet with key rotation.

Masking (what is secret, how it is shown) belongs to `chalicelib.masking`;
`mask_config`, `merge_secrets` and `MASK` here are the same functions,
re-exported for the callers that hold a config and its box together.

Keys come from settings: SECRET_KEYS (comma-separated Fernet keys, newest
first) or, in AWS, SECRET_KEYS_SECRET_ARN (a Secrets Manager secret holding
the same comma-separated list; boto3 is imported only then). Encrypting uses
the newest key; decrypting tries each; `rotate()` re-encrypts with the newest.

JSON configs (auth_config, cluster configs) are stored as {"_enc": token}.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any

from chalicelib.errors import SystemError_
from chalicelib.masking import ENC_FIELD, MASK, is_secret_name, mask_value  # noqa: F401 - re-exported
from chalicelib.masking import mask as mask_config  # noqa: F401 - re-exported
from chalicelib.masking import merge as merge_secrets  # noqa: F401 - re-exported


class SecretBox:
    def __init__(self, keys: list[str] | tuple[str, ...]):
        from cryptography.fernet import Fernet, MultiFernet
        if not keys:
            raise SystemError_("no secret keys configured: set SECRET_KEYS (see README, Settings)")
        try:
            self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SystemError_("SECRET_KEYS holds a malformed Fernet key") from exc
        newest = keys[0].encode() if isinstance(keys[0], str) else keys[0]
        self._digest_key = hashlib.sha256(b"stepflow digest\x00" + newest).digest()

    def digest(self, data: bytes) -> str:
        """A keyed hash (HMAC-SHA256 under the newest key): the same in every
        container, and no offline guessing of what it covers without the key."""
        return hmac.new(self._digest_key, data, hashlib.sha256).hexdigest()

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
