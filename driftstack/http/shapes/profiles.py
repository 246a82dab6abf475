"""Profile requests: create, rename or redescribe, clone."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

from pydantic import Field, model_validator

from ...domain.profile import DESCRIPTION_MAX, NAME_MAX
from .base import UNSAFE, Request, refused_at, text
from .sessions import Archetype


def _name_class() -> str:
    """Every character a name may not hold, as a regex class: whitespace, control and invisible
    formatting characters (what `check_name` refuses), and what the store cannot hold."""
    refused = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if not 0xD800 <= ord(c) <= 0xDFFF
        and (c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp"))
    ]
    ranges: list[list[int]] = []
    for code in map(ord, refused):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])

    def spell(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)  # astral: the character itself

    parts = [spell(a) if a == b else f"{spell(a)}-{spell(b)}" for a, b in ranges]
    return "".join(parts) + UNSAFE


Name = text(
    min_length=1,
    max_length=NAME_MAX,
    pattern=f"^[^{_name_class()}]+$",
    message="must not contain whitespace or control characters",
    description=f"Unique within the account (case-insensitively); 1 to {NAME_MAX} characters, no "
    "whitespace, control or invisible formatting characters.",
    examples=["production"],
)
Description = text(
    max_length=DESCRIPTION_MAX, description=f"Free-form, at most {DESCRIPTION_MAX} characters."
)


class CreateProfile(Request):
    name: Name
    archetype: Archetype | None = Field(None, description="Sticky for the profile's life. Default: default.")
    description: Description | None = None


class UpdateProfile(Request):
    """Both optional: an absent field keeps its value; `description: null` clears it."""

    name: Name = Field(None, description="The new name.")  # type: ignore[assignment]
    description: Description | None = Field(None, description="null clears it; absent keeps it.")

    @model_validator(mode="before")
    @classmethod
    def _archetype_stays(cls, data: Any) -> Any:
        if isinstance(data, dict) and "archetype" in data:
            raise refused_at(
                "archetype", "cannot change; clone the profile with a new archetype, then delete this one"
            )
        return data


class CloneProfile(Request):
    name: Name = Field(None, description="Absent: `NAME (copy)`, `NAME (copy 2)` … (copy 99).")  # type: ignore[assignment]
    archetype: Archetype | None = Field(None, description="Absent: the source's archetype.")
