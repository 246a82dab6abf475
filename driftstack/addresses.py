"""Which addresses Driftstack's outbound connections may reach: public ones, and the holes an operator opens.

One policy for every connection Driftstack makes on a client's behalf (webhook deliveries today).
An address is judged by what it reaches, not by how it is spelt: the IPv6 forms that embed an IPv4
address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo, ISATAP) are judged by the IPv4 address
inside them too, so `[64:ff9b::7f00:1]` is loopback just as `127.0.0.1` is.

The ranges are declared here rather than read from `ipaddress`'s `is_global`, whose lists change
between Python releases and which judges none of the embedded forms.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Kind = Literal[
    "loopback",
    "private",
    "link-local",
    "shared (CGNAT)",
    "unspecified",
    "multicast",
    "broadcast",
    "reserved",
    "benchmarking",
    "documentation",
    "unique-local",
    "site-local",
    "discard-only",
    "local-use NAT64",
    "malformed",
]
Form = Literal["IPv4-mapped", "IPv4-compatible", "NAT64", "6to4", "Teredo", "ISATAP"]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IANA's IPv4 special-purpose registry, every range not globally reachable; the first match names it.
_IPV4_REFUSED: tuple[tuple[ipaddress.IPv4Network, Kind], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),  # "this network": 0.0.0.0 reaches the host itself on Linux
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared (CGNAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),  # 169.254.169.254: the cloud metadata service
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"),  # the withdrawn 6to4 relay anycast (RFC 7526)
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)

# The IPv6 forms whose IPv4 address sits at a fixed place: they reach (or stand for) that address.
_MAPPED = _V6("::ffff:0:0/96")
_NAT64 = _V6("64:ff9b::/96")  # RFC 6052's well-known prefix, the address in the last 32 bits
# 6to4 (2002::/16) carries its address in bits 16-47, Teredo (2001::/32) its server in bits 32-63
# and its client, obfuscated (inverted), in the last 32: `ipaddress` reads both.
_COMPATIBLE = _V6("::/96")  # deprecated (RFC 4291), yet Linux's sit0 still tunnels it

# IANA's IPv6 special-purpose registry, every range not globally reachable; the first match names it.
_IPV6_REFUSED: tuple[tuple[ipaddress.IPv6Network, Kind], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),  # RFC 8215: where the IPv4 address sits is local
    (_V6("100::/64"), "discard-only"),
    (_V6("2001:2::/48"), "benchmarking"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("2001::/23"), "reserved"),  # IETF protocol assignments (Teredo, inside it, is judged first)
    (_V6("3fff::/20"), "documentation"),
    (_V6("fc00::/7"), "unique-local"),  # fd00:ec2::254: the cloud metadata service over IPv6
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST = _V6("2000::/3")  # outside it (and the forms above), nothing is allocated for the internet
_ISATAP_MASK = 0xFDFF_FFFF  # the interface id ::0:5efe:a.b.c.d or ::200:5efe:a.b.c.d (RFC 5214)
_ISATAP_ID = 0x0000_5EFE


@dataclass(frozen=True)
class Refusal:
    """Why an address is not public: what kind it is, and for an embedding form, the IPv4 address inside."""

    address: str
    kind: Kind
    form: Form | None = None
    embedded: str | None = None

    def __str__(self) -> str:
        what = f"{_article(self.kind)} {self.kind} address"
        if self.kind == "malformed":
            return f"'{self.address}', not an IP address"
        if self.form is None:
            return f"{self.address}, {what}"
        return f"{self.address}, the {self.form} form of {self.embedded}, {what}"


class NonPublicAddress(Exception):
    """A connection's host is (or resolves to) an address the policy refuses: says which, and what it is."""

    def __init__(self, host: str, refusal: Refusal, *, hint: str | None = None) -> None:
        literal = parse(host) is not None  # an IP literal: say it once
        what = (
            f"{refusal}, is not a public address"
            if literal
            else f"{host} is at {refusal}, which is not a public address"
        )
        super().__init__(f"{what}; {hint}" if hint else what)
        self.host = host
        self.refusal = refusal


def judge(address: str | IPAddress) -> Refusal | None:
    """None for a globally reachable unicast address; else why it is not one."""
    ip = parse(address)
    if ip is None:
        return Refusal(str(address), "malformed")
    if isinstance(ip, ipaddress.IPv4Address):
        kind = _ipv4_kind(ip)
        return Refusal(str(ip), kind) if kind else None
    return _judge_ipv6(ip)


def parse(address: str | IPAddress) -> IPAddress | None:
    """The address without any zone (`fe80::1%eth0`), or None when it is not an IP address."""
    if not isinstance(address, str):
        return address
    try:
        return ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _ipv4_kind(ip: ipaddress.IPv4Address) -> Kind | None:
    return next((kind for network, kind in _IPV4_REFUSED if ip in network), None)


