"""CqlTestServer: a CQL native protocol v4 server on loopback for the real cassandra-driver.

    server = CqlTestServer(username="cassandra", password="secret")
    server.create_table("ks", "user_data", columns={"user_id": "int", "name": "text"},
                        primary_key=["user_id"])
    server.insert("ks", "user_data", {"user_id": 1, "name": "Ann"})
    port = server.start()
    ...
    server.stop()

One thread per client connection; requests on a connection are answered in order.
"""
from __future__ import annotations

import hashlib
import json
import logging
import socket
import socketserver
import threading
import time

from . import cql
from .catalog import Catalog, CqlError, Statement
from .wire import (
    AUTH_RESPONSE, AUTH_SUCCESS, AUTHENTICATE, BAD_CREDENTIALS, BATCH, CONSISTENCY, CONSISTENCY_CODE, ERROR,
    EXECUTE, HEADER, READ_FAILURE, READ_TIMEOUT, UNAVAILABLE,
    OPTIONS, PREPARE, PREPARED, PROTOCOL_ERROR, QUERY, READY, REGISTER, RESULT, ROWS, SERVER_ERROR,
    SET_KEYSPACE, STARTUP, SUPPORTED, SYNTAX_ERROR, UNAUTHORIZED, UNPREPARED, INVALID,
    ProtocolViolation, Reader, write_bytes, write_int, write_short, write_short_bytes, write_string,
    write_string_multimap,
)

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 4
AUTHENTICATOR = "org.apache.cassandra.auth.PasswordAuthenticator"
_GLOBAL_TABLES_SPEC, _HAS_MORE_PAGES, _NO_METADATA = 0x0001, 0x0002, 0x0004
_OPCODE_NAMES = {QUERY: "QUERY", PREPARE: "PREPARE", EXECUTE: "EXECUTE", BATCH: "BATCH"}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "CqlTestServer"


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: reads frames, answers each in turn."""

    def setup(self):
        self.owner: CqlTestServer = self.server.owner
        self.authenticated = self.owner.username is None
        self.started = False
        self.keyspace = None
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.owner._track(self.request, True)

    def finish(self):
        self.owner._track(self.request, False)

    def _read_exact(self, count: int) -> bytes | None:
        chunks, remaining = [], count
        while remaining:
            try:
                chunk = self.request.recv(remaining)
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def handle(self):
        while True:
            header = self._read_exact(HEADER.size)
            if header is None:
                return
            version, flags, stream, opcode, length = HEADER.unpack(header)
            body = self._read_exact(length) if length else b""
            if body is None:
                return
            if version & 0x80:
                self._send_error(stream, PROTOCOL_ERROR, "Frame has a response version; expected a request")
                return
            if version & 0x7F != PROTOCOL_VERSION:
                self._send_error(stream, PROTOCOL_ERROR,
                                 f"Invalid or unsupported protocol version ({version & 0x7F}); "
                                 "supported versions are (4/v4)")
                continue
            if flags & 0x01:
                self._send_error(stream, PROTOCOL_ERROR, "Compression was not negotiated")
                continue
            try:
                reply_opcode, reply = self._dispatch(opcode, flags, Reader(body))
            except CqlError as exc:
                self._send_error(stream, exc.code, exc.message, exc)
                continue
            except ProtocolViolation as exc:
                self._send_error(stream, PROTOCOL_ERROR, str(exc))
                continue
            except Exception as exc:  # a bug in the test server: answer, keep serving
                log.exception("CQL test server failed on opcode %s", opcode)
                self._send_error(stream, SERVER_ERROR, f"test server error: {exc!r}")
                continue
            if not self._send(stream, reply_opcode, reply):
                return

    def _send(self, stream: int, opcode: int, body: bytes) -> bool:
        frame = HEADER.pack(0x80 | PROTOCOL_VERSION, 0, stream, opcode, len(body)) + body
        try:
            self.request.sendall(frame)
            return True
        except OSError:
            return False

    def _send_error(self, stream: int, code: int, message: str, exc: CqlError | None = None):
        body = write_int(code) + write_string(message)
        if code == UNPREPARED and exc is not None:
            body += write_short_bytes(exc.query_id)
        elif code in (UNAVAILABLE, READ_TIMEOUT, READ_FAILURE) and exc is not None:
            cl = write_short(CONSISTENCY_CODE[exc.consistency])
            if code == UNAVAILABLE:
                body += cl + write_int(2) + write_int(1)                    # required, alive
            elif code == READ_TIMEOUT:
                body += cl + write_int(1) + write_int(2) + bytes([0])       # received, blockfor, data_present
            else:
                body += cl + write_int(1) + write_int(2) + write_int(1) + bytes([0])  # + numfailures
        self._send(stream, ERROR, body)

    # ------------------------------------------------------------ requests
    def _dispatch(self, opcode: int, flags: int, body: Reader):
        if opcode == OPTIONS:
            return SUPPORTED, write_string_multimap({
                "CQL_VERSION": ["3.4.4"], "COMPRESSION": [], "PROTOCOL_VERSIONS": ["4/v4"]})
        if opcode == STARTUP:
            options = body.string_map()
            if "CQL_VERSION" not in options:
                raise CqlError(PROTOCOL_ERROR, "CQL_VERSION is mandatory in STARTUP")
            if options.get("COMPRESSION"):
                raise CqlError(PROTOCOL_ERROR, f"Unknown compression algorithm: {options['COMPRESSION']}")
            self.started = True
            if self.owner.username is not None:
                return AUTHENTICATE, write_string(AUTHENTICATOR)
            return READY, b""
        if opcode == AUTH_RESPONSE:
            return self._auth_response(body)
        if not self.started:
            raise CqlError(PROTOCOL_ERROR, f"Unexpected message {opcode}, expecting STARTUP or OPTIONS")
        if not self.authenticated:
            raise CqlError(UNAUTHORIZED, "You have not logged in")
        if opcode == REGISTER:
            body.string_list()
            return READY, b""
        if flags & 0x04:  # custom payload precedes the body
            body.bytes_map()
        if opcode == QUERY:
            text = body.long_string()
            params = _read_query_parameters(body)
            self.owner._note("QUERY", text, params)
            return RESULT, self._query(text, params)
        if opcode == PREPARE:
            text = body.long_string()
            self.owner._note("PREPARE", text, None)
            return RESULT, self._prepare(text)
        if opcode == EXECUTE:
            query_id = body.short_bytes()
            params = _read_query_parameters(body)
            prepared = self.owner._prepared.get(query_id)
            if prepared is None:
                self.owner._note("EXECUTE", f"<unprepared {query_id.hex()}>", params)
                error = CqlError(UNPREPARED, f"Prepared query with ID {query_id.hex()} not found")
                error.query_id = query_id
                raise error
            text, keyspace = prepared
            self.owner._note("EXECUTE", text, params)
            statement = self._resolve(text, keyspace)
            return RESULT, self._rows(statement, params)
        if opcode == BATCH:
            raise CqlError(INVALID, "BATCH is not supported by the CQL test server")
        raise CqlError(PROTOCOL_ERROR, f"Unknown opcode {opcode}")

    def _auth_response(self, body: Reader):
        token = body.bytes() or b""
        parts = token.split(b"\x00")
        username = parts[-2].decode("utf-8", "replace") if len(parts) >= 2 else ""
        password = parts[-1].decode("utf-8", "replace") if len(parts) >= 2 else ""
        if self.owner.username is None or (username, password) == (self.owner.username, self.owner.password):
            self.authenticated = True
            return AUTH_SUCCESS, write_bytes(None)
        raise CqlError(BAD_CREDENTIALS, f"Provided username {username} and/or password are incorrect")

    def _parse(self, text: str):
        try:
            return cql.parse(text)
        except cql.CqlSyntaxError as exc:
            raise CqlError(SYNTAX_ERROR, str(exc)) from None

    def _resolve(self, text: str, keyspace: str | None) -> Statement:
        statement = self._parse(text)
        if isinstance(statement, cql.Use):
            raise CqlError(INVALID, "USE cannot be prepared")
        return self.owner.catalog.resolve(statement, keyspace)

    def _query(self, text: str, params: dict) -> bytes:
        statement = self._parse(text)
        if isinstance(statement, cql.Use):
            if statement.keyspace not in self.owner.catalog.keyspaces:
                raise CqlError(INVALID, f"Keyspace '{statement.keyspace}' does not exist")
            self.keyspace = statement.keyspace
            return write_int(SET_KEYSPACE) + write_string(statement.keyspace)
        resolved = self.owner.catalog.resolve(statement, self.keyspace)
        return self._rows(resolved, params)

    def _prepare(self, text: str) -> bytes:
        statement = self._resolve(text, self.keyspace)
        query_id = hashlib.md5(f"{self.keyspace or ''}\x00{text}".encode()).digest()
        self.owner._prepared[query_id] = (text, self.keyspace if statement.select.keyspace is None else None)
        table = statement.table
        bind = [write_int(_GLOBAL_TABLES_SPEC), write_int(len(statement.bind_columns)),
                write_int(len(statement.pk_indices))]
        bind.extend(write_short(i) for i in statement.pk_indices)
        bind.append(write_string(table.keyspace) + write_string(table.name))
        for name, ctype in statement.bind_columns:
            bind.append(write_string(name) + ctype.option())
        return (write_int(PREPARED) + write_short_bytes(query_id) + b"".join(bind)
                + _rows_metadata(statement, paging_state=None, skip_metadata=False))

    def _rows(self, statement: Statement, params: dict) -> bytes:
        user_table = not statement.table.keyspace.startswith("system")
        consistency = params["consistency"]
        if consistency in ("ANY", "EACH_QUORUM"):
            raise CqlError(INVALID, f"{consistency} ConsistencyLevel is only supported for writes")
        if user_table:
            self.owner._maybe_fail(statement, consistency)
            if self.owner.delay:
                time.sleep(self.owner.delay)
        positioned = self.owner.catalog.run_positioned(statement, params["values"], consistency)
        start = 0
        if params["paging_state"] is not None:
            start = _resume(positioned, _read_paging_state(params["paging_state"], statement))
        page_size = params["page_size"]
        paging_state = None
        end = len(positioned)
        if page_size and page_size > 0 and start + page_size < len(positioned):
            end = start + page_size
            paging_state = _paging_state(statement, positioned[end - 1][0])
        out = [write_int(ROWS), _rows_metadata(statement, paging_state, params["skip_metadata"]),
               write_int(end - start)]
        for _, row in positioned[start:end]:
            out.extend(write_bytes(cell) for cell in row)
        return b"".join(out)


def _rows_metadata(statement: Statement, paging_state: bytes | None, skip_metadata: bool) -> bytes:
    flags = _GLOBAL_TABLES_SPEC
    if paging_state is not None:
        flags |= _HAS_MORE_PAGES
    if skip_metadata:
        flags = (flags & ~_GLOBAL_TABLES_SPEC) | _NO_METADATA
    out = [write_int(flags), write_int(len(statement.result_columns))]
    if paging_state is not None:
        out.append(write_bytes(paging_state))
    if not skip_metadata:
        out.append(write_string(statement.table.keyspace) + write_string(statement.table.name))
        for name, ctype in statement.result_columns:
            out.append(write_string(name) + ctype.option())
    return b"".join(out)


def _paging_state(statement: Statement, position: tuple) -> bytes:
    """Opaque to the client, as Cassandra's: the statement and the last row returned
    (partition key and clustering), so that the next page resumes after that row."""
    pk, ck = position
    return json.dumps({"q": hashlib.md5(statement.select.text.encode()).hexdigest(),
                       "pk": [b.hex() if b is not None else None for b in pk],
                       "ck": [b.hex() if b is not None else None for b in ck]}).encode()


def _read_paging_state(raw: bytes, statement: Statement) -> tuple:
    try:
        state = json.loads(raw)
        if state["q"] != hashlib.md5(statement.select.text.encode()).hexdigest():
            raise ValueError
        unhex = lambda items: tuple(bytes.fromhex(b) if b is not None else None for b in items)  # noqa: E731
        return unhex(state["pk"]), unhex(state["ck"])
    except (ValueError, KeyError, TypeError):
        raise CqlError(PROTOCOL_ERROR, "Invalid value for the paging state") from None


def _resume(positioned: list, last: tuple) -> int:
    """Index of the first row after `last` (a row removed meanwhile is skipped over)."""
    last_pk, last_ck = last
    in_partition = False
    for index, ((pk, ck), _) in enumerate(positioned):
        if pk == last_pk:
            in_partition = True
            if ck > last_ck:
                return index
        elif in_partition:
            return index
    return len(positioned)


def _read_query_parameters(body: Reader) -> dict:
    code = body.short()
    if code not in CONSISTENCY:
        raise ProtocolViolation(f"Unknown code {code} for a consistency level")
    flags = body.byte()
    values = []
    if flags & 0x01:
        for _ in range(body.short()):
            if flags & 0x40:
                body.string()
            values.append(body.bytes())
    params = {"values": values, "skip_metadata": bool(flags & 0x02), "page_size": None,
              "paging_state": None, "consistency": CONSISTENCY[code]}
    if flags & 0x04:
        params["page_size"] = body.int()
    if flags & 0x08:
        params["paging_state"] = body.bytes()
    if flags & 0x10:
        body.short()
    if flags & 0x20:
        body.long()
    return params


class CqlTestServer:
    """A CQL test peer holding typed tables in memory. Two instances play production and test."""

    def __init__(self, username: str | None = None, password: str | None = None, *,
                 cluster_name: str = "Test Cluster", datacenter: str = "datacenter1",
                 rack: str = "rack1", release_version: str = "3.11.16"):
        self.username = username
        self.password = password
        self.catalog = Catalog(cluster_name, datacenter, rack, release_version)
        self.delay = 0.0  # seconds to wait before answering a user-table SELECT (client-side timeouts)
        # (kind, query text, number of bound values, consistency level) of every query
        self.statements: list = []
        self._failures: list = []  # [error code, reads left, table name or None]
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._prepared: dict = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set = set()
        self._sockets_lock = threading.Lock()

    # ------------------------------------------------------------ data
    def create_keyspace(self, keyspace: str):
        self.catalog.create_keyspace(keyspace)

    def create_type(self, keyspace: str, name: str, fields: dict):
        """A user defined type; columns use it as 'frozen<name>'."""
        self.catalog.create_type(keyspace, name, fields)

    def create_table(self, keyspace: str, table: str, columns: dict, primary_key: list,
                     clustering_key: list | None = None):
        self.catalog.create_table(keyspace, table, columns, primary_key, clustering_key)

    def drop_table(self, keyspace: str, table: str):
        self.catalog.drop_table(keyspace, table)

    def insert(self, keyspace: str, table: str, row: dict):
        self.catalog.insert(keyspace, table, row)

    def insert_many(self, keyspace: str, table: str, rows):
        with self.catalog.lock:
            target = self.catalog.table(keyspace, table)
            for row in rows:
                target.put(row)

    def make_stale(self, keyspace: str, table: str, rows: dict, reads: int | dict = 1):
        """A lagging replica (see Catalog.make_stale): weak reads of those partitions see `rows`
        the next `reads` times."""
        self.catalog.make_stale(keyspace, table, rows, reads)

    def time_out_reads(self, count: int | None = 1, table: str | None = None, error: str = "read_timeout"):
        """The next `count` user SELECTs (None: all, until cleared) answer a coordinator error as
        Cassandra does when replicas do not answer in time: read_timeout (0x1200),
        unavailable (0x1000) or read_failure (0x1300)."""
        code = {"read_timeout": READ_TIMEOUT, "unavailable": UNAVAILABLE, "read_failure": READ_FAILURE}[error]
        self._failures.append([code, count, table])

    def clear_failures(self):
        self._failures.clear()

    def _maybe_fail(self, statement: Statement, consistency: str):
        for failure in self._failures:
            code, left, table = failure
            if table is not None and table != statement.table.name:
                continue
            if left is not None:
                if left <= 0:
                    continue
                failure[1] -= 1
            messages = {READ_TIMEOUT: "Operation timed out - received only 1 responses.",
                        UNAVAILABLE: "Cannot achieve consistency level " + consistency,
                        READ_FAILURE: "Operation failed - received 1 responses and 1 failures"}
            error = CqlError(code, messages[code])
            error.consistency = consistency
            raise error

    def row_count(self, keyspace: str, table: str) -> int:
        return self.catalog.table(keyspace, table).row_count()

    def user_statements(self, kind: str | None = None) -> list:
        """Logged statements on non-system tables, optionally of one kind (QUERY/PREPARE/EXECUTE)."""
        return [s for s in self.statements
                if (kind is None or s[0] == kind) and "system" not in s[1].lower()]

    # ------------------------------------------------------------ lifecycle
    def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        if self._server is not None:
            return self.port
        self._server = _Server((self.host, 0), _Connection, bind_and_activate=True)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"cql-test-server-{self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        """Stop listening and drop every client connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _track(self, sock, alive: bool):
        with self._sockets_lock:
            (self._sockets.add if alive else self._sockets.discard)(sock)

    def _note(self, kind: str, text: str, params: dict | None):
        self.statements.append((kind, text, len(params["values"]) if params else 0,
                                params["consistency"] if params else None))
