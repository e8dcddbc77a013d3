"""The outbound guard: the only way this service makes HTTP calls (DESIGN 9).

This module is the HTTP client; what may be reached is decided by
`chalicelib.net.policy` (URL checks, allowlist, limits) and
`chalicelib.net.addresses` (the IANA special-purpose registries). Their
public names are re-exported here.

Used by spec import-from-URL (catalog), the gateway and health checks.

    from chalicelib.net import outbound
    resp = outbound.fetch("https://api.example.com/openapi.yaml",
                          policy=outbound.policy_from_settings())
    resp.status_code, resp.headers, resp.content, resp.json()

What it guarantees:

* The host is resolved **once** (IP literals in any numeric form - ``127.1``,
  ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]`` - are
  normalised without DNS). Every resolved address must be globally
  reachable by the IANA IPv4 / IPv6 special-purpose registries (loopback,
  private, link-local incl. the metadata address, CGNAT, documentation,
  benchmarking, reserved, multicast, and every IPv4-embedding IPv6 block such
  as ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 2002::/16, Teredo are
  refused) unless the allowlist (``OUTBOUND_ALLOWLIST``: CIDRs and/or ``host[:port]`` entries,
  ``*.suffix`` wildcards allowed) admits them.
* The connection goes to the checked address only: the pooled connection is
  keyed by the pinned IP, while the ``Host`` header, TLS SNI and certificate
  verification use the host name from the URL. No second DNS lookup happens.
* Redirects are followed by this module (at most ``max_redirects``), every hop
  re-checked the same way; credentials headers are dropped when a redirect
  changes origin.
* The response body is capped (``max_bytes``, after decompression) and the
  whole exchange is bounded by ``total_timeout`` on top of connect/read
  timeouts.

Errors are typed (`chalicelib.errors`) and all carry ``error_type``:

==========================  =======================  ===============
class                       base (status)            error_type
==========================  =======================  ===============
OutboundRefused             ValidationError (400)    refused
RedirectRefused             UpstreamError (502)      refused
OutboundTimeout             RequestTimeout (408)     timeout
OutboundConnectionError     UpstreamError (502)      connection
OutboundSSLError            UpstreamError (502)      ssl
ResponseTooLarge            UpstreamError (502)      too_large
TooManyRedirects            UpstreamError (502)      redirects
==========================  =======================  ===============

``requests`` is imported lazily (cold start); the HTTP connection pool is one
per container (a shared, thread-safe urllib3 pool manager behind a requests
adapter).
"""
from __future__ import annotations

import json as _json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import urljoin

from chalicelib.net.addresses import IPAddress, classify_address  # noqa: F401 - re-exported
from chalicelib.net.policy import (  # noqa: F401 - re-exported
    ALLOWLIST_SETTING,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    Allowlist,
    OutboundConnectionError,
    OutboundFailure,
    OutboundPolicy,
    OutboundRefused,
    OutboundSSLError,
    OutboundTimeout,
    RedirectRefused,
    Resolver,
    ResponseTooLarge,
    Target,
    TooManyRedirects,
    check_url,
    literal_address,
    origin_of,
    parse_allowlist,
    policy_from_settings,
    system_resolver,
)

DEFAULT_USER_AGENT = "StepFlow-Gateway/1"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
_CHUNK = 16 * 1024


@dataclass
class OutboundResponse:
    status_code: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    url: str  # final URL after redirects
    address: str  # pinned IP of the final hop
    elapsed_ms: float
    redirects: list[str] = field(default_factory=list)  # URLs that answered 3xx
    encoding: str | None = None
    # every header line as sent, repeated names kept apart (`headers` folds them: "a=1, b=2")
    header_items: list[tuple[str, str]] = field(default_factory=list)
    # the Content-Encoding still on `content` when the client could not decode it (brotli, zstd ...)
    content_encoding: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)


_adapter = None
_adapter_lock = threading.Lock()


