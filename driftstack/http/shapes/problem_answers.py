"""Problem details (RFC 9457): one declaration per problem type, with the members that type carries."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from ...drivers.base import Reason
from ..problems import PROBLEM_BASE, TYPES
from .account_answers import Tier
from .base import present
from .sessions import Status


class FieldError(BaseModel):
    """One field to fix, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    message: str


class Problem(BaseModel):
    """What every problem carries. Open: a type may carry extension members beyond its declared ones."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(json_schema_extra={"format": "uri"})
    title: str
    status: int
    detail: str = Field(description="What went wrong, in words a person can act on.")
    instance: str = Field(description="The request path.")


# The extension members of the types that carry some.
class _Refused(BaseModel):
    errors: list[FieldError] = Field(description="The fields to fix and why.")


class _Capped(BaseModel):
    limit: int = Field(description="The cap.")
    current: int = Field(description="How many there are now.")
    resource: Literal["session", "profile"] = Field(description="What is capped.")
    tier: Tier = Field(description="The account's tier.")  # type: ignore[valid-type]


class _TooLarge(BaseModel):
    limit: int = present(description="A capture's cap in bytes (absent for a request body).")
    byte_size: int = present(description="The capture's size (absent for a request body).")


class _SessionEnded(BaseModel):
    session_status: Status
    reason: str | None = Field(description="Why the session ended.")


class _DriverFailed(BaseModel):
    reason: Reason = Field(description="What failed, to branch on; the same on every engine.")
    engine_message: str | None = Field(
        description="The browser's own line, a hint for a person; its wording changes with the engine."
    )


class _EgressRefused(BaseModel):
    host: str = Field(description="The host the egress refused.")
    port: int = Field(description="Its port.")
    setting: Literal["DRIFTSTACK_EGRESS_ALLOW"] = Field(
        description="The operator's setting that would open it (`host:port`, a host or a CIDR)."
    )


class _Lagging(BaseModel):
    view: str = Field(description="The view the read answers from.")
    view_position: int = Field(description="The last event that view holds.")
    write_position: int = Field(description="The event the caller's write is.")


class _NoBrowser(BaseModel):
    install: str | None = Field(description="What to install or set.")


MEMBERS: dict[str, type[BaseModel]] = {
    "validation-failed": _Refused,
    "concurrency-limit": _Capped,
    "tier-limit": _Capped,
    "payload-too-large": _TooLarge,
    "session-timeout": _SessionEnded,
    "session-destroyed": _SessionEnded,
    "driver-error": _DriverFailed,
    "egress-refused": _EgressRefused,
    "driver-not-integrated": _NoBrowser,
    "view-lagging": _Lagging,
}


def component_name(slug: str) -> str:
    """`not-found` → `NotFound`: the name of its response; its schema is `NotFoundProblem`."""
    return "".join(part.capitalize() for part in slug.split("-"))


def _problem_of(slug: str) -> type[Problem]:
    status, title = TYPES[slug]
    bases: Any = (MEMBERS[slug], Problem) if slug in MEMBERS else (Problem,)
    fields: dict[str, Any] = {
        "type": (Literal[PROBLEM_BASE + slug], Field(json_schema_extra={"format": "uri"})),
        "title": (Literal[title], ...),
        "status": (Literal[status], ...),
    }
    model: type[Problem] = create_model(  # type: ignore[call-overload]
        f"{component_name(slug)}Problem",
        __base__=bases,
        __doc__=f"{title} (`{slug}`).",
        **fields,  # type: ignore[arg-type]
    )
    return model


# slug → its declaration; every type the API answers with has one.
PROBLEMS: dict[str, type[Problem]] = {slug: _problem_of(slug) for slug in TYPES}


def _table() -> str:
    rows = "\n".join(f"| {status} | `{slug}` | {title} |" for slug, (status, title) in TYPES.items())
    return (
        f"Problem details (RFC 9457). `type` is `{PROBLEM_BASE}<slug>`; `title` and `status` follow from "
        "it:\n\n| status | type | title |\n|---|---|---|\n" + rows
    )


# Any problem the API answers, told apart by `type`.
AnyProblem = Annotated[  # type: ignore[valid-type]
    Union[tuple(PROBLEMS.values())],  # type: ignore[valid-type]  # noqa: UP007 (built from the table)
    Field(discriminator="type", description=_table()),
]
