"""Request models of a Cassandra comparison (seed 003 sections 2.1.1 and 2.1.2).

Pydantic at the edge: the routes (and a job handler) validate with these;
the engine only sees validated models. Passwords are SecretStr so that a
repr or a log line never shows them.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Optional, Union, get_args

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from chalicelib.compare.core.deadline import MAX_JOB_TIMEOUT_S
from chalicelib.models import Model

MAX_KEYS = 200_000
# read consistency levels (ANY and EACH_QUORUM are write-only in Cassandra)
ConsistencyLevel = Literal["ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "LOCAL_ONE", "SERIAL",
                           "LOCAL_SERIAL"]
READ_CONSISTENCY: tuple[str, ...] = get_args(ConsistencyLevel)  # one list for the request model and the group check
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
_COLUMN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,127}$")


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value or ""):
        raise ValueError(f"{what} must be a CQL identifier (letters, digits, underscore; at most 48)")
    return value


def _column(value: str) -> str:
    if not _COLUMN.match(value or "") or '"' in value:
        raise ValueError(f"{value!r} is not a column name")
    return value


class CassandraConfig(Model):
    """One environment (production or test)."""
    model_config = ConfigDict(defer_build=True, extra="ignore")

    cluster_name: str = Field("cassandra", max_length=200)
    datacenter: Optional[str] = Field(None, max_length=200, description="local datacenter; empty: the first host's")
    hosts: list[str] = Field(min_length=1, max_length=64)
    port: int = Field(9042, ge=1, le=65535)
    username: Optional[str] = Field(None, max_length=200)
    password: Optional[SecretStr] = None
    keyspace: str
    table: str
    protocol_version: int = Field(4, ge=3, le=5)
    connect_timeout: float = Field(10.0, gt=0, le=60)
    request_timeout: float = Field(30.0, gt=0, le=600)
    consistency_level: ConsistencyLevel = Field(
        "LOCAL_QUORUM", description="read consistency of this side; LOCAL_QUORUM sees every acknowledged write")

    @field_validator("consistency_level", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.upper() if isinstance(value, str) else value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        cleaned = [h.strip() for h in hosts]
        if any(not h or len(h) > 255 or any(c.isspace() for c in h) for h in cleaned):
            raise ValueError("hosts must be non-empty host names or addresses")
        return cleaned

    @field_validator("keyspace")
    @classmethod
    def _keyspace(cls, value: str) -> str:
        return _identifier(value, "keyspace")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _identifier(value, "table")

    @field_validator("username", "datacenter", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" else value

    @field_validator("password", mode="before")
    @classmethod
    def _empty_password_is_none(cls, value):
        return None if value in ("", None) else value

    def secret(self) -> str | None:
        return self.password.get_secret_value() if self.password is not None else None

    def public(self) -> dict:
        """The config as answers and history may show it (password masked)."""
        data = self.model_dump(mode="json", exclude={"password"})
        data["password"] = "********" if self.password is not None else None
        return data


KeyValue = Union[str, int, float, bool, list, dict]


class ShardingConfig(Model):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    use_sharding_for_pro: bool = False
    use_sharding_for_test: bool = False
    interval_seconds: int = Field(604800, ge=1, le=10 * 365 * 86400)
    table_count: int = Field(14, ge=1, le=100_000)


class QueryRequest(Model):
    """POST /api/query. Either both configs, or a config group naming them."""
    model_config = ConfigDict(defer_build=True, extra="forbid", populate_by_name=True)

    pro_config: Optional[CassandraConfig] = None
    test_config: Optional[CassandraConfig] = None
    config_group_id: Optional[Union[int, str]] = None
    keys: list[str] = Field(default_factory=list, max_length=16)
    values: list[KeyValue] = Field(min_length=1, max_length=MAX_KEYS)
    fields_to_compare: list[str] = Field(default_factory=list, max_length=1000)
    exclude_fields: list[str] = Field(default_factory=list, max_length=1000)
    batch_size: int = Field(100, ge=1, le=1000, description="keys per IN query")
    concurrency: int = Field(8, ge=1, le=64, description="queries in flight per side")
    max_raw_rows: int = Field(1000, ge=0, le=100_000, description="rows listed in raw_pro_data/raw_test_data")
    compare_mode: Literal["exact", "json", "normalized"] = "exact"
    recheck_rounds: int = Field(1, ge=0, le=10, description="re-read differing keys this many times")
    recheck_delay_seconds: float = Field(0.2, ge=0, le=30)
    max_listed: int = Field(1000, ge=0, le=100_000)
    async_: bool = Field(False, alias="async")
    priority: Optional[Literal["critical", "default", "low"]] = Field(
        None, description="the job's queue when async (Idempotency-Key header: submitted once per key)")
    timeout: Optional[float] = Field(
        None, gt=0, le=MAX_JOB_TIMEOUT_S,
        description="seconds the comparison may run: synchronous at most 29 (default 29; beyond, send "
                    "\"async\": true), as a job default JOB_TIMEOUT_S (120)")
    save_history: bool = True
    name: Optional[str] = Field(None, max_length=255)
    description: Optional[str] = Field(None, max_length=2000)

    @field_validator("keys", "fields_to_compare", "exclude_fields")
    @classmethod
    def _columns(cls, names: list[str]) -> list[str]:
        return [_column(n) for n in names]

    @model_validator(mode="after")
    def _configs_or_group(self):
        if self.config_group_id is None and (self.pro_config is None or self.test_config is None):
            raise ValueError("give pro_config and test_config, or a config_group_id")
        return self


class ShardingQueryRequest(QueryRequest):
    """POST /api/sharding-query."""
    sharding_config: Optional[ShardingConfig] = None


def key_parts(value: Any, keys: list[str]) -> list[str]:
    """The per-column strings of one key value: a scalar for one key column,
    a list (positional) or an object (by column name) for several."""
    from chalicelib.compare.core.binary import is_binary_form

    if len(keys) == 1:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        elif isinstance(value, dict) and set(value) == {keys[0]}:
            value = value[keys[0]]
        if isinstance(value, (list, dict)) and not is_binary_form(value):
            raise ValueError("a single key column takes a scalar value")
        return [_text(value)]
    if isinstance(value, dict) and not is_binary_form(value):
        missing = [k for k in keys if k not in value]
        extra = [k for k in value if k not in keys]
        if missing or extra:
            raise ValueError(f"object keys must be exactly {keys}"
                             + (f"; missing {missing}" if missing else "") + (f"; unknown {extra}" if extra else ""))
        return [_text(value[k]) for k in keys]
    if isinstance(value, list):
        if len(value) != len(keys):
            raise ValueError(f"needs {len(keys)} values ({', '.join(keys)}), got {len(value)}")
        return [_text(v) for v in value]
    raise ValueError(f"a composite key ({', '.join(keys)}) takes a list or an object")


def _text(value: Any) -> Any:
    from chalicelib.compare.core.binary import from_binary_form, is_binary_form

    if is_binary_form(value):
        return from_binary_form(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        raise ValueError("a key column value must be a scalar")
    if value is None:
        raise ValueError("a key column value cannot be null")
    return str(value)


def validate_group_config(cfg: dict, where: str) -> None:
    """Config-group check of a Cassandra side: the fields given must be valid (a group may be
    saved incomplete; the full CassandraConfig is validated when a comparison uses it)."""
    from chalicelib.errors import ValidationError, field_error, field_errors

    problems = []
    hosts = cfg.get("hosts")
    if hosts is not None and (not isinstance(hosts, list) or not hosts
                              or not all(isinstance(h, str) and h.strip() for h in hosts)):
        problems.append(("hosts", "must be a non-empty list of host names"))
    port = cfg.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        problems.append(("port", "must be an integer port (1-65535)"))
    level = cfg.get("consistency_level")
    if level is not None and (not isinstance(level, str) or level.upper() not in READ_CONSISTENCY):
        problems.append(("consistency_level", f"must be one of {', '.join(READ_CONSISTENCY)}"))
    for name in ("keyspace", "table"):
        value = cfg.get(name)
        if value not in (None, "") and (not isinstance(value, str) or not _IDENTIFIER.match(value)):
            problems.append((name, "must be a CQL identifier (letters, digits, underscore; at most 48)"))
    if problems:
        raise ValidationError(f"invalid {where}.{problems[0][0]}: {problems[0][1]}",
                              field_errors(field_error([where, field], msg) for field, msg in problems))
