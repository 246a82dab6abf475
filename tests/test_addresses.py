"""The address policy: which addresses an outbound connection may reach, row by row."""

from __future__ import annotations

from ipaddress import ip_network
from typing import get_args

import pytest

from driftstack.addresses import AddressPolicy, Allowance, InvalidAllowance, Kind, judge

# (address, None when public, else "kind" or "kind via form of the embedded IPv4 address")
TABLE: list[tuple[str, str | None]] = [
    # Public IPv4, among them the neighbours of every refused range.
    ("93.184.215.14", None),
    ("1.1.1.1", None),
    ("8.8.8.8", None),
    ("11.0.0.1", None),
    ("9.255.255.255", None),
    ("100.63.255.255", None),
    ("100.128.0.0", None),
    ("126.255.255.255", None),
    ("128.0.0.1", None),
    ("169.253.255.255", None),
    ("169.255.0.0", None),
    ("172.15.255.255", None),
    ("172.32.0.0", None),
    ("192.0.1.1", None),
    ("192.31.196.1", None),  # AS112, globally reachable
    ("192.167.255.255", None),
    ("192.169.0.0", None),
    ("198.17.255.255", None),
    ("198.20.0.0", None),
    ("223.255.255.255", None),
    # Loopback, private, link-local and the metadata service.
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.255", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    # Unspecified, multicast, broadcast, reserved, benchmarking, documentation.
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("254.255.255.255", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.0.0.170", "reserved"),
    ("192.88.99.1", "reserved"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    # Public IPv6, and the embedding forms of a public IPv4 address.
    ("2606:4700:4700::1111", None),
    ("2001:4860:4860::8888", None),
    ("2a00:1450:4001::1", None),
    ("2620:4f:8000::1", None),  # AS112 over IPv6
    ("::ffff:93.184.215.14", None),
    ("64:ff9b::5db8:d70e", None),  # NAT64 of 93.184.215.14
    ("2002:5db8:d70e::1", None),  # 6to4 of 93.184.215.14
    ("2001:0:4136:e378:8000:63bf:a247:28f1", None),  # Teredo: server 65.54.227.120, client 93.184.215.14
    ("2001:4860::200:5efe:808:808", None),  # ISATAP of 8.8.8.8 under a public prefix
    # Refused IPv6 ranges.
    ("::1", "loopback"),
    ("[::1]", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd00::1", "unique-local"),
    ("fd00:ec2::254", "unique-local"),  # the cloud metadata service over IPv6
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff05::1:3", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "reserved"),  # the withdrawn ORCHID
    ("2001:1::1", "reserved"),  # IETF protocol assignments: nothing a client's URL needs
    ("100::1", "discard-only"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("5f00::1", "reserved"),  # SRv6 segment ids
    ("4000::1", "reserved"),  # outside 2000::/3: not allocated for the internet
    ("1::1", "reserved"),
    # IPv4-mapped: the IPv4 address itself, as a dual-stack socket sees it.
    ("::ffff:127.0.0.1", "loopback via IPv4-mapped of 127.0.0.1"),
    ("::ffff:7f00:1", "loopback via IPv4-mapped of 127.0.0.1"),
    ("::ffff:169.254.169.254", "link-local via IPv4-mapped of 169.254.169.254"),
    ("::ffff:10.0.0.1", "private via IPv4-mapped of 10.0.0.1"),
    ("::ffff:0.0.0.0", "unspecified via IPv4-mapped of 0.0.0.0"),
    # IPv4-compatible (deprecated): refused whatever it holds, named for what it holds.
    ("::127.0.0.1", "loopback via IPv4-compatible of 127.0.0.1"),
    ("::169.254.169.254", "link-local via IPv4-compatible of 169.254.169.254"),
    ("::8.8.8.8", "reserved via IPv4-compatible of 8.8.8.8"),
    # NAT64 (RFC 6052's well-known prefix).
    ("64:ff9b::7f00:1", "loopback via NAT64 of 127.0.0.1"),
    ("64:ff9b::127.0.0.1", "loopback via NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "link-local via NAT64 of 169.254.169.254"),
    ("64:ff9b::a00:1", "private via NAT64 of 10.0.0.1"),
    ("64:ff9b::6440:1", "shared (CGNAT) via NAT64 of 100.64.0.1"),
    ("64:ff9b::e000:1", "multicast via NAT64 of 224.0.0.1"),
    # 6to4.
    ("2002:7f00:1::", "loopback via 6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::1", "link-local via 6to4 of 169.254.169.254"),
    ("2002:c0a8:101::", "private via 6to4 of 192.168.1.1"),
    ("2002::", "unspecified via 6to4 of 0.0.0.0"),
    # Teredo: the client is stored inverted; the server is judged too.
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback via Teredo of 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private via Teredo of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:5601:5601", "link-local via Teredo of 169.254.169.254"),
    ("2001:0:a00:1:8000:63bf:a247:28f1", "private via Teredo of 10.0.0.1"),
    # ISATAP: an interface id carrying the IPv4 address of a tunnel end.
    ("2001:4860::5efe:a00:1", "private via ISATAP of 10.0.0.1"),
    ("2001:4860::200:5efe:a9fe:a9fe", "link-local via ISATAP of 169.254.169.254"),
    ("2001:4860::5efe:7f00:1", "loopback via ISATAP of 127.0.0.1"),
    # Not an address at all.
    ("", "malformed"),
    ("localhost", "malformed"),
    ("127.0.0.1.", "malformed"),
    ("::ffff:127.0.0.256", "malformed"),
]


def verdict(address: str) -> str | None:
    refused = judge(address)
    if refused is None:
        return None
    if refused.form is None:
        return refused.kind
    return f"{refused.kind} via {refused.form} of {refused.embedded}"


@pytest.mark.parametrize(("address", "expected"), TABLE)
def test_each_address_is_allowed_or_refused_for_what_it_reaches(address: str, expected: str | None) -> None:
    assert verdict(address) == expected
    assert AddressPolicy().permits(address) is (expected is None)


def test_the_table_has_a_row_for_every_kind_of_refusal() -> None:
    kinds = {row.split(" via ")[0] for _, row in TABLE if row is not None}
    assert kinds == set(get_args(Kind))


def test_a_refusal_says_what_the_address_is_and_what_it_embeds() -> None:
    assert str(judge("127.0.0.1")) == "127.0.0.1, a loopback address"
    assert (
        str(judge("[64:ff9b::7f00:1]")) == "64:ff9b::7f00:1, the NAT64 form of 127.0.0.1, a loopback address"
    )
    assert str(judge("0.0.0.0")) == "0.0.0.0, an unspecified address"
    assert str(judge("fd00:ec2::254")) == "fd00:ec2::254, a unique-local address"


def test_allowing_private_addresses_allows_every_address() -> None:
    policy = AddressPolicy(allow_private=True)
    assert all(policy.permits(address) for address, _ in TABLE)


POLICY = AddressPolicy.of(
    ["127.0.0.1:8765", "10.1.0.0/16", "db.internal", "[::1]:8080", "fd00::/8", "Cache.Local:6379"]
)


@pytest.mark.parametrize(
    ("address", "host", "port", "permitted"),
    [
        ("127.0.0.1", "127.0.0.1", 8765, True),
        ("::ffff:127.0.0.1", "localhost", 8765, True),  # the same address, as a dual-stack socket sees it
        ("127.0.0.1", "127.0.0.1", 8766, False),  # only that port
        ("127.0.0.2", "127.0.0.2", 8765, False),
        ("64:ff9b::7f00:1", None, 8765, False),  # a NAT64 address is not the IPv4 address itself
        ("10.1.200.3", None, 443, True),
        ("10.2.0.1", None, 443, False),
        ("169.254.169.254", "db.internal", 80, True),  # a host allowance trusts whatever it resolves to
        ("10.9.9.9", "DB.Internal.", 5432, True),
        ("10.9.9.9", "other.internal", 5432, False),
        ("::1", "[::1]", 8080, True),
        ("::1", None, 8081, False),
        ("fd12::1", None, 1, True),
        ("fe80::1", None, 1, False),
        ("10.3.3.3", "cache.local", 6379, True),
        ("10.3.3.3", "cache.local", 6380, False),
        ("93.184.215.14", "example.com", 443, True),  # public addresses need no allowance
    ],
)
def test_an_operator_allowance_opens_exactly_its_network_host_or_port(
    address: str, host: str | None, port: int | None, permitted: bool
) -> None:
    assert POLICY.permits(address, host=host, port=port) is permitted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1.0.0/16", Allowance(network=ip_network("10.1.0.0/16"))),
        ("127.0.0.1:8765", Allowance(network=ip_network("127.0.0.1/32"), port=8765)),
        ("::1", Allowance(network=ip_network("::1/128"))),
        ("db.internal:5432", Allowance(host="db.internal", port=5432)),
    ],
)
def test_an_allowance_is_read_from_a_cidr_an_address_a_host_or_a_host_and_port(
    text: str, expected: Allowance
) -> None:
    assert Allowance.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "10.0.0.0/33", "host:0", "host:70000", "host:http", "[::1]:x", "a b", "u@h"]
)
def test_an_allowance_that_is_no_cidr_host_or_port_is_refused(text: str) -> None:
    with pytest.raises(InvalidAllowance):
        Allowance.parse(text)
