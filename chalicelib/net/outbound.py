"""The outbound guard: the only way this service makes HTTP calls (DESIGN 9).

Used by spec import-from-URL (catalog), the gateway and health checks.

    from chalicelib.net import outbound
    resp = outbound.fetch("https://api.example.com/openapi.yaml",
                          policy=outbound.policy_from_settings())
    resp.status_code, resp.headers, resp.content, resp.json()

What it guarantees:

* The host is resolved **once** (IP literals in any numeric form - ``127.1``,
  ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]`` - are
  normalised without DNS). Every resolved address must be public: loopback,
  private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 incl. the metadata
  address, fe80::/10), CGNAT (100.64.0.0/10), unspecified, multicast,
  broadcast/reserved and IPv4-mapped / IPv4-embedding IPv6 (::ffff:0:0/96,
  64:ff9b::/96, 2002::/16, Teredo, IPv4-compatible) are refused unless the
  allowlist (``OUTBOUND_ALLOWLIST``: CIDRs and/or ``host[:port]`` entries,
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

Errors are typed (`chalicelib.web.errors`) and all carry ``error_type``:

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

import ipaddress
import json as _json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from chalicelib.web.errors import RequestTimeout, UpstreamError, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

ALLOWLIST_SETTING = "OUTBOUND_ALLOWLIST"
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # below the 6 MB Lambda payload
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_TOTAL_TIMEOUT = 25.0  # under API Gateway's 29 s
DEFAULT_USER_AGENT = "StepFlow-Gateway/1"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
_CHUNK = 16 * 1024


# --------------------------------------------------------------------------- errors


class OutboundFailure(Exception):
    """Mixin shared by every outbound error; `error_type` names the failure kind."""

    error_type = "connection"


class OutboundRefused(OutboundFailure, ValidationError):
    """The URL given by the caller is not allowed (scheme, form or address)."""

    error_type = "refused"


class RedirectRefused(OutboundFailure, UpstreamError):
    """The upstream redirected to a URL the guard refuses."""

    error_type = "refused"


class OutboundTimeout(OutboundFailure, RequestTimeout):
    error_type = "timeout"


class OutboundConnectionError(OutboundFailure, UpstreamError):
    error_type = "connection"


class OutboundSSLError(OutboundFailure, UpstreamError):
    error_type = "ssl"


class ResponseTooLarge(OutboundFailure, UpstreamError):
    error_type = "too_large"


class TooManyRedirects(OutboundFailure, UpstreamError):
    error_type = "redirects"


# --------------------------------------------------------------- address classes

# Ordered: the first matching range names the class (specific before general).
_REFUSED_RANGES: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), name)
    for cidr, name in (
        ("0.0.0.0/8", "unspecified"),
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("169.254.169.254/32", "link-local (cloud metadata)"),
        ("169.254.0.0/16", "link-local"),
        ("100.64.0.0/10", "CGNAT shared address space"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("198.18.0.0/15", "benchmarking"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped IPv6"),
        ("64:ff9b::/96", "IPv4-embedding IPv6 (NAT64)"),
        ("64:ff9b:1::/48", "IPv4-embedding IPv6 (local NAT64)"),
        ("2002::/16", "IPv4-embedding IPv6 (6to4)"),
        ("2001::/32", "IPv4-embedding IPv6 (Teredo)"),
        ("::/96", "IPv4-compatible IPv6"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("100::/64", "discard-only"),
    )
)


def classify_address(address: str | IPAddress) -> tuple[str, str] | None:
    """Return ``(class name, range)`` when `address` is not a public unicast
    address, else None."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6 and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    for net, name in _REFUSED_RANGES:
        if ip.version == net.version and ip in net:
            return name, str(net)
    return None


# ------------------------------------------------------------------------ allowlist


@dataclass(frozen=True)
class _HostRule:
    host: str  # normalised; "*.example.com" for a wildcard
    port: int | None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and host != self.host[2:]
        return host == self.host


@dataclass(frozen=True)
class Allowlist:
    """Networks and host rules that admit otherwise refused targets."""

    networks: tuple = ()
    hosts: tuple[_HostRule, ...] = ()

    def admits(self, host: str, port: int, ip: IPAddress) -> bool:
        if any(ip.version == n.version and ip in n for n in self.networks):
            return True
        return any(rule.matches(host, port) for rule in self.hosts)

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts)


