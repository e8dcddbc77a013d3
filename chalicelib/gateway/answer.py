"""The answer of one gateway call and its log row.

`finish(Outcome, Caller, db)` writes the call's log row and counters
(`record_log`: sent without waiting, retried once, never failing the call that already happened)
and answers `{"status_code", "headers", "body", "body_encoding",
"content_type", "response_time_ms", "log_id"}` (+ "cache": "hit"|"miss" for a
cached endpoint); a header the upstream sent several times is a list; a failure is raised as its typed error with
the log id and the masked URL added. Secrets of the call (`Sensitive`) are
masked in the log row and scrubbed from what the caller sees; the body is
shaped by `shape_body` (JSON parsed, text as text, binary as base64).
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import masking as shared_masking
from chalicelib.db import get_db
from chalicelib.errors import AppError
from chalicelib.gateway import calllogs, deprecation, masking
from chalicelib.gateway.request_builder import BuiltRequest, InvokeInput
from chalicelib.gateway.upstream_auth import Sensitive

if TYPE_CHECKING:
    from chalicelib.gateway.invoke import Target
    from chalicelib.net.outbound import OutboundResponse

log = logging.getLogger("stepflow")

RESPONSE_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-encoding",
                                  "content-length", "proxy-authenticate", "trailer", "upgrade"})


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip('"')
    return None


def shape_body(content: bytes, content_type: str | None,
               content_encoding: str | None = None) -> tuple[Any, str, str | None]:
    """(body, encoding, warning): JSON parsed, text as text, anything else as
    base64 - non-text types, bytes that do not decode in the declared (or
    UTF-8) charset, and bodies still under a Content-Encoding the gateway
    cannot decode (brotli, zstd: passed through as sent)."""
    if not content:
        return None, "none", None
    if content_encoding:
        return base64.b64encode(content).decode("ascii"), "base64", None
    ctype = (content_type or "").split(";")[0].strip().lower()
    charset = _charset(content_type)
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(content), "json", None
        except ValueError as exc:
            try:
                text = content.decode(charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                return (base64.b64encode(content).decode("ascii"), "base64",
                        "the upstream declared JSON but sent bytes that are not text; returned as base64")
            return text, "text", f"the upstream declared JSON but sent a malformed body ({exc}); returned as text"
    texty = (ctype.startswith("text/") or ctype.endswith(("xml", "javascript", "yaml")) or
             ctype in ("application/x-www-form-urlencoded", "application/graphql") or charset is not None)
    if texty or not ctype:
        try:
            return content.decode(charset or "utf-8"), "text", None
        except (UnicodeDecodeError, LookupError):
            pass
    return base64.b64encode(content).decode("ascii"), "base64", None


def response_headers(resp: "OutboundResponse") -> dict[str, str | list[str]]:
    """The upstream's headers as the caller sees them: a header sent several
    times (Set-Cookie, Link ...) is a list of its values in order, any other
    a string; hop-by-hop headers dropped, Content-Encoding kept when the body
    is still encoded."""
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, value in resp.header_items or list(resp.headers.items()):
        low = name.lower()
        if low in RESPONSE_HOP_HEADERS and not (low == "content-encoding" and resp.content_encoding):
            continue
        key = names.setdefault(low, name)
        if key in out:
            prev = out[key]
            out[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[key] = value
    return out


LOG_FAILED_WARNING = ("the call was made but its call log and statistics could not be written "
                      "(the database failed twice); it is missing from /api/call-logs")


def record_log(entry, db=None) -> str | None:
    """Write the call's log row and counters once the upstream was called: sent
    without waiting (a failure found later is written again: gateway.calllogs); a
    send that fails is retried at once, waiting, on a fresh connection (a broken
    one is discarded); None when both attempts fail, so the answer says plainly
    that logging failed."""
    for attempt in (1, 2):
        try:
            return calllogs.record(entry, db or get_db(), rewrite=attempt == 2)
        except Exception as exc:  # noqa: BLE001 - whatever the database did, the call already happened
            log.warning("call log write for endpoint %s failed (attempt %s): %s", entry.endpoint_id, attempt,
                        type(exc).__name__)
            if getattr(db or get_db(), "in_transaction", False):
                break  # inside a caller's transaction a retry cannot help
    log.error("call log for endpoint %s lost after a retry", entry.endpoint_id)
    return None


@dataclass(frozen=True)
class Outcome:
    """One finished call: what was sent, and either the upstream's answer or the failure."""

    target: Target
    built: BuiltRequest
    inp: InvokeInput
    response: "OutboundResponse | None"
    failure: AppError | None   # every outbound failure is also a typed error
    elapsed_ms: int
    attempts: int
    sensitive: Sensitive
    cache_status: str | None = None  # "hit" / "miss" for a cached endpoint (response_cache)


