"""A connection pool is a privilege (DESIGN 15). This module owns its rules:

* **Not the gateway's own database.** A pool is compared with the gateway's
  database by server identity, not host strings (an alias, another address
  of the same host or a DNS change reaches the same server):
  PostgreSQL: `system_identifier` from `pg_control_system()` (shared by a
  streaming replica, which holds the same data) or, when that is not
  readable, `pg_postmaster_start_time()`; plus `current_database()`.
  MySQL: `@@server_uuid`; MariaDB has none, so `@@server_id`, `@@hostname`
  and `@@port` stand for the server; plus `DATABASE()`. The gateway's
  database is PostgreSQL, so a MySQL pool never matches it; its identity is
  still recorded on the pool. The check runs when a pool is saved or tested
  and on every new connection (`verify_connection`), and refuses with 403
  unless the setting DYNAMIC_API_ALLOW_GATEWAY_DB is true.
* **Privileged pool users are reported.** A superuser, CREATEROLE,
  BYPASSRLS, membership of a superuser role or of pg_read_server_files / pg_write_server_files /
  pg_execute_server_program / pg_read_all_data / pg_write_all_data, or the
  right to run lo_import / pg_read_file (PostgreSQL); FILE, SUPER, CREATE
  USER, SHUTDOWN or the grant option (MySQL) become `privilege_warnings`
  in the create/update/test answer and on the pool.
* **Per-pool access.** `access = {"write_roles": [...], "read_roles": [...]}`
  (optionally `write_keys` / `read_keys`: API key ids admitted whatever their role)
  says which roles may define, update, test, publish, unpublish and delete
  APIs on the pool: an API on POST/PUT/PATCH/DELETE (it may write) needs a
  role in `write_roles`, a GET API (always read-only) one in `read_roles`.
  Default: writes admin only, reads admin and operator (admin only for a
  pool allowed to reach the gateway's database). The admin role always
  passes (it manages pools and their access).
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from chalicelib.errors import ConnectionFailed, PermissionDenied, QueryError, field_error, field_errors, invalid_input
from chalicelib.keys.principal import ROLES, Principal

from .dialects import BoundStatement
from .drivers import ConnectParams, DbConnection, connect

DEFAULT_ACCESS = {"write_roles": ["admin"], "read_roles": ["admin", "operator"]}
# a pool allowed to reach the gateway's own database: admin only unless the admin says otherwise
GATEWAY_DEFAULT_ACCESS = {"write_roles": ["admin"], "read_roles": ["admin"]}
ACCESS_KEYS = ("write_roles", "read_roles", "write_keys", "read_keys")


# --------------------------------------------------------------------------- identity

@dataclass(frozen=True)
class ServerIdentity:
    db_type: str
    server: str              # system_identifier / server_uuid / server_id@hostname:port
    started: str | None      # PostgreSQL postmaster start time (fallback identity)
    database: str

    @property
    def label(self) -> str:
        return f"{self.db_type}:{self.server}/{self.database}"

    def same_database(self, other: "ServerIdentity") -> bool:
        if self.db_type != other.db_type or self.database != other.database:
            return False
        if self.server and other.server and not self.server.startswith("start:") \
                and not other.server.startswith("start:"):
            return self.server == other.server
        return bool(self.started) and self.started == other.started


def _scalar_row(conn: DbConnection, sql: str) -> tuple:
    return tuple(conn.execute(BoundStatement(sql, (), conn.db_type)).rows[0])


def server_identity(conn: DbConnection) -> ServerIdentity:
    if conn.db_type == "postgresql":
        started, database = _scalar_row(conn, "SELECT pg_postmaster_start_time()::text, current_database()")
        try:
            (sysid,) = _scalar_row(conn, "SELECT system_identifier::text FROM pg_control_system()")
        except QueryError:
            sysid = None
        return ServerIdentity("postgresql", str(sysid) if sysid else f"start:{started}", str(started), str(database))
    if conn.flavor != "mariadb":
        try:
            uuid_, database = _scalar_row(conn, "SELECT @@server_uuid, DATABASE()")
            return ServerIdentity("mysql", str(uuid_), None, str(database or ""))
        except QueryError:
            pass
    server_id, host, port, database = _scalar_row(conn, "SELECT @@server_id, @@hostname, @@port, DATABASE()")
    return ServerIdentity("mysql", f"{server_id}@{host}:{port}", None, str(database or ""))


_gateway: dict[str, ServerIdentity] = {}
_gateway_lock = threading.Lock()


def gateway_identity(db=None) -> ServerIdentity:
    """The identity of the gateway's own database (cached per DATABASE_URL)."""
    from chalicelib.db import get_db
    from chalicelib.settings import get_settings
    key = get_settings().database_url
    with _gateway_lock:
        hit = _gateway.get(key)
    if hit is not None:
        return hit
    db = db or get_db()
    row = db.one("SELECT pg_postmaster_start_time()::text AS started, current_database() AS database, "
                 "(SELECT system_identifier::text FROM pg_control_system()) AS sysid")
    ident = ServerIdentity("postgresql", row["sysid"] or f"start:{row['started']}", row["started"], row["database"])
    with _gateway_lock:
        _gateway[key] = ident
    return ident


