"""The one masker (chalicelib.masking): one mask string, one rule for names."""
from __future__ import annotations

import pytest

from chalicelib import masking, secrets
from chalicelib.compare import sealing
from chalicelib.errors import ValidationError
from chalicelib.gateway import masking as gateway_masking
from chalicelib.masking import MASK


def test_every_module_that_masks_uses_the_same_mask_and_rule():
    assert secrets.MASK == gateway_masking.MASK == MASK
    assert secrets.mask_config is masking.mask and sealing.mask_secrets is masking.mask
    assert secrets.merge_secrets is masking.merge


@pytest.mark.parametrize("name", [
    "password", "Password", "db_password", "redisPassword", "passwd", "pwd", "pass", "secret", "client_secret",
    "X-Api-Secret", "token", "access_token", "refresh_token", "id_token", "X-Auth-Token", "api_key", "apiKey",
    "X-API-Key", "private_key", "secret_key", "aws_secret_access_key", "Authorization", "Proxy-Authorization",
    "Cookie", "Set-Cookie", "credentials", "passphrase", "session_id", "auth",
])
def test_secret_names_are_recognised_in_any_spelling(name):
    assert masking.is_secret_name(name)


@pytest.mark.parametrize("name", [
    "token_url", "token_type", "username", "user", "client_id", "host", "port", "keys", "key", "max_tokens",
    "value", "headers", "name", "content_type", "author", "session_count",
])
def test_ordinary_names_are_not_secret(name):
    assert not masking.is_secret_name(name)


def test_nested_secret_values_are_masked_whole_keeping_their_shape():
    out = masking.mask({"credentials": {"user": "u", "list": ["a", None]}, "plain": {"token": ""}})
    assert out == {"credentials": {"user": MASK, "list": [MASK, None]}, "plain": {"token": ""}}


def test_an_encrypted_value_is_masked_wherever_it_is():
    assert masking.mask({"anything": {"_enc": "gAAAA"}}) == {"anything": MASK}


@pytest.mark.parametrize("cfg,shown", [
    ({"type": "apiKey", "in": "header", "name": "X-Key", "value": "v-secret"},
     {"type": "apiKey", "in": "header", "name": "X-Key", "value": MASK}),
    ({"type": "http", "scheme": "bearer", "token": "t", "headers": {"X-Api-Secret": "h1", "X-Env": "prod"}},
     {"type": "http", "scheme": "bearer", "token": MASK, "headers": {"X-Api-Secret": MASK, "X-Env": MASK}}),
    ({"type": "http", "scheme": "basic", "username": "svc", "password": "p"},
     {"type": "http", "scheme": "basic", "username": "svc", "password": MASK}),
    ({"type": "oauth2", "token_url": "https://idp.example/token", "client_id": "c", "client_secret": "s",
      "scopes": ["a"]},
     {"type": "oauth2", "token_url": "https://idp.example/token", "client_id": "c", "client_secret": MASK,
      "scopes": ["a"]}),
])
def test_auth_configs_show_no_secret_and_every_extra_header_is_one(cfg, shown):
    assert masking.mask_auth_config(cfg) == shown
    assert masking.mask({"auth_config": cfg}) == {"auth_config": shown}


def test_secret_values_lists_every_clear_secret_of_an_auth_config():
    cfg = {"type": "http", "scheme": "bearer", "token": "tok-1", "headers": {"X-Env": "prod-env"}}
    assert sorted(masking.secret_values(cfg, auth=True)) == ["prod-env", "tok-1"]
    assert masking.secret_values({"type": "none"}, auth=True) == []


def test_sending_the_mask_back_keeps_the_stored_value_and_says_where():
    old = {"token": "t", "headers": {"X-A": "a", "X-B": "b"}}
    kept: list = []
    new = masking.merge({"token": MASK, "headers": {"X-A": MASK, "X-B": "new"}}, old, kept)
    assert new == {"token": "t", "headers": {"X-A": "a", "X-B": "new"}}
    assert kept == [("token",), ("headers", "X-A")]


def test_the_mask_for_a_value_never_stored_is_a_validation_error():
    with pytest.raises(ValidationError, match="headers.X-New"):
        masking.merge({"headers": {"X-New": MASK}}, {"headers": {}})


@pytest.mark.parametrize("url,shown", [
    ("/api/x?token=abc&page=2", f"/api/x?token={MASK}&page=2"),
    ("https://h.example/p?api_key=k1&q=ok#frag", f"https://h.example/p?api_key={MASK}&q=ok#frag"),
    ("https://u:pw@h.example/", f"https://u:{MASK}@h.example/"),
    ("/d?Password=p&X-Api-Secret=s", f"/d?Password={MASK}&X-Api-Secret={MASK}"),
    ("/d?access%5Ftoken=p", f"/d?access%5Ftoken={MASK}"),
    ("/plain/path", "/plain/path"),
    ("/d?token=", "/d?token="),
])
def test_mask_url_masks_secret_query_values_and_url_passwords(url, shown):
    assert masking.mask_url(url) == shown


def test_mask_url_takes_extra_names_secret_in_that_place():
    assert masking.mask_url("/x?ssn=123&a=1", names=["SSN"]) == f"/x?ssn={MASK}&a=1"


def test_free_text_keeps_words_but_loses_url_secrets():
    text = "could not connect to https://u:pw@h.example/x?token=abc (refused)"
    assert masking.mask_text(text) == f"could not connect to https://u:{MASK}@h.example/x?token={MASK} (refused)"


def test_headers_mask_by_name_and_scrub_clear_values():
    out = masking.mask_headers({"Authorization": "Bearer x", "X-Trace": "has sekrit-1 inside", "Accept": "*/*"},
                               values=["sekrit-1"])
    assert out == {"Authorization": MASK, "X-Trace": f"has {MASK} inside", "Accept": "*/*"}


def test_call_log_bodies_mask_json_and_form_fields_both_ways():
    s = gateway_masking.Sensitive()
    json_body = gateway_masking.body_for_log(b'{"user": "u", "password": "p1", "x": {"refresh_token": "r"}}',
                                             "application/json", 10_000, s)
    assert "p1" not in json_body and '"r"' not in json_body and '"user":"u"' in json_body
    form = gateway_masking.body_for_log(b"grant_type=client_credentials&client_secret=cs-1",
                                        "application/x-www-form-urlencoded", 10_000, s)
    assert form == f"grant_type=client_credentials&client_secret={MASK}"
