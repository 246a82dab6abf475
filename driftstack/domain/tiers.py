"""Account tiers and their caps, from the reference tables of seeds 000 and 002."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    slug: str
    title: str
    concurrency: int | None  # None: negotiated per account (enterprise)
    profile_cap: int | None  # None: negotiated per account (enterprise)
    idle_timeout_s: float


# Idle timeouts are not in the reference documents; these favour people working by hand
# (manual tiers) over scripts (API tiers), which release sessions explicitly.
TIERS: dict[str, Tier] = {
    t.slug: t
    for t in (
        Tier("trial_pack", "Trial pack", 1, 1, 300),
        Tier("solo_manual", "Solo manual", 1, 5, 900),
        Tier("team_manual", "Team manual", 3, 50, 900),
        Tier("agency_manual", "Agency manual", 10, 200, 900),
        Tier("api_starter", "API starter", 2, 10, 300),
        Tier("api_builder", "API builder", 5, 25, 300),
        Tier("api_scale", "API scale", 20, 100, 600),
        Tier("enterprise", "Enterprise", None, None, 1800),
    )
}

# An enterprise account created without --concurrency gets this until one is negotiated.
ENTERPRISE_DEFAULT_CONCURRENCY = 50
