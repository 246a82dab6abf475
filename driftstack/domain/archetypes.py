"""The catalogue of device personas (archetypes) a session or profile can run as."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ARCHETYPE = "iphone16pro_ios18_7_safari26_4"
SLUG_PATTERN = re.compile(r"^[a-z0-9_]{3,60}$")


@dataclass(frozen=True)
class Archetype:
    """A device persona: what the page sees (viewport, scale, touch, user agent).

    `base_device` names one of Playwright's device descriptors; the other fields
    override it, so a persona stays pinned even when Playwright updates its table.
    """

    slug: str
    title: str
    base_device: str
    user_agent: str
    viewport: tuple[int, int]
    screen: tuple[int, int]
    device_scale_factor: float
    is_mobile: bool
    has_touch: bool


_SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS {os} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/{safari} Mobile/15E148 Safari/604.1"
)

CATALOGUE: dict[str, Archetype] = {
    a.slug: a
    for a in (
        Archetype(
            slug="iphone16pro_ios18_7_safari26_4",
            title="iPhone 16 Pro, iOS 18.7, Safari 26.4",
            base_device="iPhone 15 Pro",
            user_agent=_SAFARI_IOS.format(os="18_7", safari="26.4"),
            viewport=(402, 874),
            screen=(402, 874),
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
        ),
        Archetype(
            slug="iphone13_ios17_5_safari17_5",
            title="iPhone 13, iOS 17.5, Safari 17.5",
            base_device="iPhone 13",
            user_agent=_SAFARI_IOS.format(os="17_5", safari="17.5"),
            viewport=(390, 664),
            screen=(390, 844),
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
        ),
        Archetype(
            slug="ipadpro11_ipados18_7_safari26_4",
            title="iPad Pro 11, iPadOS 18.7, Safari 26.4",
            base_device="iPad Pro 11",
            user_agent=(
                "Mozilla/5.0 (iPad; CPU OS 18_7 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/26.4 Mobile/15E148 Safari/604.1"
            ),
            viewport=(834, 1194),
            screen=(834, 1194),
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        ),
        Archetype(
            slug="macos_safari26_4",
            title="Mac, macOS 15, Safari 26.4",
            base_device="Desktop Safari",
            user_agent=(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/26.4 Safari/605.1.15"
            ),
            viewport=(1440, 900),
            screen=(1440, 900),
            device_scale_factor=2,
            is_mobile=False,
            has_touch=False,
        ),
    )
}


class UnknownArchetype(ValueError):
    """The slug is well formed but names no persona in the catalogue."""


def resolve(slug: str | None) -> Archetype:
    """The persona for a slug; `None` and `default` mean the default persona."""
    if slug is None or slug == "default":
        return CATALOGUE[DEFAULT_ARCHETYPE]
    try:
        return CATALOGUE[slug]
    except KeyError:
        raise UnknownArchetype(slug) from None
