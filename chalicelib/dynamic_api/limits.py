"""Size and time limits of a dynamic-API answer (synchronous routes: API
Gateway cuts at 29 s, Lambda refuses responses over 6 MB).

* `timeout_ms` of a definition: 1 … 29000 (checked when saved; a stored
  larger value is clamped when used);
* rows: a definition's `max_rows` (NULL: the global DYNAMIC_API_MAX_ROWS)
  bounds what one invocation may return; the global cap bounds `max_rows`
  too. A query returning more is a 413 telling the caller to page; paged
  APIs never fetch more than a page (`max_page_size`, itself capped);
* bytes: the serialized answer may not exceed DYNAMIC_API_MAX_RESPONSE_BYTES
  (default 5 MiB, never more than 6 MB minus headroom for the envelope and
  headers): 413 telling the caller to page.
"""
from __future__ import annotations

from chalicelib.errors import PayloadTooLarge, invalid_input

MAX_SYNC_TIMEOUT_MS = 29_000
LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
_HEADROOM = 64 * 1024
PAGE_HINT = ("page the API (is_paging: skipCount/maxResultCount or page/pageSize) "
             "or narrow the filters so that fewer rows match")


def _settings():
    from chalicelib.settings import get_settings
    return get_settings()


def global_max_rows() -> int:
    return max(1, int(_settings().dynamic_api_max_rows))


def max_response_bytes() -> int:
    return max(1024, min(int(_settings().dynamic_api_max_response_bytes), LAMBDA_RESPONSE_BYTES - _HEADROOM))


def check_definition_limits(values: dict) -> None:
    """Save-time checks of timeout_ms and max_rows (400 naming the field)."""
    timeout = values.get("timeout_ms")
    if timeout is None or not (1 <= int(timeout) <= MAX_SYNC_TIMEOUT_MS):
        raise invalid_input(["body", "timeout_ms"],
                            f"timeout_ms must be between 1 and {MAX_SYNC_TIMEOUT_MS}: dynamic APIs answer "
                            "synchronously and API Gateway ends a request after 29 s", max=MAX_SYNC_TIMEOUT_MS)
    rows = values.get("max_rows")
    cap = global_max_rows()
    if rows is not None and not (1 <= int(rows) <= cap):
        raise invalid_input(["body", "max_rows"], f"max_rows must be between 1 and {cap} (DYNAMIC_API_MAX_ROWS)",
                            max=cap)


def effective_timeout_ms(row: dict) -> int:
    return max(1, min(int(row["timeout_ms"]), MAX_SYNC_TIMEOUT_MS))


def effective_max_rows(row: dict) -> int:
    cap = global_max_rows()
    own = row.get("max_rows")
    return min(int(own), cap) if own else cap


class ResultTooLarge(PayloadTooLarge):
    """The answer would be larger than a synchronous route may return."""


def too_many_rows(limit: int) -> ResultTooLarge:
    return ResultTooLarge(f"the query returned more than {limit} rows (the API's max_rows); {PAGE_HINT}",
                          {"reason": "max_rows", "max_rows": limit, "hint": PAGE_HINT})


def check_body_bytes(data: bytes | str) -> None:
    limit = max_response_bytes()
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > limit:
        raise ResultTooLarge(f"the result is {size} bytes, more than the {limit} bytes a synchronous answer may "
                             f"carry; {PAGE_HINT}", {"reason": "response_bytes", "limit_bytes": limit,
                                                     "hint": PAGE_HINT})
