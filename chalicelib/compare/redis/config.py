"""Request models of a Redis comparison (seed 003 section 2.2.1, plus cluster mode, sampling and paging).

Pydantic at the edge: the HTTP route and the job handler both validate
with these; the engine only sees validated models. Passwords are
SecretStr so that repr/logging never shows them.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from chalicelib.compare.core.deadline import MAX_JOB_TIMEOUT_S
from chalicelib.models import Model, StrictModel

MAX_SPECIFIED_KEYS = 1_000_000
MAX_SAMPLE_COUNT = 1_000_000


class RedisNode(StrictModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(6379, ge=1, le=65535)


class RedisSideConfig(Model):
    """One environment: a standalone server or a cluster (detected)."""
    model_config = ConfigDict(extra="ignore", defer_build=True)

    name: str = Field("redis", max_length=200)
    nodes: list[RedisNode] = Field(min_length=1, max_length=64)
    password: Optional[SecretStr] = None
    username: Optional[str] = Field(None, max_length=200)
    db: int = Field(0, ge=0, le=1023)
    ssl: bool = False
    ssl_verify: bool = True
    ssl_ca_certs: Optional[str] = None
    socket_timeout: float = Field(3.0, gt=0, le=120)
    socket_connect_timeout: float = Field(3.0, gt=0, le=60)
    max_connections_per_node: int = Field(16, ge=1, le=256)
    mode: Literal["auto", "standalone", "cluster"] = "auto"

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes_from_strings(cls, v):
        """Accept "host:port" strings beside {"host", "port"} objects."""
        if isinstance(v, list):
            out = []
            for n in v:
                if isinstance(n, str):
                    host, _, port = n.rpartition(":") if ":" in n else (n, "", "6379")
                    out.append({"host": host or n, "port": int(port) if port.isdigit() else port})
                else:
                    out.append(n)
            return out
        return v

    @field_validator("password", mode="before")
    @classmethod
    def _empty_password_is_none(cls, v):
        return None if v in ("", None) else v

    @field_validator("username", mode="before")
    @classmethod
    def _empty_username_is_none(cls, v):
        return None if v in ("", None) else v

    def password_value(self) -> Optional[str]:
        return self.password.get_secret_value() if self.password is not None else None

    def public(self) -> dict:
        """The config as it may be shown (history, logs, errors): password masked."""
        d = self.model_dump(mode="json", exclude={"password"})
        d["password"] = "********" if self.password is not None else None
        return d

    def hosts(self) -> list[str]:
        return [f"{n.host}:{n.port}" for n in self.nodes]


class SampleConfig(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    count: int = Field(100, ge=1, le=MAX_SAMPLE_COUNT)
    pattern: str = Field("*", min_length=1, max_length=1024)
    source_cluster: Literal["cluster1", "cluster2", "both"] = "cluster1"
    scan_count: int = Field(1000, ge=10, le=100_000)
    seed: Optional[int] = Field(None, ge=0, le=2**63 - 1,
                                description="repeat a sample: the seed a previous answer reported")
    type: Optional[Literal["string", "hash", "list", "set", "zset", "stream"]] = None


class CompareOptions(Model):
    """Tuning knobs; every one has a sensible default."""
    model_config = ConfigDict(extra="ignore", defer_build=True)

    compare_ttl: bool = False
    ttl_tolerance_seconds: float = Field(2.0, ge=0)
    recheck_rounds: int = Field(1, ge=0, le=10)
    recheck_delay_seconds: float = Field(0.2, ge=0, le=30)
    batch_size: int = Field(500, ge=1, le=10_000)
    # a value bigger than this (bytes of a string, elements of a collection)
    # is compared page by page instead of read whole
    inline_max_bytes: int = Field(64 * 1024, ge=256, le=64 * 1024 * 1024)
    inline_max_items: int = Field(512, ge=8, le=1_000_000)
    page_size: int = Field(500, ge=8, le=100_000)
    # strings up to this size are still read whole (one key at a time) so that
    # JSON documents compare as JSON; bigger ones compare chunk by chunk
    json_max_bytes: int = Field(4 * 1024 * 1024, ge=0, le=512 * 1024 * 1024)
    max_value_chars: int = Field(1024, ge=16, le=1_000_000)
    max_listed: int = Field(1000, ge=0, le=1_000_000)
    max_member_samples: int = Field(20, ge=0, le=1000)
    include_identical: bool = True
    # whether text values are recognised as JSON documents (formatting analysis)
    compare_json: bool = True
    compare_mode: Literal["exact", "json", "normalized"] = "exact"


class RedisCompareRequest(CompareOptions):
    cluster1_config: Optional[RedisSideConfig] = None
    cluster2_config: Optional[RedisSideConfig] = None
    config_group_id: Optional[int] = None
    query_mode: Literal["specified", "sample"] = "specified"
    keys: list[Union[str, dict]] = Field(default_factory=list, max_length=MAX_SPECIFIED_KEYS,
                                         description='a key is a string, or {"base64": "..."} for binary keys')
    sample_config: SampleConfig = Field(default_factory=lambda: SampleConfig.model_validate({}))
    save_history: bool = True
    name: Optional[str] = Field(None, max_length=200)
    description: Optional[str] = Field(None, max_length=2000)
    async_: bool = Field(False, alias="async")
    priority: Optional[Literal["critical", "default", "low"]] = Field(
        None, description="the job's queue when async (Idempotency-Key header: submitted once per key)")
    timeout: Optional[float] = Field(
        None, gt=0, le=MAX_JOB_TIMEOUT_S,
        description="seconds the comparison may run: synchronous at most 29 (default 29; beyond, send "
                    "\"async\": true), as a job default JOB_TIMEOUT_S (120)")

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    @field_validator("keys")
    @classmethod
    def _binary_keys(cls, keys: list) -> list:
        return [_request_key(k, i) for i, k in enumerate(keys)]

    @model_validator(mode="after")
    def _check(self):
        if self.config_group_id is None and (self.cluster1_config is None or self.cluster2_config is None):
            raise ValueError("cluster1_config and cluster2_config are required (or config_group_id)")
        if self.query_mode == "specified" and not self.keys and self.config_group_id is None:
            raise ValueError("keys must not be empty when query_mode is 'specified'")
        return self

    def options(self) -> CompareOptions:
        return CompareOptions.model_validate(self.model_dump(include=set(CompareOptions.model_fields)))

    def sides(self) -> tuple[RedisSideConfig, RedisSideConfig]:
        """Both environments' configs: given in the request or filled from its config group."""
        from chalicelib.errors import ValidationError, field_error, field_errors

        for name in ("cluster1_config", "cluster2_config"):
            if getattr(self, name) is None:
                raise ValidationError(f"{name} is required: give it or a config group that holds it",
                                      field_errors(field_error(["body", name], "Field required", "missing")))
        assert self.cluster1_config is not None and self.cluster2_config is not None
        return self.cluster1_config, self.cluster2_config


def _request_key(value: Any, index: int) -> Any:
    """A request key: text, or the binary form (checked; kept in that JSON-safe form, and
    given as text when its bytes are clean UTF-8). The engine turns it into bytes."""
    from chalicelib.compare.core.binary import display_bytes, from_binary_form, is_binary_form

    if isinstance(value, str):
        return value
    if not is_binary_form(value):
        raise ValueError(f'keys[{index}] must be a string or {{"base64": "..."}}')
    try:
        raw = from_binary_form(value)
    except ValueError as exc:
        raise ValueError(f"keys[{index}]: {exc}") from None
    return display_bytes(raw)
