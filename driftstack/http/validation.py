"""Reading request bodies into typed values, with messages a client can act on."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..domain.errors import ValidationFailed

_MISSING = object()


class Body:
    """A JSON object from a request; every accessor checks one field and names it on failure."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._seen: set[str] = set()

    @classmethod
    async def of(cls, request: web.Request, *, optional: bool = False) -> Body:
        raw = await request.read()
        if not raw.strip():
            if optional:
                return cls({})
            raise ValidationFailed("body", "a JSON object is required")
        try:
            data = json.loads(raw)
        except ValueError:
            raise ValidationFailed("body", "not valid JSON") from None
        if not isinstance(data, dict):
            raise ValidationFailed("body", "must be a JSON object")
        return cls(data)

    def _get(self, name: str) -> Any:
        self._seen.add(name)
        return self._data.get(name, _MISSING)

    def has(self, name: str) -> bool:
        return name in self._data

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        choices: tuple[str, ...] | None = None,
        nullable: bool = True,
    ) -> str | None:
        value = self._get(name)
        if value is _MISSING or (value is None and nullable and not required):
            if required:
                raise ValidationFailed(name, "is required")
            return None
        if not isinstance(value, str):
            raise ValidationFailed(name, "must be a string")
        if choices is not None and value not in choices:
            raise ValidationFailed(name, f"one of {', '.join(choices)}")
        if max_len is not None and len(value) > max_len:
            raise ValidationFailed(name, f"at most {max_len} characters")
        if required and not value:
            raise ValidationFailed(name, "must not be empty")
        return value

    def integer(self, name: str, *, minimum: int, maximum: int, required: bool = False) -> int | None:
        value = self._get(name)
        if value is _MISSING or value is None:
            if required:
                raise ValidationFailed(name, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(name, f"an integer from {minimum} to {maximum}")
        if not minimum <= value <= maximum:
            raise ValidationFailed(name, f"an integer from {minimum} to {maximum}")
        return value

    def boolean(self, name: str, default: bool, *, required: bool = False) -> bool:
        value = self._get(name)
        if value is _MISSING or value is None:
            if required:
                raise ValidationFailed(name, "must be true or false")
            return default
        if not isinstance(value, bool):
            raise ValidationFailed(name, "must be true or false")
        return value

    def string_list(self, name: str, *, choices: tuple[str, ...], required: bool = False) -> list[str] | None:
        """A non-empty list of distinct choices (repeats are dropped, the order is kept)."""
        value = self._get(name)
        if value is _MISSING or value is None:
            if required:
                raise ValidationFailed(name, "is required")
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationFailed(name, "must be a list of strings")
        if not value:
            raise ValidationFailed(name, "must not be empty")
        unknown = [item for item in value if item not in choices]
        if unknown:
            raise ValidationFailed(name, f"one of {', '.join(choices)}")
        return list(dict.fromkeys(value))

    def json_object(self, name: str, *, max_bytes: int) -> dict[str, Any] | None:
        value = self._get(name)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, dict):
            raise ValidationFailed(name, "must be a JSON object or null")
        if len(json.dumps(value)) > max_bytes:
            raise ValidationFailed(name, f"at most {max_bytes} bytes of JSON")
        return value

    def no_other_fields(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ValidationFailed(unknown[0], "is not a field of this request")
