"""Cassandra sessions: created on first use, cached per configuration, closed when idle.

In Lambda a container serves many requests: the cluster connection made
for one configuration is reused by the next request with the same hosts,
port, credentials and datacenter, and closed once it has been idle for
`IDLE_SECONDS` (checked whenever a session is asked for, so a thawed
container drops its stale connections). cassandra-driver is imported
here, inside the functions, never at module level.

The driver is told not to read the whole schema (schema and token metadata
off): the comparison learns the column types it needs from its prepared
statements.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ConnectionFailed, ConnectionRejected, QueryRefused, QueryUnavailable, RequestTimeout

from .config import CassandraConfig

log = logging.getLogger("stepflow.compare.cassandra")

IDLE_SECONDS = 300.0

CONNECTION_SUGGESTIONS = [
    "check network connectivity to the hosts",
    "verify the host addresses and the port",
    "make sure the Cassandra service is running",
]
AUTH_SUGGESTIONS = [
    "check the username and password of this environment",
    "make sure the user exists and may log in",
]


@dataclass
class _Entry:
    cluster: Any
    session: Any
    last_used: float
    prepared: dict
    users: int = 0  # comparisons using it now: never closed as idle meanwhile


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()
_connecting: dict[str, threading.Lock] = {}


def fingerprint(cfg: CassandraConfig) -> str:
    parts = [",".join(sorted(cfg.hosts)), str(cfg.port), cfg.username or "", cfg.secret() or "",
             cfg.datacenter or "", str(cfg.protocol_version), str(cfg.connect_timeout), str(cfg.request_timeout)]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def scrub(text: str, cfg: CassandraConfig) -> str:
    """An error text with the password removed, whatever produced it."""
    secret = cfg.secret()
    if secret:
        text = text.replace(secret, "********")
    return text


def _close_idle(now: float, idle_seconds: float) -> None:
    stale = []
    with _lock:
        for key, entry in list(_cache.items()):
            if entry.users == 0 and now - entry.last_used > idle_seconds:
                stale.append(_cache.pop(key))
    for entry in stale:
        _shutdown(entry)


def _shutdown(entry: _Entry) -> None:
    try:
        entry.cluster.shutdown()
    except Exception:  # noqa: BLE001 - closing is best effort
        log.debug("closing an idle Cassandra cluster failed", exc_info=True)


def close_all() -> int:
    """Close every cached session (tests, shutdown). Returns how many."""
    with _lock:
        entries = list(_cache.values())
        _cache.clear()
    for entry in entries:
        _shutdown(entry)
    return len(entries)


def cached_count() -> int:
    return len(_cache)


@dataclass
class SideSession:
    """A connected session plus its prepared-statement cache; `release()` when done."""
    session: Any
    prepared: dict
    _entry: Any = None

    def release(self) -> None:
        if self._entry is not None:
            with _lock:
                self._entry.users = max(0, self._entry.users - 1)
                self._entry.last_used = time.monotonic()
            self._entry = None

    def __enter__(self) -> "SideSession":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def get_session(cfg: CassandraConfig, side: str, idle_seconds: float | None = None) -> SideSession:
    now = time.monotonic()
    _close_idle(now, IDLE_SECONDS if idle_seconds is None else idle_seconds)
    key = fingerprint(cfg)
    with _lock:
        entry = _cache.get(key)
        if entry is not None and not entry.cluster.is_shutdown:
            entry.last_used = now
            entry.users += 1
            return SideSession(entry.session, entry.prepared, entry)
        gate = _connecting.setdefault(key, threading.Lock())
    with gate:  # one connection attempt per configuration at a time
        with _lock:
            entry = _cache.get(key)
            if entry is not None and not entry.cluster.is_shutdown:
                entry.last_used = time.monotonic()
                entry.users += 1
                return SideSession(entry.session, entry.prepared, entry)
        cluster, session = _connect(cfg, side)
        entry = _Entry(cluster, session, time.monotonic(), {}, users=1)
        with _lock:
            _cache[key] = entry
        return SideSession(session, entry.prepared, entry)


def _connect(cfg: CassandraConfig, side: str):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy
    from cassandra.query import tuple_factory

    auth = PlainTextAuthProvider(cfg.username, cfg.secret() or "") if cfg.username else None
    profile = ExecutionProfile(
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=cfg.datacenter or ""),
        request_timeout=cfg.request_timeout,
        row_factory=tuple_factory,
    )
    cluster = Cluster(
        contact_points=list(cfg.hosts), port=cfg.port, auth_provider=auth,
        protocol_version=cfg.protocol_version,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        schema_metadata_enabled=False, token_metadata_enabled=False,
        connect_timeout=cfg.connect_timeout, control_connection_timeout=cfg.connect_timeout,
        reconnection_policy=ExponentialReconnectionPolicy(1.0, 60.0),
    )
    try:
        session = cluster.connect()
    except Exception as exc:
        datacenters = reported_datacenters(cluster)
        cluster.shutdown()
        raise connection_error(exc, cfg, side, datacenters) from exc
    return cluster, session


def reported_datacenters(cluster: Any) -> list:
    """The datacenters of the hosts the control connection saw (empty when it saw none)."""
    try:
        return sorted({h.datacenter for h in cluster.metadata.all_hosts() if h.datacenter})
    except Exception:  # noqa: BLE001 - only used to explain a failure
        return []


def _causes(exc: BaseException) -> list:
    """The per-host errors of a NoHostAvailable: a dict host -> error, or (some driver versions,
    e.g. when no host is in the local datacenter) a list of hosts without errors."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        found = [e for e in errors.values() if isinstance(e, BaseException)]
        return found or [exc]
    return [exc]


