"""One PostgreSQL statement with bound parameters in ONE network round trip.

    ctx = run_bound(conn, sql, values, max_rows=0)   # pg8000.native.Connection
    ctx.rows, ctx.columns, ctx.row_count              # as pg8000's Context

pg8000 1.31's `execute_unnamed` waits for the server three times per
statement (Parse+Sync, Describe+Sync, Bind+Execute+Sync). The extended
protocol lets a client send Parse, Bind, Describe (portal), Execute and Sync
at once and read the answers in order: the server parses and plans exactly as
before (unnamed statement, parameter types inferred, values sent as text by
pg8000's own converters), the rows are decoded with the RowDescription that
precedes them. An error anywhere makes the server skip to Sync; the error is
raised after ReadyForQuery, the connection stays usable (pg8000's rule).

`then` = a simple query sent in the same write after the statement's Sync
(the dynamic APIs' session reset after a read): it runs whatever the
statement did; its answer is left unread for the caller to read later.

`before` = parameterless statements (`BEGIN READ ONLY`, `SET LOCAL ...`)
sent ahead of the statement in the same Sync group: they cost no round trip
of their own, and when one fails the statement is not run at all.

`max_rows` > 0 asks the server for at most that many rows (the portal is
suspended; the rest is never sent). Used by chalicelib.db (the project's
database) and the dynamic APIs' pg8000 driver.

`run_prepared(conn, sql, values)`: the same answer from a named statement
prepared once per connection (the first call pays one extra round trip for
the Parse), so the server neither parses nor, after its first executions,
plans it again. For the fixed write statements of the hot paths (the
call-log, access-log and invocation-log rows), whose plans do not depend on
the values; never for SQL with optional filters (a generic plan would ignore
them). A statement the server refuses to prepare is not kept.

`send_prepared(conn, sql, values, on_lost)` sends a prepared statement's
Bind, Execute and Sync and returns at once; several may be sent one after
the other (pipelined: the server answers them in order). `drain(conn)`
reads the answers later (before the connection's next statement that
waits) and answers the failed ones with their `on_lost`; a connection that
breaks while its answers are read raises `DrainBroken`, carrying the
`on_lost` of every statement whose outcome is now unknown. The server runs
and commits each on arrival.

`read_status_answer(conn, sql)` reads an answer whose rows nobody reads up to
ReadyForQuery as pg8000's `handle_messages` does (an ErrorResponse raised
after ReadyForQuery, notices, parameter statuses and the transaction status
through pg8000's own handlers, a CommandComplete in a failed transaction
flagged as pg8000 flags it) without building rows and counts: `drain`'s
answers, and the dynamic APIs' session reset (~3 us instead of ~27 us).
"""
from __future__ import annotations

import struct
from typing import Any, Sequence


def _bind_message(conn: Any, name: bytes, vals: Sequence[Any]) -> bytearray:
    from pg8000.core import NULL_BYTE, H_pack, i_pack, make_params
    enc = conn._client_encoding
    bind = bytearray(NULL_BYTE + name + H_pack(0))
    params = make_params(conn.py_types, vals)
    bind.extend(H_pack(len(params)))
    for value in params:
        if value is None:
            bind.extend(i_pack(-1))
        else:
            data = value.encode(enc)
            bind.extend(i_pack(len(data)))
            bind.extend(data)
    bind.extend(H_pack(0))
    return bind


def _closed(exc: Exception) -> Exception:
    from pg8000.exceptions import InterfaceError
    err = InterfaceError("connection is closed")
    err.__cause__ = exc
    return err


def _send(conn: Any, name: bytes, vals: Sequence[Any], max_rows: int, then: str = "") -> None:
    """Bind `name` (parsed already, or in this same write), Describe, Execute, Sync
    (and `then`, a simple query whose answer the caller reads later)."""
    from pg8000.core import NULL_BYTE, SYNC_MSG, _flush, _write, i_pack
    try:
        conn._send_message(b"B", _bind_message(conn, name, vals))
        conn._send_message(b"D", b"P" + NULL_BYTE)   # rows are read with their description
        _write(conn._sock, b"E" + i_pack(9) + NULL_BYTE + i_pack(int(max_rows)))
        _write(conn._sock, SYNC_MSG)
        if then:
            conn._send_message(b"Q", then.encode(conn._client_encoding) + NULL_BYTE)
        _flush(conn._sock)
    except AttributeError as exc:   # pg8000 sets _sock to None on close
        raise _closed(exc) from exc


def _execute(conn: Any, sql: str, name: bytes, vals: Sequence[Any], max_rows: int, then: str = "") -> Any:
    from pg8000.core import Context
    context = Context(sql)
    _send(conn, name, vals, max_rows, then)
    conn.handle_messages(context)
    return context


def run_prepared(conn: Any, sql: str, vals: Sequence[Any] = ()) -> Any:
    return _execute(conn, sql, _prepared_name(conn, sql), vals, 0)


