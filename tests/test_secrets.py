from __future__ import annotations

import pytest

from chalicelib.errors import SystemError_
from chalicelib.secrets import MASK, SecretBox, generate_key, mask_config, merge_secrets


def test_seal_round_trip_hides_clear_text():
    box = SecretBox([generate_key()])
    sealed = box.seal({"type": "http", "scheme": "bearer", "token": "s3cr3t-token"})
    assert "s3cr3t" not in str(sealed)
    assert box.unseal(sealed)["token"] == "s3cr3t-token"


def test_key_rotation_newest_first_reads_old_and_writes_new():
    old, new = generate_key(), generate_key()
    token = SecretBox([old]).encrypt("pw")
    rotated_box = SecretBox([new, old])
    assert rotated_box.decrypt(token) == "pw"
    rotated = rotated_box.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "pw"
    with pytest.raises(SystemError_):
        SecretBox([new]).decrypt(token)


def test_mask_config_masks_secret_fields_at_any_depth():
    cfg = {"name": "c", "client_id": "abc", "client_secret": "xyz", "nodes": [{"host": "h", "password": "p"}],
           "auth_config": {"type": "oauth2", "headers": {"X-Env": "prod"}}}
    masked = mask_config(cfg)
    assert masked["client_secret"] == MASK and masked["nodes"][0]["password"] == MASK
    assert masked["client_id"] == "abc" and masked["nodes"][0]["host"] == "h"
    assert masked["auth_config"]["headers"] == {"X-Env": MASK}
    assert cfg["client_secret"] == "xyz"


def test_merge_keeps_stored_secret_when_mask_is_sent_back():
    old = {"username": "u", "password": "real"}
    assert merge_secrets({"username": "v", "password": MASK}, old) == {"username": "v", "password": "real"}
    assert merge_secrets({"username": "v", "password": "new"}, old)["password"] == "new"


def test_missing_keys_is_a_clear_error():
    with pytest.raises(SystemError_, match="SECRET_KEYS"):
        SecretBox([])


def test_keys_can_come_from_secrets_manager(monkeypatch):
    from moto import mock_aws

    from chalicelib import aws, secrets
    from chalicelib.settings import reset_settings
    from tests.conftest import base_settings

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    new, old = generate_key(), generate_key()
    with mock_aws():
        aws.reset_clients()
        arn = aws.client("secretsmanager").create_secret(Name="stepflow/keys", SecretString=f"{new},{old}")["ARN"]
        reset_settings(base_settings(secret_keys=(), secret_keys_secret_arn=arn))
        secrets.set_box(None)
        token = SecretBox([old]).encrypt("from-old-key")
        assert secrets.get_box().decrypt(token) == "from-old-key"
        assert SecretBox([new]).decrypt(secrets.get_box().encrypt("x")) == "x"
    aws.reset_clients()