def parse_allowlist(spec: str | Iterable[str] | Allowlist | None) -> Allowlist:
    """Build an Allowlist from a comma/space separated string or an iterable of
    entries: CIDRs or addresses (``127.0.0.0/8``, ``::1``) and ``host[:port]``
    strings (``localhost:8080``, ``[::1]:9000``, ``*.corp.example``)."""
    if spec is None:
        return Allowlist()
    if isinstance(spec, Allowlist):
        return spec
    entries = re.split(r"[,\s]+", spec) if isinstance(spec, str) else list(spec)
    networks, hosts = [], []
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        host, port = entry, None
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
        if m:
            host, port = m.group(1), m.group(2)
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        try:
            port_no = int(port) if port not in (None, "") else None
        except ValueError:
            raise ValueError(f"{ALLOWLIST_SETTING} entry {entry!r} has an invalid port") from None
        if port_no is not None and not 0 < port_no < 65536:
            raise ValueError(f"{ALLOWLIST_SETTING} entry {entry!r} has an invalid port")
        wildcard = host.startswith("*.")
        norm = _normalise_host(host[2:] if wildcard else host, for_setting=True)
        hosts.append(_HostRule(("*." if wildcard else "") + norm, port_no))
    return Allowlist(tuple(networks), tuple(hosts))


# ------------------------------------------------------------------ URL + resolve

_NUMERIC_V4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)
_HOST_CHARS = re.compile(r"[a-z0-9._\-:%\[\]]+", re.I)


def _normalise_host(host: str, for_setting: bool = False) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            if for_setting:
                raise ValueError(f"invalid host name {host!r}") from None
            raise OutboundRefused(f"invalid host name {host!r}", {"host": host}) from None
    if host.endswith(".") and not _NUMERIC_V4.fullmatch(host):
        host = host[:-1]
    if not host or not _HOST_CHARS.fullmatch(host):
        if for_setting:
            raise ValueError(f"invalid host name {host!r}")
        raise OutboundRefused(f"invalid host name {host!r}", {"host": host})
    return host


def literal_address(host: str) -> IPAddress | None:
    """The IP address a host string denotes without DNS, in any numeric form
    the C resolver accepts (``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise OutboundRefused(f"invalid numeric host {host!r}", {"host": host}) from None
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve through getaddrinfo (one lookup), IPv4 answers first."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    seen: list[str] = []
    for family, _t, _p, _c, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
        addr = sockaddr[0]
        if addr not in seen:
            seen.append(addr)
    return seen


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to and what the guard saw."""

    url: str
    scheme: str
    host: str  # normalised host name (or IP text) for Host/SNI
    port: int
    address: str  # the pinned IP the connection goes to
    addresses: tuple[str, ...]  # all resolved addresses (all checked)
    host_header: str


def check_url(
    url: str,
    allowlist: str | Iterable[str] | Allowlist | None = None,
    resolver: Resolver | None = None,
    *,
    _redirect_from: str | None = None,
) -> Target:
    """Validate `url` and resolve its host once. Raises OutboundRefused (or
    RedirectRefused when `_redirect_from` is set) for a forbidden target."""
    refused = RedirectRefused if _redirect_from else OutboundRefused
    allow = parse_allowlist(allowlist)
    base_details = {"url": url} | ({"redirect_from": _redirect_from} if _redirect_from else {})
    if not isinstance(url, str) or not url.strip():
        raise refused("URL is required", base_details)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise refused(f"malformed URL: {exc}", base_details) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise refused(f"only http and https URLs are allowed, got {scheme or 'no'} scheme", base_details)
    if parts.username is not None or parts.password is not None:
        raise refused("credentials in the URL are not allowed; use the auth configuration", base_details)
    if not parts.hostname:
        raise refused("URL has no host", base_details)
    if refused is OutboundRefused:
        host = _normalise_host(parts.hostname)
    else:
        try:
            host = _normalise_host(parts.hostname)
        except OutboundRefused as exc:
            raise refused(exc.message, base_details) from None
    port = port or (443 if scheme == "https" else 80)

    try:
        literal = literal_address(host)
    except OutboundRefused as exc:
        raise refused(exc.message, base_details) from None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise OutboundConnectionError(
                f"could not resolve host {host!r}: {exc}", base_details | {"host": host}
            ) from None
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(str(answer).split("%", 1)[0]))
            except ValueError:
                raise OutboundConnectionError(
                    f"resolver returned a non-address {answer!r} for {host!r}", base_details
                ) from None
        if not addresses:
            raise OutboundConnectionError(f"host {host!r} resolved to no address", base_details)

    for ip in addresses:
        cls = classify_address(ip)
        if cls is not None and not allow.admits(host, port, ip):
            name, net = cls
            shown = host if literal is None else parts.hostname
            raise refused(
                f"refused outbound call to {shown!r}: {ip} is a {name} address ({net}); "
                f"add it to {ALLOWLIST_SETTING} to admit it",
                base_details
                | {"host": host, "address": str(ip), "address_class": name, "range": net, "setting": ALLOWLIST_SETTING},
            )

    pinned = next((ip for ip in addresses if ip.version == 4), addresses[0])
    default_port = port == (443 if scheme == "https" else 80)
    host_text = f"[{host}]" if ":" in host else host
    if literal is not None:
        # normalise odd numeric forms so Host/SNI carry a canonical literal
        host = str(literal)
        host_text = f"[{host}]" if literal.version == 6 else host
    return Target(
        url=url.strip(),
        scheme=scheme,
        host=host,
        port=port,
        address=str(pinned),
        addresses=tuple(str(a) for a in addresses),
        host_header=host_text if default_port else f"{host_text}:{port}",
    )