def send_prepared(conn: Any, sql: str, vals: Sequence[Any] = (), on_lost: Any = None) -> None:
    """Send a prepared statement without waiting for its answer: `drain(conn)` reads it
    before the connection's next statement. The server runs it on arrival either way.
    `sql` must be prepared on `conn` already when answers are unread (`is_prepared`):
    preparing waits for an answer of its own."""
    _send(conn, _prepared_name(conn, sql), vals, 0)
    conn.__dict__.setdefault("_stepflow_unread", []).append((sql, on_lost))


def unread(conn: Any) -> int:
    """How many statements sent on `conn` have answers not read yet."""
    return len(conn.__dict__.get("_stepflow_unread") or ())


def is_prepared(conn: Any, sql: str) -> bool:
    return sql in conn.__dict__.get("_stepflow_prepared", {})


class DrainBroken(Exception):
    """The connection broke while unread answers were read: `lost` holds the
    `on_lost` of each statement whose outcome is unknown, `failed` the
    (error, on_lost) of those read before it broke."""

    def __init__(self, cause: Exception, lost: list, failed: list):
        super().__init__(str(cause))
        self.cause, self.lost, self.failed = cause, lost, failed


def drain(conn: Any) -> list[tuple[Exception, Any]]:
    """Read the answers of the statements `send_prepared` sent, in order; answers
    (error, on_lost) for each that failed."""
    from pg8000.exceptions import DatabaseError, InterfaceError
    failed: list[tuple[Exception, Any]] = []
    unread = conn.__dict__.get("_stepflow_unread")
    while unread:
        sql, on_lost = unread[0]
        try:
            read_status_answer(conn, sql)
        except DatabaseError as exc:
            failed.append((exc, on_lost))
        except (InterfaceError, OSError, AttributeError) as exc:   # AttributeError: pg8000 closed it
            lost = [cb for _, cb in unread]
            unread.clear()
            raise DrainBroken(exc, lost, failed) from exc
        unread.pop(0)
    return failed


def _prepared_name(conn: Any, sql: str) -> bytes:
    from pg8000.core import NULL_BYTE, SYNC_MSG, Context, H_pack, _flush, _write
    names = conn.__dict__.setdefault("_stepflow_prepared", {})
    name = names.get(sql)
    if name is None:
        name = f"stepflow_{len(names)}".encode("ascii") + NULL_BYTE
        try:
            conn._send_message(b"P", name + sql.encode(conn._client_encoding) + NULL_BYTE + H_pack(0))
            _write(conn._sock, SYNC_MSG)
            _flush(conn._sock)
        except AttributeError as exc:
            raise _closed(exc) from exc
        conn.handle_messages(Context(sql))    # raises when refused: nothing is kept
        names[sql] = name
    return name


def run_bound(conn: Any, sql: str, vals: Sequence[Any] = (), max_rows: int = 0, before: Sequence[str] = (),
              then: str = "") -> Any:
    from pg8000.core import NULL_BYTE, H_pack, _write, i_pack
    enc = conn._client_encoding
    try:
        for text in before:   # parameterless statements of the same Sync group: a failure skips the rest
            conn._send_message(b"P", NULL_BYTE + text.encode(enc) + NULL_BYTE + H_pack(0))
            conn._send_message(b"B", NULL_BYTE + NULL_BYTE + H_pack(0) + H_pack(0) + H_pack(0))
            _write(conn._sock, b"E" + i_pack(9) + NULL_BYTE + i_pack(0))
        conn._send_message(b"P", NULL_BYTE + sql.encode(enc) + NULL_BYTE + H_pack(0))
    except AttributeError as exc:   # pg8000 sets _sock to None on close
        raise _closed(exc) from exc
    return _execute(conn, sql, NULL_BYTE, vals, max_rows, then)


def no_delay(conn: Any) -> None:
    """TCP_NODELAY on a pg8000 connection's TCP socket, as libpq does: a statement above
    pg8000's 8 KiB write buffer goes out in several sends, and Nagle held the last one for
    the server's delayed ACK (~40 ms). Unix sockets need nothing."""
    import socket
    sock = conn._usock
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_CI = struct.Struct("!ci")
_STATUS_ONLY = frozenset({b"C", b"T", b"D"})   # CommandComplete, RowDescription, DataRow


def read_status_answer(raw: Any, sql: str) -> None:
    from pg8000.core import IN_FAILED_TRANSACTION, Context
    from pg8000.exceptions import InterfaceError
    read, handlers = raw._sock.read, raw.message_types
    context = Context(sql)
    code = None
    while code != b"Z":
        head = read(5)
        if len(head) != 5:
            raise InterfaceError("network error")
        code, size = _CI.unpack(head)
        body = read(size - 4)
        if len(body) != size - 4:
            raise InterfaceError("network error")
        if code in _STATUS_ONLY and not (code == b"C" and raw._transaction_status == IN_FAILED_TRANSACTION):
            continue   # pg8000 would only count rows (or flag a command run in a failed transaction)
        handlers[code](body, context)
    if context.error is not None:
        raise context.error
