"""The user agents a `standard` client's `goto` names by keyword (seed 004)."""

from __future__ import annotations

import random

from . import __version__

# The service's own crawler agent: it says what it is, so a site can tell it from a person.
INNDX = f"Mozilla/5.0 (compatible; inndx/{__version__}; Driftstack)"
BROWSERS = {
    "chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "firefox": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.2 Safari/605.1.15",
}
KEYWORDS = ("inndx", *BROWSERS, "random")


def user_agent(asked: str) -> str:
    """The agent a keyword names (`random`: one of the browsers' at each request); any other text as is."""
    if asked == "inndx":
        return INNDX
    if asked == "random":
        return random.choice(list(BROWSERS.values()))
    return BROWSERS.get(asked, asked)
