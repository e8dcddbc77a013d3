"""Every environment variable the service reads, in one place.

Read once per container through `get_settings()`; tests build their own
`Settings(...)` or call `reset_settings()` after changing the environment.
Defaults are documented in README.md ("Settings").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from chalicelib.textbool import parse_bool

# Environment variable names (one constant each, used nowhere else).
DATABASE_URL = "DATABASE_URL"
DATABASE_SECRET_ARN = "DATABASE_SECRET_ARN"
REDIS_URL = "REDIS_URL"
SECRET_KEYS = "SECRET_KEYS"
SECRET_KEYS_SECRET_ARN = "SECRET_KEYS_SECRET_ARN"
OUTBOUND_ALLOWLIST = "OUTBOUND_ALLOWLIST"
DB_STATEMENT_TIMEOUT_MS = "DB_STATEMENT_TIMEOUT_MS"
DB_CONNECT_TIMEOUT_S = "DB_CONNECT_TIMEOUT_S"
DB_POOL_MAX = "DB_POOL_MAX"
DB_POOL_IDLE_S = "DB_POOL_IDLE_S"
DB_POOL_WAIT_S = "DB_POOL_WAIT_S"
AWS_LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"   # set by the Lambda runtime
KEY_DEFAULT_RATE_PER_MINUTE = "KEY_DEFAULT_RATE_PER_MINUTE"
KEY_DEFAULT_MAX_CONCURRENT = "KEY_DEFAULT_MAX_CONCURRENT"
# make run (scripts/run_local.py) only:
LOCAL_STATE_DIR = "STEPFLOW_STATE_DIR"
LOCAL_HOST = "HOST"
LOCAL_PORT = "PORT"
MAX_SYNC_BODY_BYTES = "MAX_SYNC_BODY_BYTES"
MAX_SYNC_RESPONSE_BYTES = "MAX_SYNC_RESPONSE_BYTES"
MAX_ASYNC_SPEC_BYTES = "MAX_ASYNC_SPEC_BYTES"
YAML_MAX_ALIASES = "YAML_MAX_ALIASES"
YAML_MAX_DEPTH = "YAML_MAX_DEPTH"
LOG_BODY_LIMIT_BYTES = "LOG_BODY_LIMIT_BYTES"
HEALTH_TIMEOUT_S = "HEALTH_TIMEOUT_S"
QUEUE_URL_CRITICAL = "QUEUE_URL_CRITICAL"
QUEUE_URL_DEFAULT = "QUEUE_URL_DEFAULT"
QUEUE_URL_LOW = "QUEUE_URL_LOW"
QUEUE_NAME_PREFIX = "QUEUE_NAME_PREFIX"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
STUCK_JOB_AFTER_S = "STUCK_JOB_AFTER_S"
JOB_RETRY_DELAY_S = "JOB_RETRY_DELAY_S"
JOB_TIMEOUT_S = "JOB_TIMEOUT_S"
PARTITION_MONTHS_AHEAD = "PARTITION_MONTHS_AHEAD"
PARTITION_RETENTION_MONTHS = "PARTITION_RETENTION_MONTHS"
PARTITION_DETACH_ONLY = "PARTITION_DETACH_ONLY"
HEALTH_CHECK_FAILURES_UNHEALTHY = "HEALTH_CHECK_FAILURES_UNHEALTHY"
HEALTH_CHECK_SUCCESSES_HEALTHY = "HEALTH_CHECK_SUCCESSES_HEALTHY"
APP_VERSION = "APP_VERSION"
# CloudWatch namespace of the EMF metrics (chalicelib/observability.py).
METRICS_NAMESPACE = "METRICS_NAMESPACE"
STAGE = "STAGE"
DYNAMIC_API_ALLOW_GATEWAY_DB = "DYNAMIC_API_ALLOW_GATEWAY_DB"
DYNAMIC_API_MAX_ROWS = "DYNAMIC_API_MAX_ROWS"
DYNAMIC_API_MAX_RESPONSE_BYTES = "DYNAMIC_API_MAX_RESPONSE_BYTES"
GATEWAY_MAX_RESPONSE_BYTES = "GATEWAY_MAX_RESPONSE_BYTES"


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be an integer, got {raw!r}") from exc


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be a number, got {raw!r}") from exc


def _list(env: dict, name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse_bool(raw)
    except ValueError as exc:
        raise RuntimeError(f"setting {name}: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/stepflow"
    # AWS: the RDS-managed secret {"username", "password"} for DATABASE_URL (infra/), which carries no password.
    database_secret_arn: str | None = None
    redis_url: str | None = None
    secret_keys: tuple[str, ...] = ()
    secret_keys_secret_arn: str | None = None
    outbound_allowlist: tuple[str, ...] = ()
    db_statement_timeout_ms: int = 25_000
    db_connect_timeout_s: float = 5.0
    # Connections to the project's database per process (a Lambda container: 1).
    db_pool_max: int = 8
    db_pool_idle_s: float = 60.0
    db_pool_wait_s: float = 5.0
    # Quotas of viewer/operator keys on the management API (0 = unlimited); admin: unlimited.
    key_default_rate_per_minute: int = 100
    key_default_max_concurrent: int = 10
    max_sync_body_bytes: int = 6 * 1024 * 1024
    # Lambda's synchronous response payload limit, measured on the payload it returns (chalicelib/web/answer_size.py).
    max_sync_response_bytes: int = 6 * 1024 * 1024
    max_async_spec_bytes: int = 50 * 1024 * 1024
    yaml_max_aliases: int = 10_000
    yaml_max_depth: int = 500
    log_body_limit_bytes: int = 64 * 1024
    health_timeout_s: float = 0.8
    queue_urls: dict = field(default_factory=dict)
    queue_name_prefix: str = "stepflow-dev-jobs"
    aws_endpoint_url: str | None = None
    stuck_job_after_s: int = 900
    job_retry_delay_s: int = 30
    # A comparison job's time budget unless its request sets `timeout` (seed 003: 120 s query timeout).
    job_timeout_s: float = 120.0
    partition_months_ahead: int = 3
    partition_retention_months: int = 6
    partition_detach_only: bool = False
    health_failures_unhealthy: int = 2
    health_successes_healthy: int = 1
    app_version: str = "0.1.0"
    stage: str = "local"
    # Dynamic APIs: a pool may reach the gateway's own database only when this is set (DESIGN 15).
    dynamic_api_allow_gateway_db: bool = False
    dynamic_api_max_rows: int = 10_000
    dynamic_api_max_response_bytes: int = 5 * 1024 * 1024   # below Lambda's 6 MB response limit
    metrics_namespace: str = "StepFlowGateway"
    # Bytes of an upstream answer the gateway reads (502 above); base64 of 4 MiB still fits Lambda's 6 MB.
    gateway_max_response_bytes: int = 4 * 1024 * 1024

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        queue_urls = {
            prio: env[var]
            for prio, var in (("critical", QUEUE_URL_CRITICAL), ("default", QUEUE_URL_DEFAULT), ("low", QUEUE_URL_LOW))
            if env.get(var)
        }
        return cls(
            database_url=env.get(DATABASE_URL) or cls.database_url,
            database_secret_arn=env.get(DATABASE_SECRET_ARN) or None,
            redis_url=env.get(REDIS_URL) or None,
            secret_keys=_list(env, SECRET_KEYS),
            secret_keys_secret_arn=env.get(SECRET_KEYS_SECRET_ARN) or None,
            outbound_allowlist=_list(env, OUTBOUND_ALLOWLIST),
            db_statement_timeout_ms=_int(env, DB_STATEMENT_TIMEOUT_MS, cls.db_statement_timeout_ms),
            db_connect_timeout_s=_float(env, DB_CONNECT_TIMEOUT_S, cls.db_connect_timeout_s),
            db_pool_max=_int(env, DB_POOL_MAX, 1 if env.get(AWS_LAMBDA_FUNCTION_NAME) else cls.db_pool_max),
            db_pool_idle_s=_float(env, DB_POOL_IDLE_S, cls.db_pool_idle_s),
            db_pool_wait_s=_float(env, DB_POOL_WAIT_S, cls.db_pool_wait_s),
            key_default_rate_per_minute=_int(env, KEY_DEFAULT_RATE_PER_MINUTE, cls.key_default_rate_per_minute),
            key_default_max_concurrent=_int(env, KEY_DEFAULT_MAX_CONCURRENT, cls.key_default_max_concurrent),
            max_sync_body_bytes=_int(env, MAX_SYNC_BODY_BYTES, cls.max_sync_body_bytes),
            max_sync_response_bytes=_int(env, MAX_SYNC_RESPONSE_BYTES, cls.max_sync_response_bytes),
            max_async_spec_bytes=_int(env, MAX_ASYNC_SPEC_BYTES, cls.max_async_spec_bytes),
            yaml_max_aliases=_int(env, YAML_MAX_ALIASES, cls.yaml_max_aliases),
            yaml_max_depth=_int(env, YAML_MAX_DEPTH, cls.yaml_max_depth),
            log_body_limit_bytes=_int(env, LOG_BODY_LIMIT_BYTES, cls.log_body_limit_bytes),
            health_timeout_s=_float(env, HEALTH_TIMEOUT_S, cls.health_timeout_s),
            queue_urls=queue_urls,
            queue_name_prefix=env.get(QUEUE_NAME_PREFIX) or cls.queue_name_prefix,
            aws_endpoint_url=env.get(AWS_ENDPOINT_URL) or None,
            stuck_job_after_s=_int(env, STUCK_JOB_AFTER_S, cls.stuck_job_after_s),
            job_retry_delay_s=_int(env, JOB_RETRY_DELAY_S, cls.job_retry_delay_s),
            job_timeout_s=_float(env, JOB_TIMEOUT_S, cls.job_timeout_s),
            partition_months_ahead=_int(env, PARTITION_MONTHS_AHEAD, cls.partition_months_ahead),
            partition_retention_months=_int(env, PARTITION_RETENTION_MONTHS, cls.partition_retention_months),
            partition_detach_only=_bool(env, PARTITION_DETACH_ONLY, cls.partition_detach_only),
            health_failures_unhealthy=_int(env, HEALTH_CHECK_FAILURES_UNHEALTHY, cls.health_failures_unhealthy),
            health_successes_healthy=_int(env, HEALTH_CHECK_SUCCESSES_HEALTHY, cls.health_successes_healthy),
            app_version=env.get(APP_VERSION) or cls.app_version,
            stage=env.get(STAGE) or cls.stage,
            dynamic_api_allow_gateway_db=_bool(env, DYNAMIC_API_ALLOW_GATEWAY_DB, cls.dynamic_api_allow_gateway_db),
            dynamic_api_max_rows=_int(env, DYNAMIC_API_MAX_ROWS, cls.dynamic_api_max_rows),
            dynamic_api_max_response_bytes=_int(env, DYNAMIC_API_MAX_RESPONSE_BYTES,
                                                cls.dynamic_api_max_response_bytes),
            metrics_namespace=env.get(METRICS_NAMESPACE) or cls.metrics_namespace,
            gateway_max_response_bytes=_int(env, GATEWAY_MAX_RESPONSE_BYTES, cls.gateway_max_response_bytes),
        )


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def reset_settings(settings: Settings | None = None) -> Settings:
    """Drop the cached settings (tests), optionally installing given ones."""
    global _settings
    _settings = settings
    return get_settings()
