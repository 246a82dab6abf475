"""What a view may write: any value an event holds, made into one PostgreSQL can store.

Events are stored as bytes and hold whatever a command was given; the views write text and jsonb
columns, and PostgreSQL refuses some of it: NUL in text (and `\\u0000` in jsonb), a lone surrogate
(it has no UTF-8 encoding), and NaN or an infinity in jsonb. A view that cannot write an event
stops at it, and every read waiting on that view with it, so every value a view writes passes
through `storable` first (`View` does it for every statement's parameters).
"""

from __future__ import annotations

import math
import re
from typing import Any

from psycopg.types.json import Json, Jsonb

# What a reader sees in place of a character PostgreSQL cannot hold: U+FFFD REPLACEMENT
# CHARACTER, as a UTF-8 decoder shows bytes it cannot read.
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` with every string PostgreSQL can hold, inside lists, tuples, dicts (keys too) and jsonb.

    NUL and lone surrogates become U+FFFD; in jsonb, NaN and the infinities become null (JSON has
    no such numbers). Everything else, control characters and very long strings included, is
    kept exactly.
    """
    match value:
        case str():
            return _UNSTORABLE.sub(REPLACEMENT, value)
        case Jsonb() | Json():
            return type(value)(storable_document(value.obj), value.dumps)
        case dict():
            return {storable(k): storable(v) for k, v in value.items()}
        case list():
            return [storable(v) for v in value]
        case tuple():
            return tuple(storable(v) for v in value)
    return value


def storable_document(value: Any) -> Any:
    """A JSON document jsonb can hold: as `storable`, and NaN or an infinity becomes null."""
    match value:
        case float() if not math.isfinite(value):
            return None
        case dict():
            return {storable(k): storable_document(v) for k, v in value.items()}
        case list() | tuple():
            return [storable_document(v) for v in value]
    return storable(value)
