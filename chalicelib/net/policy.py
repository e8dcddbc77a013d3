"""The outbound address policy: what an outbound URL may reach, and the
limits of one kind of call. Pure (no HTTP client): `check_url` validates a
URL, resolves its host once and checks every address against
`chalicelib.net.addresses` and the allowlist; `OutboundPolicy` carries the
allowlist, resolver and limits that `chalicelib.net.outbound.fetch` applies.

The allowlist (``OUTBOUND_ALLOWLIST``: CIDRs and/or ``host[:port]`` entries,
``*.suffix`` wildcards allowed) admits targets the address classes refuse.
IP literals in any numeric form (``127.1``, ``2130706433``, ``0x7f000001``,
``0177.0.0.1``, ``[::ffff:127.0.0.1]``) are normalised without DNS.
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import urlsplit

from chalicelib.errors import RequestTimeout, UpstreamError, ValidationError, field_error, field_errors
from chalicelib.net.addresses import IPAddress, classify_address

Resolver = Callable[[str, int], Sequence[str]]

ALLOWLIST_SETTING = "OUTBOUND_ALLOWLIST"
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # below the 6 MB Lambda payload
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_TOTAL_TIMEOUT = 25.0  # under API Gateway's 29 s

# --------------------------------------------------------------------------- errors


class OutboundFailure(Exception):
    """Mixin shared by every outbound error; `error_type` names the failure kind.
    Every concrete one is also a typed error (`chalicelib.errors.AppError`), so
    a caller catching OutboundFailure reads its `message` and `details`."""

    error_type = "connection"
    message: str
    details: Any


class OutboundRefused(OutboundFailure, ValidationError):
    """The URL given by the caller is not allowed (scheme, form or address); details name it
    as the input at fault (`errors[0].loc == ["url"]`) beside the address context."""

    error_type = "refused"

    def __init__(self, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message, field_errors(field_error(["url"], message, "url_refused"), **(details or {})),
                         headers)


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
    strings (``localhost:8080``, ``[::1]:9000``, ``*.corp.example``). A string or a
    tuple of strings (the setting's form) is parsed once (the Allowlist is immutable)."""
    if spec is None:
        return Allowlist()
    if isinstance(spec, Allowlist):
        return spec
    if type(spec) is str or (type(spec) is tuple and all(type(e) is str for e in spec)):
        return _parse_allowlist_once(spec)
    return _parse_allowlist(spec)


@functools.lru_cache(maxsize=64)
def _parse_allowlist_once(spec: str | tuple[str, ...]) -> Allowlist:
    return _parse_allowlist(spec)


def _parse_allowlist(spec: str | Iterable[str]) -> Allowlist:
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
    ``0177.0.0.1``), or None for a name. Pure: a host name's answer is kept
    (a bounded memo; a refused form is refused every time)."""
    if type(host) is str and len(host) <= 255:
        return _literal_once(host)
    return _literal(host)


@functools.lru_cache(maxsize=1024)
def _literal_once(host: str) -> IPAddress | None:
    return _literal(host)


def _literal(host: str) -> IPAddress | None:
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
    for _family, _t, _p, _c, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
        addr = str(sockaddr[0])
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

    def with_limits(self, **limits: Any) -> "OutboundPolicy":
        """A copy with the given limits replaced (None leaves one as it is);
        `allowlist` may be given in any form `parse_allowlist` reads."""
        given = {k: v for k, v in limits.items() if v is not None}
        unknown = given.keys() - _POLICY_FIELDS
        if unknown:
            raise TypeError(f"unknown outbound limit(s): {', '.join(sorted(unknown))}")
        if "allowlist" in given:
            given["allowlist"] = parse_allowlist(given["allowlist"])
        return dataclasses.replace(self, **given) if given else self

    def check(self, url: str, *, redirect_from: str | None = None) -> "Target":
        """`check_url` under this policy's allowlist and resolver."""
        return check_url(url, self.allowlist, self.resolver, _redirect_from=redirect_from)


_POLICY_FIELDS = frozenset(f.name for f in dataclasses.fields(OutboundPolicy))


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute URL, the unit a stored secret is
    bound to; None when the URL has no host."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower().rstrip("."), port or {"https": 443, "http": 80}.get(scheme, 0)


def policy_from_settings(settings: Any = None, **overrides: Any) -> OutboundPolicy:
    """The policy with OUTBOUND_ALLOWLIST from `chalicelib.settings`."""
    if settings is None:
        from chalicelib.settings import get_settings

        settings = get_settings()
    allow = parse_allowlist(getattr(settings, "outbound_allowlist", ()) or ())
    if "allowlist" in overrides:
        allow = parse_allowlist(overrides.pop("allowlist"))
    return OutboundPolicy(allowlist=allow, **overrides)


