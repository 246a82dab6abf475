"""The building blocks every shape uses: strict request and closed answer bases, safe text, bounded integers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

# NUL and lone surrogates are the characters the store cannot hold (PostgreSQL text refuses NUL,
# UTF-8 cannot encode a surrogate). Python's `re` takes this class as it is.
UNSAFE = r"\x00\ud800-\udfff"
_SURROGATES = r"\ud800-\udfff"
SAFE_TEXT = f"^[^{UNSAFE}]*$"
UNSAFE_MESSAGE = "must not contain NUL or lone surrogate characters"
MAX_DEPTH = 32  # how deeply a JSON body may nest; deeper answers 400


def documented(pattern: str) -> str:
    """`pattern` as the document shows it: without the surrogate range. Regex engines that hold to
    Unicode scalar values (Rust's, under common JSON Schema validators) refuse a surrogate in a class
    and then drop the whole pattern; a JSON document can carry a lone surrogate only as an escape, and
    the service refuses one in any string (the API's description says so)."""
    return pattern.replace(_SURROGATES, "")


def is_safe(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused(message: str) -> PydanticCustomError:
    """A validation error whose message is said to the client as is."""
    return PydanticCustomError("refused", message)


def refused_at(field: str, message: str) -> PydanticCustomError:
    """A refusal a model-wide rule makes, naming the field the client should fix."""
    return PydanticCustomError("refused_at", "{message}", {"field": field, "message": message})


def _matching(pattern: str, message: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not is_safe(value):
            raise refused(UNSAFE_MESSAGE)
        if not compiled.fullmatch(value):
            raise refused(message)
        return value

    return check


def text(
    *,
    max_length: int | None = None,
    min_length: int | None = None,
    pattern: str = SAFE_TEXT,
    message: str = UNSAFE_MESSAGE,
    description: str | None = None,
    examples: list[str] | None = None,
) -> Any:
    """A string type: its length bounds and a pattern that (like every one here) excludes NUL and
    lone surrogates; `message` is what a client hears when the pattern does not match."""
    extra: dict[str, Any] = {"pattern": documented(pattern)}
    return Annotated[
        str,
        Field(
            max_length=max_length,
            min_length=min_length,
            description=description,
            examples=examples,
            json_schema_extra=extra,
        ),
        AfterValidator(_matching(pattern, message)),
    ]


Text = text()


def integer(minimum: int, maximum: int, *, from_text: bool = False, description: str | None = None) -> Any:
    """An integer in [minimum, maximum]. JSON Schema counts 1.0 as an integer, so an integral float is
    taken as one; a fraction, a boolean or (in a body) a string is refused."""
    message = f"an integer from {minimum} to {maximum}"

    def check(value: Any) -> int:
        if from_text and isinstance(value, str):
            try:
                value = int(value.strip(), 10)
            except ValueError:
                raise refused(message) from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise refused(message)
        return value

    return Annotated[int, Field(ge=minimum, le=maximum, description=description), BeforeValidator(check)]


def public_id_pattern(prefix: str) -> str:
    return f"^{prefix}_[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$"


def public_id(prefix: str, description: str) -> Any:
    return text(
        pattern=public_id_pattern(prefix),
        message=f"a {prefix}_<uuid> id",
        description=description,
        examples=[f"{prefix}_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"],
    )


class Request(BaseModel):
    """A request body: unknown fields are refused, and nothing is coerced (a string is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Query(BaseModel):
    """Query parameters: unknown ones are refused; values arrive as text and are read as their type."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Response(BaseModel):
    """An answer: every member is declared (the schema is closed, so a member the service adds without
    declaring it is a drift the conformance test sees), and a handler may build its answer through it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def present(**field: Any) -> Any:
    """A member that may be absent but is never null (pydantic would write `default: null`)."""
    return Field(None, **field)
