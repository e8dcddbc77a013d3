"""Connecting to one side of a comparison: standalone or cluster, detected.

`connect_side(label, config)` probes every configured node (in parallel),
detects cluster mode (INFO cluster, or CLUSTER SLOTS when INFO is not
allowed to an ACL user), builds the slot -> master map in cluster mode and
keeps one plain client per master, so that keys can be grouped by node and
slot and read with per-node pipelines. Unreachable nodes are recorded in
`nodes_status`; a side with no usable node raises ConnectionFailed with
seed 003's details (cluster, hosts, error_detail, suggestions). Bad
credentials are said to be bad credentials. Passwords never appear in any
message: driver texts are scrubbed before they are kept.

redis-py is imported inside the functions (cold start rule).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

from chalicelib.errors import ConnectionFailed, ConnectionRejected, ValidationError, field_error, field_errors

from .config import RedisSideConfig

SLOTS = 16384

CONNECT_SUGGESTIONS = [
    "Check network connectivity from the gateway to the Redis nodes",
    "Verify the host addresses and ports",
    "Confirm the Redis service is running (redis-cli -h HOST -p PORT ping)",
]
AUTH_SUGGESTIONS = [
    "Check the password of this Redis environment",
    "If Redis uses ACL users, set 'username' as well as 'password'",
    "Confirm the ACL user is enabled and allowed to run read commands (ACL GETUSER)",
]
PERMISSION_SUGGESTIONS = [
    "Grant the ACL user read access to the compared keys (e.g. +@read ~*)",
    "Allow PING, INFO, TYPE, SCAN and CLUSTER SLOTS for cluster detection and sampling",
]


class AuthFailed(Exception):
    pass


@dataclass
class NodeStatus:
    host: str
    port: int
    status: str = "unknown"        # connected | unreachable | auth_failed | error
    role: str | None = None        # standalone | master | replica
    error: str | None = None
    response_time_ms: float | None = None
    configured: bool = True

    def public(self) -> dict:
        d = {"host": self.host, "port": self.port, "status": self.status}
        if self.role:
            d["role"] = self.role
        if self.response_time_ms is not None:
            d["response_time_ms"] = round(self.response_time_ms, 3)
        if self.error:
            d["error"] = self.error
        if not self.configured:
            d["discovered"] = True
        return d


def node_id(host: str, port: int) -> str:
    return f"{host}:{port}"


class Scrubber:
    def __init__(self, secrets: Iterable[str | None]):
        self.secrets = [s for s in secrets if s]

    def __call__(self, text: Any) -> str:
        out = str(text)
        for s in self.secrets:
            out = out.replace(s, "******")
        return out


def classify_error(exc: BaseException) -> str:
    import redis.exceptions as rex
    if isinstance(exc, rex.AuthenticationError):
        return "auth_failed"
    msg = str(exc)
    if "WRONGPASS" in msg or "NOAUTH" in msg or "invalid password" in msg.lower() or \
            "invalid username-password" in msg:
        return "auth_failed"
    if isinstance(exc, rex.NoPermissionError):
        return "permission_denied"
    if isinstance(exc, (rex.ConnectionError, rex.TimeoutError, OSError)):
        return "unreachable"
    return "error"


def make_client(cfg: RedisSideConfig, host: str, port: int, *, db: int | None = None):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kwargs: dict = dict(
        host=host,
        port=port,
        db=cfg.db if db is None else db,
        password=cfg.password_value(),
        username=cfg.username,
        socket_timeout=cfg.socket_timeout,
        socket_connect_timeout=cfg.socket_connect_timeout,
        max_connections=cfg.max_connections_per_node,
        retry=Retry(NoBackoff(), 0),
        client_name="stepflow-compare",
    )
    if cfg.ssl:
        kwargs.update(ssl=True, ssl_cert_reqs="required" if cfg.ssl_verify else "none",
                      ssl_check_hostname=cfg.ssl_verify)
        if cfg.ssl_ca_certs:
            kwargs["ssl_ca_certs"] = cfg.ssl_ca_certs
    return redis.Redis(**kwargs)


@dataclass
class Side:
    """One connected environment. Thread-safe for concurrent pipelines."""
    label: str
    config: RedisSideConfig
    mode: str = "standalone"
    clients: dict = field(default_factory=dict)          # node id -> redis.Redis (masters / standalone)
    nodes_status: list = field(default_factory=list)     # [NodeStatus]
    slot_owner: list | None = None                       # slot -> node id (cluster)
    down_nodes: set = field(default_factory=set)         # master node ids not reachable
    scrub: Scrubber = field(default_factory=lambda: Scrubber([]))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _types_seen: dict = field(default_factory=dict)
    _pool: Any = None                                    # the side's reader threads, made on first use
    round_trips: int = 0
    round_trip_seconds: float = 0.0
    bytes_read: int = 0

    # ---------------------------------------------------------- routing

    def masters(self) -> list[str]:
        return [n for n in self.clients if n not in self.down_nodes]

    def node_for_slot(self, slot: int) -> str | None:
        if self.mode != "cluster":
            return next(iter(self.clients), None)
        return self.slot_owner[slot] if self.slot_owner else None

    def group_by_node(self, keys: list) -> dict[str | None, list]:
        """{node id: [key, ...] ordered by slot}; None collects keys of uncovered slots."""
        if self.mode != "cluster":
            return {next(iter(self.clients)): list(keys)}
        owners = self.slot_owner
        if owners is None:
            return {None: list(keys)}
        from redis.crc import key_slot
        by_node: dict[str | None, list] = {}
        slotted = sorted(((key_slot(_b(k)), k) for k in keys), key=lambda sk: sk[0])
        for slot, k in slotted:
            by_node.setdefault(owners[slot], []).append(k)
        return by_node

    def slot_of(self, key) -> int | None:
        if self.mode != "cluster":
            return None
        from redis.crc import key_slot
        return key_slot(_b(key))

    def client(self, node: str):
        return self.clients[node]

    def timed(self, seconds: float, nbytes: int = 0) -> None:
        with self._lock:
            self.round_trips += 1
            self.round_trip_seconds += seconds
            self.bytes_read += nbytes

    def saw_type(self, t: str) -> None:
        self._types_seen[t] = self._types_seen.get(t, 0) + 1

    def type_guess(self) -> str:
        """The collection type met most often so far (hash before anything is seen)."""
        if not self._types_seen:
            return "hash"
        return max(self._types_seen.items(), key=lambda kv: kv[1])[0]

    def add_bytes(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_read += nbytes

    def refresh_slots(self) -> None:
        """Re-read the slot map after a MOVED answer (resharding)."""
        if self.mode != "cluster":
            return
        for nid in list(self.masters()):
            try:
                slots = self.clients[nid].execute_command("CLUSTER SLOTS")
            except Exception:  # noqa: BLE001 - try the next master
                continue
            host, _, _ = nid.rpartition(":")
            self._apply_slots(slots, fallback_host=host)
            return

    def _apply_slots(self, slots: list, fallback_host: str) -> None:
        owner: list = [None] * SLOTS
        for entry in slots:
            start, end, master = int(entry[0]), int(entry[1]), entry[2]
            host = _s(master[0]) or fallback_host
            nid = node_id(host, int(master[1]))
            if nid not in self.clients:
                port = int(master[1])
                self.clients[nid] = make_client(self.config, host, port, db=0)
                known = next((st for st in self.nodes_status if node_id(st.host, st.port) == nid), None)
                if known is None:
                    known = _probe_one(self.clients[nid], host, port, self.scrub, configured=False)
                    self.nodes_status.append(known)
                known.role = "master"
                if known.status != "connected":
                    self.down_nodes.add(nid)
            for s in range(start, end + 1):
                owner[s] = nid
        self.slot_owner = owner

    # ---------------------------------------------------------- answer

    def stats(self) -> dict:
        connected = [n for n in self.nodes_status if n.status == "connected"]
        if not connected:
            status = "disconnected"
        elif self.down_nodes or len(connected) < len(self.nodes_status):
            status = "partial"
        else:
            status = "connected"
        avg = self.round_trip_seconds / self.round_trips if self.round_trips else 0.0
        return {
            "name": self.config.name,
            "mode": self.mode,
            "connection_status": status,
            "response_time_avg": round(avg, 6),
            "round_trips": self.round_trips,
            "masters": len(self.clients),
            "nodes_status": [n.public() for n in self.nodes_status],
        }

    def close(self) -> None:
        for c in self.clients.values():
            try:
                c.close()
                c.connection_pool.disconnect()
            except Exception:  # noqa: BLE001 - closing is best effort; the client is dropped anyway
                pass


def _b(k) -> bytes:
    return k if isinstance(k, bytes) else str(k).encode()


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _probe_one(client, host: str, port: int, scrub: Scrubber, configured: bool = True) -> NodeStatus:
    st = NodeStatus(host=host, port=port, configured=configured)
    t0 = time.perf_counter()
    try:
        client.ping()
        st.status = "connected"
        st.response_time_ms = (time.perf_counter() - t0) * 1000
    except Exception as exc:  # noqa: BLE001 - classified below
        kind = classify_error(exc)
        st.status = kind if kind in ("auth_failed", "unreachable") else "error"
        st.error = scrub(exc)
    return st


def _detect_cluster(client) -> bool | None:
    """True/False when known; None when this user may run neither INFO nor CLUSTER."""
    import redis.exceptions as rex
    try:
        info = client.info("cluster")
        return bool(int(info.get("cluster_enabled", 0)))
    except rex.NoPermissionError:
        pass
    except rex.ResponseError:
        pass
    try:
        client.execute_command("CLUSTER SLOTS")
        return True
    except rex.NoPermissionError:
        return None
    except rex.ResponseError as exc:
        if "cluster support disabled" in str(exc).lower():
            return False
        return None


def connect_side(label: str, cfg: RedisSideConfig) -> Side:
    scrub = Scrubber([cfg.password_value()])
    side = Side(label=label, config=cfg, scrub=scrub)
    probes = []
    nodes = list(dict.fromkeys((n.host, n.port) for n in cfg.nodes))
    clients = {node_id(h, p): make_client(cfg, h, p) for h, p in nodes}
    with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
        probes = list(pool.map(lambda hp: _probe_one(clients[node_id(*hp)], hp[0], hp[1], scrub), nodes))
    side.nodes_status = probes
    alive = [st for st in probes if st.status == "connected"]
    if not alive:
        for c in clients.values():
            c.close()
        _raise_side_down(label, cfg, probes)

    first = alive[0]
    first_client = clients[node_id(first.host, first.port)]
    if cfg.mode == "auto":
        detected = _detect_cluster(first_client)
        is_cluster = bool(detected)
    else:
        is_cluster = cfg.mode == "cluster"

    if not is_cluster:
        side.mode = "standalone"
        nid = node_id(first.host, first.port)
        side.clients = {nid: first_client}
        for st in probes:
            st.role = "standalone" if (st.host, st.port) == (first.host, first.port) else st.role
        for k, c in clients.items():
            if k != nid:
                c.close()
        return side

    side.mode = "cluster"
    if cfg.db:
        raise ValidationError(
            f"Redis {label} '{cfg.name}' is a cluster: only db 0 exists in cluster mode",
            field_errors(field_error(["body", f"{label}_config", "db"], "must be 0 for a Redis Cluster", "cluster_db")))
    import redis.exceptions as rex
    try:
        slots = first_client.execute_command("CLUSTER SLOTS")
    except rex.NoPermissionError as exc:
        raise ConnectionFailed(
            f"Redis {label} '{cfg.name}': the user may not run CLUSTER SLOTS",
            {"cluster": cfg.name, "hosts": cfg.hosts(), "error_detail": scrub(exc),
             "reason": "permission_denied", "suggestions": PERMISSION_SUGGESTIONS}) from exc
    master_ids = {node_id(_s(e[2][0]) or first.host, int(e[2][1])) for e in slots}
    for st in probes:
        nid = node_id(st.host, st.port)
        if st.status == "connected" and nid in master_ids:
            side.clients[nid] = clients[nid]
            st.role = "master"
        else:
            clients[nid].close()
            if st.status == "connected":
                st.role = "replica"
    side._apply_slots(slots, fallback_host=first.host)
    if not side.masters():
        side.close()
        _raise_side_down(label, cfg, side.nodes_status)
    return side


def _raise_side_down(label: str, cfg: RedisSideConfig, probes: list[NodeStatus]) -> None:
    for p in probes:
        if p.error and ("SELECT is not allowed in cluster mode" in p.error or "DB index is out of range" in p.error):
            issue = ("must be 0 for a Redis Cluster" if "cluster mode" in p.error
                     else "no such database on this server")
            raise ValidationError(f"Redis {label} '{cfg.name}': db {cfg.db} cannot be selected ({p.error})",
                                  field_errors(field_error(["body", f"{label}_config", "db"], issue, "db_unavailable")))
    auth = [p for p in probes if p.status == "auth_failed"]
    detail = "; ".join(f"{p.host}:{p.port}: {p.error}" for p in probes if p.error) or "no node answered"
    details = {
        "cluster": cfg.name,
        "side": label,
        "hosts": cfg.hosts(),
        "error_detail": detail,
        "nodes_status": [p.public() for p in probes],
    }
    if auth:
        who = f"user '{cfg.username}'" if cfg.username else "the default user"
        details.update(reason="auth_failed", suggestions=AUTH_SUGGESTIONS)
        raise ConnectionRejected(
            f"Authentication failed for Redis {label} '{cfg.name}' ({who}): wrong password or username",
            details)
    details.update(reason="unreachable", suggestions=CONNECT_SUGGESTIONS)
    raise ConnectionFailed(f"Cannot connect to Redis {label} '{cfg.name}': no node is reachable", details)
