"""The audit-log query: a page, filtered by resource and action."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...projections.audit import ACTIONS
from .base import text
from .common import PositionPage

ACTION_NAMES = tuple(ACTIONS.values())
RESOURCE_TYPES = tuple(dict.fromkeys(action.split(".")[0] for action in ACTION_NAMES))


class AuditQuery(PositionPage):
    resource_type: Literal[RESOURCE_TYPES] | None = Field(  # type: ignore[valid-type]
        None, description="Only entries about this kind of resource."
    )
    resource_id: text(min_length=1, max_length=128) | None = Field(  # type: ignore[valid-type]
        None,
        description="Only entries about this resource.",
        examples=["ses_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"],
    )
    action: Literal[ACTION_NAMES] | None = Field(None, description="Only entries of this action.")  # type: ignore[valid-type]

    @property
    def filters(self) -> dict[str, str]:
        return {
            name: value
            for name in ("resource_type", "resource_id", "action")
            if (value := getattr(self, name)) is not None
        }