@dataclass(frozen=True)
class Caller:
    """Who asked for the call (written to its log row)."""

    client_ip: str | None = None
    user_agent: str | None = None
    reference_id: str | None = None


def _failure_of(outcome: Outcome) -> AppError:
    if outcome.failure is None:
        raise RuntimeError("a call ended with neither an answer nor a failure")
    return outcome.failure


def finish(outcome: Outcome, caller: Caller, db=None) -> dict:
    """The answer for a call that reached the upstream (or failed trying), after its log row is written."""
    from chalicelib.settings import get_settings

    t, built, inp, sensitive = outcome.target, outcome.built, outcome.inp, outcome.sensitive
    resp, failure, elapsed_ms, attempts = outcome.response, outcome.failure, outcome.elapsed_ms, outcome.attempts

    limit = get_settings().log_body_limit_bytes
    shown_url = masking.mask_url(built.url, sensitive)
    req_headers = dict(built.headers)
    if built.cookies:
        req_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in built.cookies.items())
    params: dict[str, Any] = {
        "path": inp.path_params or {},
        "query": shared_masking.mask_mapping(inp.query, sensitive.query),
        "cookies": shared_masking.mask_mapping(inp.cookies, set(inp.cookies or {})),
    }
    if attempts > 1:
        params["attempts"] = attempts
    entry = calllogs.LogEntry(
        endpoint_id=str(t.id), reference_id=caller.reference_id, method=built.method, url=shown_url,
        request_headers=masking.mask_headers(req_headers, sensitive),
        request_params=params,
        request_body=masking.body_for_log(built.body, built.content_type, limit, sensitive),
        request_size=len(built.body) if built.body else 0,
        response_time_ms=elapsed_ms, client_ip=caller.client_ip, user_agent=caller.user_agent,
        cache_status=outcome.cache_status, deprecated=t.deprecated)
    result = None
    if resp is not None:
        ctype = resp.headers.get("Content-Type")
        body, encoding, warning = shape_body(resp.content, ctype, resp.content_encoding)
        out_headers = response_headers(resp)
        entry.status_code = resp.status_code
        entry.response_headers = masking.mask_headers(out_headers, sensitive)
        entry.response_body = masking.body_for_log(resp.content, ctype, limit, sensitive,
                                                   **({"parsed": body} if encoding == "json" else {}))
        entry.response_size = len(resp.content)
        if resp.status_code >= 400:
            entry.error_type = "upstream_status"
            entry.error_message = f"upstream answered {resp.status_code} {resp.reason}".strip()
        result = {"status_code": resp.status_code, "headers": out_headers, "body": body,
                  "body_encoding": encoding, "content_type": ctype, "response_time_ms": elapsed_ms}
        if warning:
            result["warning"] = warning
        if resp.redirects:
            result["redirects"] = [masking.mask_url(u, sensitive) for u in resp.redirects]
        if attempts > 1:
            result["attempts"] = attempts
        if outcome.cache_status:
            result["cache"] = outcome.cache_status
        if t.deprecated:
            result.update(deprecation.fields(t.deprecated_epoch, t.deprecation_docs))
    else:
        failure = _failure_of(outcome)
        entry.error_type = getattr(failure, "error_type", None) or "auth"
        entry.error_message = masking.scrub(failure.message, sensitive.values)
    log_id = record_log(entry, db)
    log_warning = None if log_id else LOG_FAILED_WARNING
    if result is not None:
        result["log_id"] = log_id
        if log_warning:
            result["warning"] = f"{result['warning']}; {log_warning}" if result.get("warning") else log_warning
        return result
    # a failure: the typed error, with secrets scrubbed from what it shows
    failure = _failure_of(outcome)
    details = failure.details if isinstance(failure.details, dict) else {}
    details = {k: (masking.mask_url(v, sensitive) if isinstance(v, str) and k in ("url", "redirect_from") else v)
               for k, v in details.items()}
    if log_warning:
        details["warning"] = log_warning
    details.update({"log_id": log_id, "url": shown_url, "error_type": entry.error_type, "attempts": attempts,
                    "response_time_ms": elapsed_ms})
    failure.message = masking.scrub(failure.message, sensitive.values) or failure.message
    failure.message = failure.message.replace(built.url, shown_url) if built.url != shown_url else failure.message
    failure.details = details
    raise failure