def _get_adapter():
    """The container's shared adapter (one urllib3 pool per pinned target)."""
    global _adapter
    if _adapter is None:
        with _adapter_lock:
            if _adapter is None:
                from requests.adapters import HTTPAdapter
                from requests.exceptions import InvalidURL
                from requests.models import Response
                from requests.structures import CaseInsensitiveDict
                from requests.utils import get_encoding_from_headers

                class PinnedAdapter(HTTPAdapter):
                    """Connects to `request.pinned_address` while Host, SNI and
                    certificate checks use the URL's host name."""

                    def build_connection_pool_key_attributes(self, request, verify, cert=None):
                        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
                            request, verify, cert
                        )
                        target: Target = request.pinned_target
                        host_params["host"] = target.address
                        host_params["port"] = target.port
                        if target.scheme == "https":
                            pool_kwargs["server_hostname"] = target.host
                            pool_kwargs["assert_hostname"] = target.host
                        return host_params, pool_kwargs

                    # This module never sends through a proxy (`proxies={}`) and never reads
                    # `response.cookies` (every Set-Cookie line is in header_items): the three
                    # below skip requests' proxy lookups and its cookie-jar copy, nothing else.
                    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
                        if proxies:
                            return super().get_connection_with_tls_context(request, verify, proxies, cert)
                        try:
                            host_params, pool_kwargs = self.build_connection_pool_key_attributes(
                                request, verify, cert)
                        except ValueError as e:
                            raise InvalidURL(e, request=request) from None
                        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

                    def request_url(self, request, proxies):
                        return super().request_url(request, proxies) if proxies else request.path_url

                    def build_response(self, req, resp):
                        response = Response()
                        response.status_code = getattr(resp, "status", None)
                        response.headers = CaseInsensitiveDict(getattr(resp, "headers", {}))
                        response.encoding = get_encoding_from_headers(response.headers)
                        response.raw = resp
                        response.reason = resp.reason
                        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else req.url
                        response.request = req
                        response.connection = self
                        return response

                _adapter = PinnedAdapter(pool_connections=64, pool_maxsize=32, max_retries=0)
    return _adapter


def close_pools() -> None:
    """Drop pooled connections (tests, or after a fork)."""
    global _adapter
    with _adapter_lock:
        if _adapter is not None:
            _adapter.close()
        _adapter = None


def _origin(t: Target) -> tuple[str, str, int]:
    return (t.scheme, t.host, t.port)


def _translate(exc: Exception, url: str, phase_timeout: float) -> OutboundFailure:
    """Map a requests/urllib3 exception to our typed errors."""
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError
    from urllib3.exceptions import SSLError as U3SSLError

    details = {"url": url}
    inner = exc.args[0] if exc.args else None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return OutboundTimeout(f"connecting to {url} timed out", details | {"phase": "connect"})
    if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(inner, ReadTimeoutError) or isinstance(
        exc, (socket.timeout, ReadTimeoutError)
    ):
        return OutboundTimeout(
            f"upstream {url} did not answer within {phase_timeout:g} s", details | {"phase": "read"}
        )
    if isinstance(exc, requests.exceptions.SSLError) or isinstance(inner, U3SSLError):
        return OutboundSSLError(f"TLS error talking to {url}: {_short(inner or exc)}", details)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return OutboundConnectionError(f"upstream {url} sent a broken body: {_short(exc)}", details)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return OutboundConnectionError(f"upstream {url} sent an undecodable body: {_short(exc)}", details)
    if isinstance(exc, (requests.exceptions.ConnectionError, ProtocolError, OSError)):
        return OutboundConnectionError(f"could not connect to {url}: {_short(inner or exc)}", details)
    return OutboundConnectionError(f"request to {url} failed: {_short(exc)}", details)


def _short(exc: Any) -> str:
    text = str(exc)
    # urllib3 messages embed the pool object; keep the reason
    m = re.search(r"\(Caused by \w+\((?:<[^>]*>: )?['\"]?(.*?)['\"]?\)\)\s*$", text)
    return (m.group(1) if m else text)[:300]


