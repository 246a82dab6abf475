"""Behavioural profiles: how fast a simulated person of each kind acts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    """Pauses a person of this kind takes: before each action and between keystrokes (ms)."""

    think_ms: tuple[float, float]
    keystroke_ms: tuple[float, float]

    def think(self, rng: random.Random) -> float:
        return rng.uniform(*self.think_ms)

    def keystroke(self, rng: random.Random) -> float:
        return rng.uniform(*self.keystroke_ms)


BEHAVIORS: dict[str, Pacing] = {
    "casual": Pacing(think_ms=(400, 1200), keystroke_ms=(120, 260)),
    "regular": Pacing(think_ms=(150, 500), keystroke_ms=(60, 140)),
    "power_user": Pacing(think_ms=(30, 120), keystroke_ms=(20, 60)),
}