# --------------------------------------------------------------------- the client


@dataclass(frozen=True)
class OutboundPolicy:
    """Limits for one kind of outbound call. Per-call arguments override."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_bytes: int = DEFAULT_MAX_BYTES
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    resolver: Resolver | None = None
    verify: bool | str = True


def policy_from_settings(settings: Any = None, **overrides: Any) -> OutboundPolicy:
    """The policy with OUTBOUND_ALLOWLIST from `chalicelib.settings`."""
    if settings is None:
        from chalicelib.settings import get_settings

        settings = get_settings()
    allow = parse_allowlist(getattr(settings, "outbound_allowlist", ()) or ())
    if "allowlist" in overrides:
        allow = parse_allowlist(overrides.pop("allowlist"))
    return OutboundPolicy(allowlist=allow, **overrides)


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
    from urllib3.exceptions import ProtocolError, ReadTimeoutError, SSLError as U3SSLError

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


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    params: Any = None,
    body: bytes | str | None = None,
    policy: OutboundPolicy | None = None,
    allowlist: str | Iterable[str] | Allowlist | None = None,
    resolver: Resolver | None = None,
    max_redirects: int | None = None,
    max_bytes: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    total_timeout: float | None = None,
    verify: bool | str | None = None,
    sensitive_headers: Iterable[str] = (),
) -> OutboundResponse:
    """Make one guarded HTTP call, following redirects (each hop re-checked).

    `params` (mapping or list of pairs) is appended to the URL's query.
    `sensitive_headers` extends the headers dropped when a redirect changes
    origin (Authorization, Proxy-Authorization, Cookie, X-API-Key always are).
    With ``max_redirects=0`` a 3xx is returned as is; otherwise more than
    `max_redirects` hops raise TooManyRedirects.
    """
    import requests

    pol = policy or OutboundPolicy()
    allow = parse_allowlist(allowlist) if allowlist is not None else pol.allowlist
    resolve = resolver or pol.resolver
    max_redirects = pol.max_redirects if max_redirects is None else max_redirects
    max_bytes = pol.max_bytes if max_bytes is None else max_bytes
    c_timeout = pol.connect_timeout if connect_timeout is None else connect_timeout
    r_timeout = pol.read_timeout if read_timeout is None else read_timeout
    t_timeout = pol.total_timeout if total_timeout is None else total_timeout
    verify = pol.verify if verify is None else verify
    drop_on_cross_origin = SENSITIVE_HEADERS | {h.lower() for h in sensitive_headers}

    started = time.perf_counter()
    deadline = started + t_timeout
    adapter = _get_adapter()

    target = check_url(url, allow, resolve)
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
            prepared = requests.Request(method, hop_url, headers=hdrs, params=hop_params, data=hop_body).prepare()
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise OutboundRefused(f"invalid request: {_short(exc)}", {"url": hop_url}) from None
        if not hop_params:
            # keep the caller's exact encoding: requests would decode %2E etc.
            # (turning an encoded "%2E%2E" segment back into "..")
            prepared.url = hop_url
        prepared.pinned_target = target
        read_t = min(r_timeout, remaining)
        try:
            resp = adapter.send(
                prepared,
                stream=True,
                timeout=(min(c_timeout, remaining), read_t),
                verify=verify,
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
            new_target = check_url(next_url, allow, resolve, _redirect_from=prepared.url)
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
        except Exception as exc:  # noqa: BLE001
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
            url=prepared.url,
            address=target.address,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            redirects=redirects,
            encoding=resp.encoding,
        )