def _set_sock_timeout(raw: Any, seconds: float) -> None:
    try:
        conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.settimeout(max(seconds, 0.001))
    except Exception:  # best effort only; the deadline check still applies
        pass


def _undecoded(resp) -> str | None:
    """The response's Content-Encoding when urllib3 left the body encoded (it decodes gzip and deflate)."""
    value = (resp.headers.get("Content-Encoding") or "").strip().lower()
    if not value or value == "identity":
        return None
    decoders = getattr(resp.raw, "CONTENT_DECODERS", ())
    if value in decoders or any(e.strip() in decoders for e in value.split(",")):
        return None
    return value


_AUTHORITY_END = re.compile(r"[\\/?#]")
_AUTHORITIES_MAX = 1024
_valid_authorities: dict[str, bool] = {}   # "scheme://authority" requests' URL check accepted


def _authority(url: str) -> str | None:
    """`scheme://authority` of an http(s) URL as urllib3 splits it (the authority ends at the
    first of \\ / ? #), or None for any other form."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    end = _AUTHORITY_END.search(url, len(scheme) + 3)
    return url[: end.start()] if end else url


def _prepare(requests: Any, method: str, url: str, headers: dict, params: Any, body: Any) -> Any:
    """What `requests.Request(method, url, headers=, params=, data=body).prepare()` answers,
    without the steps that cannot change anything here: the cookie jar (none is ever
    given: a Cookie header comes in `headers`), credentials from the URL (check_url refuses
    them) and hooks (none). Without `params` the URL is sent exactly as given (requests
    would decode %2E etc., turning an encoded "%2E%2E" segment back into ".."), so requests'
    URL preparation only checks it; what it refuses depends on the scheme and authority
    alone (the path, query and fragment are only re-encoded), so an authority it accepted
    once is not checked again (a bounded memo)."""
    p = requests.PreparedRequest()
    p.prepare_method(method)
    authority = None if params else _authority(url)
    if authority is None or authority not in _valid_authorities:
        p.prepare_url(url, params if params is not None else {})   # raises what requests refuses
        if authority is not None:
            if len(_valid_authorities) >= _AUTHORITIES_MAX:
                _valid_authorities.clear()
            _valid_authorities[authority] = True
    if not params:
        p.url = url
    p.prepare_headers(headers)
    p.prepare_body(body if body is not None else [], [], None)
    return p


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    params: Any = None,
    body: bytes | str | None = None,
    policy: OutboundPolicy | None = None,
    sensitive_headers: Iterable[str] = (),
    **limits: Any,
) -> OutboundResponse:
    """Make one guarded HTTP call, following redirects (each hop re-checked).

    The allowlist, resolver and limits come from `policy`; keyword `limits`
    (any OutboundPolicy field: allowlist, resolver, max_redirects, max_bytes,
    connect_timeout, read_timeout, total_timeout, verify) override it for
    this call. `params` (mapping or list of pairs) is appended to the URL's
    query. `sensitive_headers` extends the headers dropped when a redirect
    changes origin (Authorization, Proxy-Authorization, Cookie, X-API-Key
    always are). With ``max_redirects=0`` a 3xx is returned as is; otherwise
    more than `max_redirects` hops raise TooManyRedirects.
    """
    import requests

    pol = (policy or OutboundPolicy()).with_limits(**limits)
    max_redirects, max_bytes = pol.max_redirects, pol.max_bytes
    r_timeout, t_timeout = pol.read_timeout, pol.total_timeout
    drop_on_cross_origin = SENSITIVE_HEADERS | {h.lower() for h in sensitive_headers}

    started = time.perf_counter()
    deadline = started + t_timeout
    adapter = _get_adapter()

    target = pol.check(url)
    method = method.upper()
    send_headers = {"User-Agent": DEFAULT_USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
    send_headers.update(headers or {})
    hop_url, hop_params, hop_body = target.url, params, body
    redirects: list[str] = []

    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise OutboundTimeout(
                f"outbound call to {url} exceeded {t_timeout:g} s", {"url": url, "phase": "total"}
            )
        hdrs = {k: v for k, v in send_headers.items() if k.lower() != "host"}
        hdrs["Host"] = target.host_header
        try:
            prepared = _prepare(requests, method, hop_url, hdrs, hop_params, hop_body)
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise OutboundRefused(f"invalid request: {_short(exc)}", {"url": hop_url}) from None
        # The PinnedAdapter reads it back: requests has no field for the address to connect to.
        prepared.pinned_target = target
        read_t = min(r_timeout, remaining)
        try:
            resp = adapter.send(
                prepared,
                stream=True,
                timeout=(min(pol.connect_timeout, remaining), read_t),
                verify=pol.verify,
                proxies={},
            )
        except requests.exceptions.InvalidHeader as exc:
            raise OutboundRefused(f"invalid header: {_short(exc)}", {"url": hop_url}) from None
        except Exception as exc:  # noqa: BLE001 - translated to typed errors
            raise _translate(exc, hop_url, read_t) from exc

        location = resp.headers.get("Location")
        if resp.status_code in (301, 302, 303, 307, 308) and location and max_redirects > 0:
            resp.close()
            if len(redirects) >= max_redirects:
                raise TooManyRedirects(
                    f"more than {max_redirects} redirects starting at {url}",
                    {"url": url, "redirects": redirects + [hop_url]},
                )
            redirects.append(hop_url)
            next_url = urljoin(prepared.url, location)
            new_target = pol.check(next_url, redirect_from=prepared.url)
            if _origin(new_target) != _origin(target):
                send_headers = {k: v for k, v in send_headers.items() if k.lower() not in drop_on_cross_origin}
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method = "GET" if method != "HEAD" else method
                hop_body = None
                send_headers = {
                    k: v
                    for k, v in send_headers.items()
                    if k.lower() not in ("content-type", "content-length", "transfer-encoding")
                }
            hop_url, hop_params, target = new_target.url, None, new_target
            continue

        # final response: read with the size cap and the total deadline
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            resp.close()
            raise ResponseTooLarge(
                f"upstream response of {int(declared)} bytes exceeds the {max_bytes}-byte limit",
                {"url": hop_url, "limit_bytes": max_bytes, "declared_bytes": int(declared)},
            )
        chunks: list[bytes] = []
        size = 0
        try:
            if method != "HEAD":
                for chunk in resp.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        resp.close()
                        raise ResponseTooLarge(
                            f"upstream response exceeds the {max_bytes}-byte limit",
                            {"url": hop_url, "limit_bytes": max_bytes},
                        )
                    chunks.append(chunk)
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        resp.close()
                        raise OutboundTimeout(
                            f"outbound call to {url} exceeded {t_timeout:g} s", {"url": url, "phase": "total"}
                        )
                    _set_sock_timeout(resp.raw, min(r_timeout, left))
        except OutboundFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - translated to typed errors, like the send above
            resp.close()
            if time.perf_counter() >= deadline:
                raise OutboundTimeout(
                    f"outbound call to {url} exceeded {t_timeout:g} s", {"url": url, "phase": "total"}
                ) from exc
            raise _translate(exc, hop_url, read_t) from exc
        finally:
            resp.close()  # a fully read body has already gone back to the pool
        return OutboundResponse(
            status_code=resp.status_code,
            reason=resp.reason or "",
            headers=resp.headers,
            content=b"".join(chunks),
            url=prepared.url or hop_url,
            address=target.address,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            redirects=redirects,
            encoding=resp.encoding,
            header_items=list(getattr(resp.raw, "headers", resp.headers).items()),
            content_encoding=_undecoded(resp),
        )