def connection_error(exc: BaseException, cfg: CassandraConfig, side: str,
                     datacenters: list | None = None) -> ConnectionFailed:
    from cassandra import AuthenticationFailed

    causes = _causes(exc)
    auth_failed = any(isinstance(c, AuthenticationFailed) for c in causes)
    detail = "; ".join(_describe(c) for c in causes) or type(exc).__name__
    details = {
        "side": side,
        "cluster": cfg.cluster_name,
        "hosts": list(cfg.hosts),
        "port": cfg.port,
        "error_detail": scrub(detail, cfg),
        "suggestions": AUTH_SUGGESTIONS if auth_failed else CONNECTION_SUGGESTIONS,
    }
    if auth_failed:
        details["reason"] = "authentication_failed"
        return ConnectionRejected(f"authentication to Cassandra cluster {cfg.cluster_name!r} ({side}) failed",
                                  details)
    datacenters = datacenters or []
    if cfg.datacenter and datacenters and cfg.datacenter not in datacenters:
        details["reason"] = "unknown_datacenter"
        details["datacenters"] = datacenters
        details["suggestions"] = [f"set datacenter to one the cluster reports: {', '.join(datacenters)}",
                                  "or leave datacenter empty to use the first host's"]
        return ConnectionRejected(f"Cassandra cluster {cfg.cluster_name!r} ({side}) has no datacenter "
                                  f"{cfg.datacenter!r}; it reports {', '.join(datacenters)}", details)
    details["reason"] = "unreachable"
    return ConnectionFailed(f"cannot connect to Cassandra cluster {cfg.cluster_name!r} ({side})", details)


def _describe(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection refused", "Timed out", "timed out"):
        if marker in text:
            return "Connection refused" if marker == "Connection refused" else "Connection timed out"
    if "AuthenticationFailed" in type(error).__name__ or "Bad credentials" in text or "incorrect" in text:
        return f"Bad credentials: {_error_message(error)}"
    return text or type(error).__name__


def _error_message(error: BaseException) -> str:
    text = str(error)
    marker = 'message="'
    if marker in text:
        return text.split(marker, 1)[1].rstrip('">')
    return text


QUERY_SUGGESTIONS = {
    "keyspace": "check that the keyspace name is right",
    "table": "check the table name (and the shard suffix for sharded tables)",
    "column": "check that every key and compared field exists in the table",
}


def query_error(exc: BaseException, cfg: CassandraConfig, side: str, query: str):
    """The typed error (CONNECTION_ERROR, QUERY_ERROR or TIMEOUT_ERROR) for a driver failure
    while preparing or running `query`; anything that is not the driver's is returned as is."""
    import cassandra
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException

    base = {"side": side, "cluster": cfg.cluster_name, "query": query,
            "consistency_level": cfg.consistency_level,
            "error_detail": scrub(_error_message(exc) or type(exc).__name__, cfg)}
    timeouts = (cassandra.OperationTimedOut, cassandra.ReadTimeout, cassandra.WriteTimeout, cassandra.Timeout)
    if isinstance(exc, timeouts):
        return RequestTimeout(f"Cassandra query timed out ({side})", {
            **base, "timeout_seconds": cfg.request_timeout, "reason": "timeout",
            "suggestions": ["query fewer keys at once (batch_size)", "raise request_timeout of this environment",
                            "check the cluster load"]})
    if isinstance(exc, NoHostAvailable):
        causes = [c for c in _causes(exc) if c is not exc and not isinstance(c, (ConnectionException, OSError))]
        if causes:  # every host answered with a coordinator error: report that one
            return query_error(causes[0], cfg, side, query)
        return connection_error(exc, cfg, side)
    if isinstance(exc, cassandra.Unavailable):
        return ConnectionFailed(f"not enough Cassandra replicas alive for {cfg.consistency_level} ({side})", {
            **base, "reason": "unavailable",
            "suggestions": ["bring the down replicas back", "or read at a lower consistency_level "
                            "(differences may then be replication lag: keep recheck_rounds)"]})
    if isinstance(exc, (ConnectionException, OSError)):
        return ConnectionFailed(f"connection to Cassandra lost ({side})", {
            **base, "reason": "unreachable", "suggestions": CONNECTION_SUGGESTIONS})
    if isinstance(exc, cassandra.Unauthorized):
        return QueryRefused(f"the Cassandra user may not read this table ({side})", {
            **base, "reason": "permission_denied",
            "suggestions": [f"GRANT SELECT ON {cfg.keyspace}.{cfg.table} TO the user of this environment"]})
    if isinstance(exc, (cassandra.ReadFailure, cassandra.CoordinationFailure)):
        return QueryUnavailable(f"Cassandra replicas failed to answer the read ({side})", {
            **base, "reason": "read_failure",
            "suggestions": ["check the replicas' logs (tombstone overwhelm, disk errors)", "query fewer keys at once"]})
    if not isinstance(exc, cassandra.DriverException) and type(exc).__module__.split(".")[0] != "cassandra":
        return exc
    message = base["error_detail"]
    lowered = message.lower()
    suggestions = []
    if "keyspace" in lowered:
        suggestions.append(QUERY_SUGGESTIONS["keyspace"])
    if "table" in lowered:
        suggestions.append(QUERY_SUGGESTIONS["table"])
    if "column" in lowered or "undefined name" in lowered:
        suggestions.append(QUERY_SUGGESTIONS["column"])
    if not suggestions:
        suggestions = list(QUERY_SUGGESTIONS.values())
    return QueryRefused(f"CQL query failed ({side})", {**base, "reason": "query_refused", "suggestions": suggestions})