class GatewayDatabaseRefused(PermissionDenied):
    def __init__(self, ident: ServerIdentity):
        super().__init__(
            "this connection pool reaches the gateway's own database (same server identity and database), "
            "where dynamic APIs could read API keys and change roles; it is refused. Point the pool at the "
            "database the APIs are for, or set DYNAMIC_API_ALLOW_GATEWAY_DB=true to allow it",
            field_errors(field_error(["body", "database"], "the gateway's own database", "gateway_database"),
                         reason="gateway_database", server_identity=ident.label))


def reaches_gateway(ident: ServerIdentity) -> bool:
    return ident.same_database(gateway_identity())


def _gateway_allowed() -> bool:
    from chalicelib.settings import get_settings
    return get_settings().dynamic_api_allow_gateway_db


def verify_connection(cfg, conn: DbConnection) -> None:
    """ConnectionManager hook: every new connection of a pool is checked."""
    ident = server_identity(conn)
    if reaches_gateway(ident) and not _gateway_allowed():
        raise GatewayDatabaseRefused(ident)


# --------------------------------------------------------------------------- privileges

_PG_PRIVILEGES = """
SELECT r.rolsuper, r.rolcreaterole, r.rolbypassrls,
       COALESCE(pg_has_role(current_user, to_regrole('pg_read_server_files'), 'MEMBER'), false),
       COALESCE(pg_has_role(current_user, to_regrole('pg_write_server_files'), 'MEMBER'), false),
       COALESCE(pg_has_role(current_user, to_regrole('pg_execute_server_program'), 'MEMBER'), false),
       COALESCE(pg_has_role(current_user, to_regrole('pg_read_all_data'), 'MEMBER'), false),
       COALESCE(pg_has_role(current_user, to_regrole('pg_write_all_data'), 'MEMBER'), false),
       COALESCE(has_function_privilege(to_regprocedure('lo_import(text)'), 'EXECUTE'), false),
       COALESCE(has_function_privilege(to_regprocedure('pg_read_file(text)'), 'EXECUTE'), false),
       EXISTS (SELECT 1 FROM pg_roles s WHERE s.rolsuper AND s.rolname <> current_user
               AND pg_has_role(current_user, s.oid, 'MEMBER'))
FROM pg_roles r WHERE r.rolname = current_user
"""
_PG_LABELS = ("superuser", "createrole", "bypassrls", "pg_read_server_files", "pg_write_server_files",
              "pg_execute_server_program", "pg_read_all_data", "pg_write_all_data", "lo_import", "pg_read_file",
              "member of a superuser role")
_MY_RISKY = ("FILE", "SUPER", "CREATE USER", "SHUTDOWN")


def _warning(privilege: str, user: str) -> dict:
    return {"privilege": privilege,
            "message": f"the pool user {user!r} holds {privilege}: anyone allowed to define APIs on this pool "
                       "can use it (server files, other databases, roles). Use a user with only the "
                       "grants the APIs need"}


def privilege_warnings(conn: DbConnection, user: str) -> list[dict]:
    if conn.db_type == "postgresql":
        rows = conn.execute(BoundStatement(_PG_PRIVILEGES, (), conn.db_type)).rows
        flags = rows[0] if rows else ()
        return [_warning(label, user) for label, flag in zip(_PG_LABELS, flags, strict=False) if flag]
    (current,) = _scalar_row(conn, "SELECT CURRENT_USER()")
    name, _, host = str(current).rpartition("@")
    grantee = f"'{name}'@'{host}'"
    rows = conn.execute(BoundStatement(
        "SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
        (grantee,), conn.db_type)).rows
    held = {str(r[0]).upper() for r in rows}
    out = [_warning(p, user) for p in _MY_RISKY if p in held]
    if any(str(r[1]).upper() == "YES" for r in rows):
        out.append(_warning("GRANT OPTION", user))
    return out


