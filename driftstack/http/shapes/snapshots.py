"""Profile snapshot requests: capture and restore."""

from __future__ import annotations

from ...domain.profile_snapshot import LABEL_MAX
from .base import UNSAFE, Request, text
from .profiles import Description, Name

_LABEL_CHAR = rf"[^\x00-\x1f\x7f{UNSAFE}]"
Label = text(
    min_length=1,
    max_length=LABEL_MAX,
    pattern=rf"^{_LABEL_CHAR}*[^\s\x00-\x1f\x7f{UNSAFE}]{_LABEL_CHAR}*$",
    message="must not be blank or contain control characters",
    examples=["before-iOS-26-rollout"],
)


class CaptureSnapshot(Request):
    label: Label
    description: Description | None = None


class RestoreSnapshot(Request):
    name: Name
