"""Reading a PostgreSQL answer whose rows nobody reads (pg8000 connections).

    read_status_answer(raw, sql)   # raw: pg8000.native.Connection, `sql` sent already

reads the answer of the simple query `sql` up to ReadyForQuery, as pg8000's
`handle_messages` does: an ErrorResponse is raised after ReadyForQuery (the
connection stays in step), notices, parameter statuses, notifications and the
transaction status go through pg8000's own handlers, a CommandComplete in a
failed transaction is flagged as pg8000 flags it. What it skips is building
rows and command counts: the dynamic APIs' session reset (twelve answers read
at every pooled take, `drivers.DbConnection.settle`) costs ~3 us instead of
~27 us. A wire-level reader: its place is chalicelib.db.wire (whose `drain`
could use it for the log writes' answers too) once that module is free to change.
"""
from __future__ import annotations

import struct
from typing import Any

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