def inspect_target(params: ConnectParams) -> dict:
    """Connect once and report what the pool reaches and with which privileges.

    {"connected", "server_identity", "privilege_warnings", "reaches_gateway"};
    a target that cannot be reached is reported, not raised (it is checked
    again on every new connection)."""
    try:
        conn = connect(params)
    except ConnectionFailed as exc:
        return {"connected": False, "server_identity": None, "reaches_gateway": False, "error": exc,
                "privilege_warnings": [{"privilege": "unverified",
                                        "message": "could not connect to check the target: " + exc.message}]}
    try:
        ident = server_identity(conn)
        warnings = privilege_warnings(conn, params.username)
    finally:
        conn.close()
    gateway = reaches_gateway(ident)
    if gateway:
        if not _gateway_allowed():
            raise GatewayDatabaseRefused(ident)
        warnings.insert(0, {"privilege": "gateway_database",
                            "message": "this pool reaches the gateway's own database "
                                       "(allowed by DYNAMIC_API_ALLOW_GATEWAY_DB)"})
    return {"connected": True, "server_identity": ident.label, "privilege_warnings": warnings,
            "reaches_gateway": gateway}


# --------------------------------------------------------------------------- access

def _key_id(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_input(["body", *field.split(".")], f"{field}: {value!r} is not an API key id (a UUID)") from None


def normalize_access(value) -> dict:
    """The stored form of a pool's `access`; unknown keys or roles are a 400."""
    if value is None:
        return {k: list(v) for k, v in DEFAULT_ACCESS.items()}
    if not isinstance(value, dict):
        raise invalid_input(["body", "access"], "access must be an object {write_roles, read_roles}")
    unknown = sorted(set(value) - set(ACCESS_KEYS))
    if unknown:
        raise invalid_input(["body", "access"],
                            f"access: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(ACCESS_KEYS)}")
    out = {}
    for key in ("write_keys", "read_keys"):
        if key in value:
            ids = value[key]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise invalid_input(["body", "access", key], f"access.{key} must be a list of API key ids")
            out[key] = sorted({_key_id(i, f"access.{key}") for i in ids})
    for key in ("write_roles", "read_roles"):
        roles = value.get(key, DEFAULT_ACCESS[key])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise invalid_input(["body", "access", key], f"access.{key} must be a list of roles")
        bad = sorted({r for r in roles if r not in ROLES})
        if bad:
            raise invalid_input(["body", "access", key],
                                f"access.{key}: unknown role(s) {', '.join(bad)}; roles: {', '.join(ROLES)}")
        out[key] = sorted(set(roles), key=ROLES.index)
    return out


def api_kind(http_method: str | None) -> str:
    """"read" for GET APIs (they always run read-only), "write" for every other
    method: whatever a template's branches render, a POST/PUT/PATCH/DELETE API
    may write, so defining one is a write privilege."""
    return "read" if (http_method or "GET").upper() == "GET" else "write"


def require_access(principal: Principal | None, pool_row: dict, kind: str, action: str) -> None:
    """`kind` is "write" or "read" (the API's kind); `action` names what was tried."""
    if principal is None or principal.role == "admin":
        return
    access = pool_row.get("access") or DEFAULT_ACCESS
    if isinstance(access, str):
        import json
        access = json.loads(access)
    key = "write_roles" if kind == "write" else "read_roles"
    roles = list(access.get(key) or [])
    keys = access.get("write_keys" if kind == "write" else "read_keys") or []
    if principal.role not in roles and str(principal.key_id) not in keys:
        what = "APIs that write" if kind == "write" else "read-only APIs"
        raise PermissionDenied(
            f"you may not {action} {what} on connection pool {pool_row.get('display_text')!r}: "
            f"its access allows {', '.join(roles) or 'no role'} (your key has the {principal.role} role)",
            {"connection_pool_id": str(pool_row.get("id")), "access": key, "allowed_roles": roles,
             "your_role": principal.role})
