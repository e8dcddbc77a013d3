"""Database driver errors as the project's typed errors (chalicelib.errors).

`translate(exc)`: a pg8000 error as a typed error whose message says what was
wrong in the caller's terms; the SQLSTATE, the database's own message and the
statement stay in the server log.
"""
from __future__ import annotations

import logging

from chalicelib.errors import Conflict, QueryError, RequestTimeout, invalid_input

log = logging.getLogger("stepflow.db")

# SQLSTATE classes -> typed errors.
_UNIQUE_VIOLATION = "23505"
_CHECK_VIOLATION = "23514"
_NOT_NULL_VIOLATION = "23502"
_QUERY_CANCELED = "57014"
_INVALID_TEXT = "22P02"
_NUMERIC_OUT_OF_RANGE = "22003"
_CLASS_22 = {
    "22P02": "invalid text representation",
    "22001": "a text value is too long",
    "22007": "invalid date/time format",
    "22008": "date/time out of range",
    "22021": "invalid byte sequence",
    "22P05": "unsupported Unicode escape sequence",
    "22023": "invalid parameter value",
    "2201W": "invalid LIMIT value",
    "2201X": "invalid OFFSET value",
    "23514": "a check constraint failed",
    "23502": "a required value is missing",
}


def translate(exc: Exception) -> Exception:
    """A driver error as a typed error. The SQLSTATE, the database's message
    and the statement stay in the server log; callers get the kind of
    problem and, for constraint errors, the constraint's name."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = info.get("C", "")
    message = info.get("M", str(exc))
    # Constraint and value errors are the caller's; anything else is ours: logged loudly.
    level = logging.INFO if code.startswith(("22", "23", "57014")) else logging.WARNING
    log.log(level, "database error %s: %s", code, message)
    detail: dict = {}
    if info.get("n"):
        detail["constraint"] = info["n"]
    if code == _UNIQUE_VIOLATION:
        what = info.get("D", "")
        # "Key (name, version)=(x, 1) already exists." names the caller's own values.
        return Conflict(f"already exists: {what}" if what.startswith("Key (") else "already exists", detail or None)
    if code == _QUERY_CANCELED:
        return RequestTimeout("the database statement timed out", detail or None)
    # A value error names the column when the database does; where it came from in the request is the caller's.
    column = [info["c"]] if info.get("c") else []
    if code == _NUMERIC_OUT_OF_RANGE:
        return invalid_input(column, "a number is out of range", "number_range", **detail)
    if code in (_CHECK_VIOLATION, _NOT_NULL_VIOLATION, _INVALID_TEXT) or code.startswith("22"):
        return invalid_input(column, "a value was rejected: " + _CLASS_22.get(code, "invalid value"), "invalid_value",
                             **detail)
    return QueryError("the database could not run the operation; quote the request_id when reporting it",
                      detail or None)
