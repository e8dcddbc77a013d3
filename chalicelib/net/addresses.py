"""Which IP addresses an outbound call may reach: a pure classification.

The tables are the IANA IPv4 and IPv6 Special-Purpose Address Registries
(iana.org/assignments/iana-ipv4-special-registry and
iana-ipv6-special-registry), one row each, with the registry's "Globally
Reachable" column, plus the blocks the registries leave to other
registries (IPv4 multicast 224.0.0.0/4; IPv6 multicast ff00::/8, the
deprecated site-local fec0::/10, and everything outside the global unicast
space 2000::/3, which IANA keeps reserved).

The rule: the most specific row containing the address decides. A row that
is globally reachable admits the address; any other row refuses it, with its
class name and range. Blocks that embed an IPv4 address in an IPv6 one
(IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4, Teredo) are
refused whatever the registry says: the IPv4 address they lead to is not
the one the guard checked. An address in no row (ordinary public unicast)
is allowed.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Row:
    network: Network
    name: str           # the class name shown when the row refuses an address
    reachable: bool     # the registry's "Globally Reachable" (after the IPv4-embedding rule)
    source: str         # where the row comes from ("IANA IPv4 special", RFC ...)


def _rows(table: tuple[tuple[str, str, bool, str], ...]) -> tuple[Row, ...]:
    return tuple(Row(ipaddress.ip_network(cidr), name, reachable, source) for cidr, name, reachable, source in table)


IPV4_SPECIAL = _rows((
    ("0.0.0.0/8", "unspecified", False, "RFC 791 'this network'"),
    ("0.0.0.0/32", "unspecified", False, "RFC 1122 'this host on this network'"),
    ("10.0.0.0/8", "private (RFC 1918)", False, "RFC 1918"),
    ("100.64.0.0/10", "CGNAT shared address space", False, "RFC 6598"),
    ("127.0.0.0/8", "loopback", False, "RFC 1122"),
    ("169.254.0.0/16", "link-local", False, "RFC 3927"),
    ("172.16.0.0/12", "private (RFC 1918)", False, "RFC 1918"),
    ("192.0.0.0/24", "reserved (IETF protocol assignments)", False, "RFC 6890"),
    ("192.0.0.0/29", "reserved (IPv4 service continuity prefix)", False, "RFC 7335"),
    ("192.0.0.8/32", "reserved (IPv4 dummy address)", False, "RFC 7600"),
    ("192.0.0.9/32", "Port Control Protocol anycast", True, "RFC 7723"),
    ("192.0.0.10/32", "TURN anycast", True, "RFC 8155"),
    ("192.0.0.170/32", "reserved (NAT64/DNS64 discovery)", False, "RFC 7050"),
    ("192.0.0.171/32", "reserved (NAT64/DNS64 discovery)", False, "RFC 7050"),
    ("192.0.2.0/24", "documentation", False, "RFC 5737 TEST-NET-1"),
    ("192.31.196.0/24", "AS112-v4", True, "RFC 7535"),
    ("192.52.193.0/24", "AMT", True, "RFC 7450"),
    ("192.88.99.0/24", "deprecated (6to4 relay anycast)", False, "RFC 7526"),
    ("192.168.0.0/16", "private (RFC 1918)", False, "RFC 1918"),
    ("192.175.48.0/24", "AS112 direct delegation", True, "RFC 7534"),
    ("198.18.0.0/15", "benchmarking", False, "RFC 2544"),
    ("198.51.100.0/24", "documentation", False, "RFC 5737 TEST-NET-2"),
    ("203.0.113.0/24", "documentation", False, "RFC 5737 TEST-NET-3"),
    ("240.0.0.0/4", "reserved", False, "RFC 1112"),
    ("255.255.255.255/32", "broadcast", False, "RFC 919"),
))

IPV4_OTHER = _rows((
    ("224.0.0.0/4", "multicast", False, "IANA IPv4 address space (RFC 5771)"),
    ("169.254.169.254/32", "link-local (cloud metadata)", False, "cloud instance metadata service"),
))

IPV6_SPECIAL = _rows((
    ("::1/128", "loopback", False, "RFC 4291"),
    ("::/128", "unspecified", False, "RFC 4291"),
    ("::ffff:0:0/96", "IPv4-mapped IPv6", False, "RFC 4291"),
    ("64:ff9b::/96", "IPv4-embedding IPv6 (NAT64)", False, "RFC 6052 (registry: reachable; embeds IPv4)"),
    ("64:ff9b:1::/48", "IPv4-embedding IPv6 (local NAT64)", False, "RFC 8215"),
    ("100::/64", "discard-only", False, "RFC 6666"),
    ("100:0:0:1::/64", "dummy IPv6 prefix", False, "RFC 9780"),
    ("2001::/23", "reserved (IETF protocol assignments)", False, "RFC 2928"),
    ("2001::/32", "IPv4-embedding IPv6 (Teredo)", False, "RFC 4380 (registry: n/a; embeds IPv4)"),
    ("2001:1::1/128", "Port Control Protocol anycast", True, "RFC 7723"),
    ("2001:1::2/128", "TURN anycast", True, "RFC 8155"),
    ("2001:1::3/128", "DNS-SD service registration anycast", True, "RFC 9665"),
    ("2001:2::/48", "benchmarking", False, "RFC 5180"),
    ("2001:3::/32", "AMT", True, "RFC 7450"),
    ("2001:4:112::/48", "AS112-v6", True, "RFC 7535"),
    ("2001:10::/28", "deprecated (ORCHID)", False, "RFC 4843"),
    ("2001:20::/28", "ORCHIDv2", True, "RFC 7343"),
    ("2001:30::/28", "drone remote ID entity tags", True, "RFC 9374"),
    ("2001:db8::/32", "documentation", False, "RFC 3849"),
    ("2002::/16", "IPv4-embedding IPv6 (6to4)", False, "RFC 3056 (registry: n/a; embeds IPv4)"),
    ("2620:4f:8000::/48", "AS112 direct delegation", True, "RFC 7534"),
    ("3fff::/20", "documentation", False, "RFC 9637"),
    ("5f00::/16", "segment routing SIDs", False, "RFC 9602"),
    ("fc00::/7", "private (unique local)", False, "RFC 4193"),
    ("fe80::/10", "link-local", False, "RFC 4291"),
))

IPV6_OTHER = _rows((
    ("::/96", "IPv4-compatible IPv6", False, "RFC 4291 (deprecated)"),
    ("::ffff:0:0:0/96", "IPv4-translated IPv6", False, "RFC 2765 (SIIT)"),
    ("fec0::/10", "site-local", False, "RFC 3879 (deprecated)"),
    ("ff00::/8", "multicast", False, "RFC 4291"),
))

ROWS: tuple[Row, ...] = IPV4_SPECIAL + IPV4_OTHER + IPV6_SPECIAL + IPV6_OTHER
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_OUTSIDE_V6 = Row(ipaddress.ip_network("::/0"), "reserved (outside global unicast 2000::/3)", False,
                  "IANA IPv6 address space")
# most specific first: the first row containing an address decides
_ORDERED = {4: sorted((r for r in ROWS if r.network.version == 4), key=lambda r: -r.network.prefixlen),
            6: sorted((r for r in ROWS if r.network.version == 6), key=lambda r: -r.network.prefixlen)}


def row_for(address: str | IPAddress) -> Row | None:
    """The most specific registry row containing `address` (None: ordinary unicast).
    The registry is fixed: an address's row is looked up once (a bounded memo)."""
    return _row_of(_address(address))


@functools.lru_cache(maxsize=4096)
def _row_of(ip: IPAddress) -> Row | None:
    for row in _ORDERED[ip.version]:
        if ip in row.network:
            return row
    if ip.version == 6 and ip not in _GLOBAL_UNICAST_V6:
        return _OUTSIDE_V6
    return None


def classify_address(address: str | IPAddress) -> tuple[str, str] | None:
    """``(class name, range)`` when `address` may not be reached without the
    allowlist, else None."""
    return _classified(_address(address))


@functools.lru_cache(maxsize=4096)
def _classified(ip: IPAddress) -> tuple[str, str] | None:
    row = _row_of(ip)
    if row is None or row.reachable:
        return None
    return row.name, ("outside 2000::/3" if row is _OUTSIDE_V6 else str(row.network))


def _address(address: str | IPAddress) -> IPAddress:
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if ip.version == 6 and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    return ip
