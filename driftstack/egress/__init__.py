"""The egress: the one way out for every browser, judged by the address policy, recorded per session."""

from __future__ import annotations

from ..addresses import AddressPolicy
from ..drivers.base import DriverError, Reason
from ..settings import Settings
from .ledger import Ledger, Record
from .proxy import Egress, EgressRefused, Route
from .upstreams import InvalidProxies, Upstream, parse_proxies

__all__ = [
    "Egress",
    "EgressRefused",
    "InvalidProxies",
    "Ledger",
    "NavigationRefused",
    "Record",
    "Route",
    "Upstream",
    "build_egress",
]


class NavigationRefused(DriverError):
    """A navigation the egress refused (its document, or a redirect hop on the way): 403 `egress-refused`."""

    def __init__(self, doing: str, refused: Record) -> None:
        super().__init__(Reason.EGRESS_REFUSED, f"could not {doing}: {refused.reason}")
        self.host = refused.host
        self.port = refused.port


def build_egress(settings: Settings) -> Egress:
    """The egress the settings describe; InvalidAllowance or InvalidProxies for a setting that says nothing."""
    policy = AddressPolicy.of(settings.egress_allow, allow_private=settings.egress_allow_private)
    return Egress(policy, parse_proxies(settings.proxies))
