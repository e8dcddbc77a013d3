"""The outbound guard against the IANA special-purpose address registries.

One row per registry row (iana-ipv4-special-registry, iana-ipv6-special-registry,
copied here by hand, not from the module): an address inside the row (and
outside any more specific row) is allowed when the row is globally reachable,
refused otherwise; a refused one is admitted by OUTBOUND_ALLOWLIST.
"""
from __future__ import annotations

import ipaddress

import pytest

from chalicelib.net import addresses, outbound


def no_dns(host, port):
    raise AssertionError(f"resolver called for {host!r}")


# (registry row, an address in it, globally reachable -> allowed)
IPV4_REGISTRY = [
    ("0.0.0.0/8", "0.1.2.3", False),
    ("0.0.0.0/32", "0.0.0.0", False),
    ("10.0.0.0/8", "10.20.30.40", False),
    ("100.64.0.0/10", "100.127.255.254", False),
    ("127.0.0.0/8", "127.255.0.1", False),
    ("169.254.0.0/16", "169.254.3.4", False),
    ("172.16.0.0/12", "172.31.0.1", False),
    ("192.0.0.0/24", "192.0.0.100", False),
    ("192.0.0.0/29", "192.0.0.5", False),
    ("192.0.0.8/32", "192.0.0.8", False),
    ("192.0.0.9/32", "192.0.0.9", True),
    ("192.0.0.10/32", "192.0.0.10", True),
    ("192.0.0.170/32", "192.0.0.170", False),
    ("192.0.0.171/32", "192.0.0.171", False),
    ("192.0.2.0/24", "192.0.2.55", False),
    ("192.31.196.0/24", "192.31.196.1", True),
    ("192.52.193.0/24", "192.52.193.1", True),
    ("192.88.99.0/24", "192.88.99.1", False),
    ("192.168.0.0/16", "192.168.100.1", False),
    ("192.175.48.0/24", "192.175.48.6", True),
    ("198.18.0.0/15", "198.19.255.1", False),
    ("198.51.100.0/24", "198.51.100.7", False),
    ("203.0.113.0/24", "203.0.113.9", False),
    ("240.0.0.0/4", "250.1.2.3", False),
    ("255.255.255.255/32", "255.255.255.255", False),
]

IPV6_REGISTRY = [
    ("::1/128", "::1", False),
    ("::/128", "::", False),
    ("::ffff:0:0/96", "::ffff:7f00:1", False),
    ("64:ff9b::/96", "64:ff9b::808:808", False),  # registry: reachable; refused because it embeds IPv4
    ("64:ff9b:1::/48", "64:ff9b:1::1", False),
    ("100::/64", "100::abcd", False),
    ("100:0:0:1::/64", "100:0:0:1::1", False),
    ("2001::/23", "2001:100::1", False),
    ("2001::/32", "2001:0:4136:e378::1", False),  # Teredo embeds IPv4
    ("2001:1::1/128", "2001:1::1", True),
    ("2001:1::2/128", "2001:1::2", True),
    ("2001:1::3/128", "2001:1::3", True),
    ("2001:2::/48", "2001:2::99", False),
    ("2001:3::/32", "2001:3::1", True),
    ("2001:4:112::/48", "2001:4:112::1", True),
    ("2001:10::/28", "2001:10::1", False),
    ("2001:20::/28", "2001:20::1", True),
    ("2001:30::/28", "2001:30::1", True),
    ("2001:db8::/32", "2001:db8:85a3::8a2e:370:7334", False),
    ("2002::/16", "2002:c000:204::1", False),  # 6to4 embeds IPv4
    ("2620:4f:8000::/48", "2620:4f:8000::42", True),
    ("3fff::/20", "3fff:fff::1", False),
    ("5f00::/16", "5f00::1", False),
    ("fc00::/7", "fd12:3456::1", False),
    ("fe80::/10", "fe80::1234", False),
]

# Blocks outside the special-purpose registries that are not reachable either.
OTHER_BLOCKS = [
    ("224.0.0.0/4", "239.1.2.3", False),
    ("ff00::/8", "ff05::2", False),
    ("fec0::/10", "fec0::1", False),
    ("::/96", "::7f00:1", False),  # IPv4-compatible
    ("::ffff:0:0:0/96", "::ffff:0:7f00:1", False),  # IPv4-translated (127.0.0.1)
    ("outside 2000::/3", "1000::1", False),
    ("outside 2000::/3", "4000::1", False),
    ("public IPv4", "8.8.4.4", True),
    ("public IPv6", "2606:4700:4700::1111", True),
]

ROWS = IPV4_REGISTRY + IPV6_REGISTRY + OTHER_BLOCKS


def url_for(address: str) -> str:
    return f"http://[{address}]/" if ":" in address else f"http://{address}/"


@pytest.mark.parametrize("row,address,reachable", ROWS, ids=[f"{r}:{a}" for r, a, _ in ROWS])
def test_each_registry_row_is_allowed_exactly_when_globally_reachable(row, address, reachable):
    assert (addresses.classify_address(address) is None) is reachable
    if reachable:
        assert outbound.check_url(url_for(address), resolver=no_dns).address == str(ipaddress.ip_address(address))
    else:
        with pytest.raises(outbound.OutboundRefused) as info:
            outbound.check_url(url_for(address), resolver=no_dns)
        assert info.value.details["address"] == str(ipaddress.ip_address(address))
        assert "OUTBOUND_ALLOWLIST" in info.value.message


@pytest.mark.parametrize("row,address,reachable", [r for r in ROWS if not r[2]],
                         ids=[f"{r}:{a}" for r, a, ok in ROWS if not ok])
def test_a_refused_row_is_admitted_by_the_allowlist(row, address, reachable):
    network = ipaddress.ip_network(address)  # the single address as a CIDR entry
    target = outbound.check_url(url_for(address), allowlist=str(network), resolver=no_dns)
    assert target.address == str(ipaddress.ip_address(address))


@pytest.mark.parametrize("row,address,reachable", IPV4_REGISTRY + IPV6_REGISTRY,
                         ids=[r for r, _, _ in IPV4_REGISTRY + IPV6_REGISTRY])
def test_each_address_is_judged_by_its_own_registry_row(row, address, reachable):
    if reachable:
        assert addresses.row_for(address).network == ipaddress.ip_network(row)
        return
    name, net = addresses.classify_address(address)
    assert net == row


def test_every_row_of_the_guard_is_covered_by_this_table():
    tested = {r for r, _, _ in ROWS}
    assert {str(r.network) for r in addresses.ROWS} - tested == {"169.254.169.254/32"}


def test_ipv4_translated_loopback_is_refused_through_a_name_too():
    with pytest.raises(outbound.OutboundRefused) as info:
        outbound.check_url("http://sneaky.example/", resolver=lambda h, p: ["::ffff:0:7f00:1"])
    assert info.value.details["address_class"] == "IPv4-translated IPv6"
