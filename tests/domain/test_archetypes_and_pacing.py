"""The persona catalogue and the pacing of behavioural profiles."""

from __future__ import annotations

import random

import pytest

from driftstack.domain.archetypes import CATALOGUE, DEFAULT_ARCHETYPE, SLUG_PATTERN, UnknownArchetype, resolve
from driftstack.domain.behavior import BEHAVIORS


def test_default_and_omitted_mean_the_iphone_16_pro_persona() -> None:
    assert resolve(None).slug == resolve("default").slug == DEFAULT_ARCHETYPE
    persona = CATALOGUE[DEFAULT_ARCHETYPE]
    assert "iPhone OS 18_7" in persona.user_agent and "Version/26.4" in persona.user_agent
    assert persona.is_mobile and persona.has_touch


def test_every_persona_slug_is_a_valid_slug() -> None:
    assert len(CATALOGUE) >= 4
    assert all(SLUG_PATTERN.match(slug) for slug in CATALOGUE)


def test_an_unknown_slug_is_refused() -> None:
    with pytest.raises(UnknownArchetype):
        resolve("nokia3310_symbian")


def test_power_users_are_fastest_and_casual_users_slowest() -> None:
    rng = random.Random(7)

    def mean_think(kind: str) -> float:
        return sum(BEHAVIORS[kind].think(rng) for _ in range(200)) / 200

    def mean_keystroke(kind: str) -> float:
        return sum(BEHAVIORS[kind].keystroke(rng) for _ in range(200)) / 200

    assert mean_think("power_user") < mean_think("regular") < mean_think("casual")
    assert mean_keystroke("power_user") < mean_keystroke("regular") < mean_keystroke("casual")
