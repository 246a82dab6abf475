"""Which addresses a webhook may reach: public ones only, unless the operator allows private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from ..domain.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NonPublicAddress(Exception):
    """The host is (or resolves to) loopback, private, link-local, metadata or another non-public address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is at {address}, which is not a public address")
        self.host = host
        self.address = address


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, RFC 1918, link-local (the
    169.254.169.254 metadata service among them), CGNAT, ULA, multicast, reserved and unspecified ones."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url_host(url: str, *, allow_private: bool) -> None:
    """Refuses (400) a URL whose host does not resolve, or resolves to any non-public address."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise ValidationFailed("url", f"the host {host} does not resolve") from None
    for address in addresses:
        if not is_public(address):
            raise ValidationFailed("url", f"the host {host} is at {address}, which is not a public address")