def _judge_ipv6(ip: ipaddress.IPv6Address) -> Refusal | None:
    address = str(ip)
    embedded = _embedded(ip)
    if embedded is not None:
        form, inside = embedded
        if form == "IPv4-compatible":
            # Whatever it holds: no one routes the form, and where a host still does it is a tunnel.
            return Refusal(address, _ipv4_kind(inside[0]) or "reserved", form, str(inside[0]))
        for v4 in inside:
            kind = _ipv4_kind(v4)
            if kind is not None:
                return Refusal(address, kind, form, str(v4))
        if form != "ISATAP":
            return None
    kind = next((kind for network, kind in _IPV6_REFUSED if ip in network), None)
    if kind is None and ip not in _GLOBAL_UNICAST:
        kind = "reserved"
    return Refusal(address, kind) if kind else None


def _embedded(ip: ipaddress.IPv6Address) -> tuple[Form, tuple[ipaddress.IPv4Address, ...]] | None:
    """The IPv4 addresses an IPv6 address carries, and the form that carries them."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip in _MAPPED:
        return "IPv4-mapped", (low32,)
    if ip in _NAT64:
        return "NAT64", (low32,)
    if ip.sixtofour is not None:
        return "6to4", (ip.sixtofour,)
    if ip.teredo is not None:
        server, client = ip.teredo
        return "Teredo", (client, server)
    if ip in _COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", (low32,)
    if ((int(ip) >> 32) & _ISATAP_MASK) == _ISATAP_ID:
        # An ISATAP host's interface id carries its IPv4 address, reached through a tunnel where
        # the prefix is on-link; judged like the forms above, and like any address for its prefix.
        return "ISATAP", (low32,)
    return None


def _article(kind: Kind) -> str:
    return "an" if kind == "unspecified" else "a"  # "a unique-local", said as it sounds


class InvalidAllowance(ValueError):
    """An allowance that is no CIDR, host or host:port."""


@dataclass(frozen=True)
class Allowance:
    """A hole an operator opens in the policy: a network (CIDR or one address) or a host name, on one
    port or every port."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Allowance:
        """`10.1.0.0/16`, `127.0.0.1:8765`, `[::1]:8080`, `fd00::/8`, `db.internal` or `db.internal:5432`."""
        spec = text.strip()
        if not spec:
            raise InvalidAllowance("an empty allowance")
        if "/" in spec:
            return cls(network=_network(spec))
        port: int | None = None
        if spec.startswith("["):
            inside, _, rest = spec[1:].partition("]")
            spec, port = inside, _port(rest.removeprefix(":"), text) if rest else None
        elif spec.count(":") == 1:
            spec, _, number = spec.partition(":")
            port = _port(number, text)
        ip = parse(spec)
        if ip is not None:
            return cls(network=ipaddress.ip_network(ip), port=port)
        host = _host_name(spec)
        if not host or any(c in host for c in " /:@[]"):
            raise InvalidAllowance(f"'{text}' is no CIDR, host or host:port")
        return cls(host=host, port=port)

    def admits(self, ip: IPAddress, host: str | None, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            # An IPv4-mapped address is the IPv4 address itself, as a dual-stack socket sees it.
            mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
            return ip in self.network or (mapped is not None and mapped in self.network)
        return host is not None and _host_name(host) == self.host


def _network(spec: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(spec, strict=False)
    except ValueError:
        raise InvalidAllowance(f"'{spec}' is not a CIDR") from None


def _port(number: str, text: str) -> int:
    if not number.isdigit() or not 0 < int(number) < 65536:
        raise InvalidAllowance(f"'{text}' has no port 1-65535 after its ':'")
    return int(number)


def _host_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, but for the holes the operator opens; `allow_private` opens them all."""

    allow_private: bool = False
    allowances: tuple[Allowance, ...] = ()

    @classmethod
    def of(cls, allowances: Iterable[str] = (), *, allow_private: bool = False) -> AddressPolicy:
        return cls(allow_private, tuple(Allowance.parse(a) for a in allowances))

    def refusal(
        self, address: str | IPAddress, *, host: str | None = None, port: int | None = None
    ) -> Refusal | None:
        """Why a connection to `address` (for the name `host`, on `port`) is refused; None when it may go."""
        if self.allow_private:
            return None
        refused = judge(address)
        ip = parse(address)
        if refused is None or ip is None:
            return refused
        if any(allowance.admits(ip, host, port) for allowance in self.allowances):
            return None
        return refused

    def permits(self, address: str | IPAddress, *, host: str | None = None, port: int | None = None) -> bool:
        return self.refusal(address, host=host, port=port) is None
