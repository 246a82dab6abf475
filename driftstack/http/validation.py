"""Reading a request's body and query into their declared shapes, with messages a client can act on."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from .shapes.base import MAX_DEPTH, UNSAFE_MESSAGE, is_safe

T = TypeVar("T")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class RequestInvalid(Exception):
    """What a client sent does not fit its declared shape: each error names a field and why."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def invalid(field: str, message: str) -> RequestInvalid:
    return RequestInvalid([(field, message)])


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


async def body_of(request: web.Request, shape: type[T] | Any, *, optional: bool = False) -> T:
    """The body read into `shape` (a model, or a discriminated union of models)."""
    raw = await request.read()
    if not raw.strip():
        if not optional:
            raise invalid("body", "a JSON object is required")
        data: Any = {}
    else:
        data = parse_json(raw)
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return read(shape, data, origin="body")


def query_of(request: web.Request, shape: type[T]) -> T:
    """The query parameters read into `shape`; one given twice is refused (a list is never meant)."""
    data: dict[str, str] = {}
    for name, value in request.query.items():
        if name in data:
            raise invalid(name, "given more than once")
        data[name] = value
    return read(shape, data, origin="query")


def value_of(shape: Any, value: str, *, field: str) -> Any:
    """One value (a header's) read into `shape`; a refusal names `field`."""
    try:
        return _adapter(shape).validate_python(value)
    except ValidationError as e:
        raise RequestInvalid(
            [(field, _message(error["type"], error.get("ctx") or {}, error, field)) for error in e.errors()]
        ) from None


def parse_json(raw: bytes) -> Any:
    """JSON no deeper than MAX_DEPTH whose every string the store can hold. Depth is counted on the
    bytes, before parsing, so no nesting reaches a recursion limit anywhere."""
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub(b"", raw)):
        depth += 1 if bracket.group() in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise invalid("body", f"nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid("body", "not valid JSON") from None
    unsafe = first_unsafe(data)
    if unsafe is not None:
        raise invalid(unsafe, UNSAFE_MESSAGE)
    return data


def first_unsafe(data: Any) -> str | None:
    """The dotted path of the first string (key or value) holding NUL or a lone surrogate."""
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not is_safe(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                if not is_safe(key):
                    return path or "body"
                pending.append((where, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    return None


def read(shape: type[T] | Any, data: dict[str, Any], *, origin: str) -> T:
    tagged = not (isinstance(shape, type) and issubclass(shape, BaseModel))
    try:
        return _adapter(shape).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as e:
        raise RequestInvalid([_explained(error, origin, tagged) for error in e.errors()]) from None


def _explained(error: Any, origin: str, tagged: bool) -> tuple[str, str]:
    kind, loc, ctx = error["type"], list(error["loc"]), error.get("ctx") or {}
    if kind == "refused_at":
        return ctx["field"], ctx["message"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        field = ctx["discriminator"].strip("'")
        if kind == "union_tag_not_found":
            return field, "is required"
        return field, _one_of(ctx["expected_tags"])
    if tagged:
        loc = loc[1:]  # a discriminated union's member errors sit under the tag they matched
    while loc and isinstance(loc[-1], int):
        loc.pop()  # an item of a list: the list is the field (its message says what each must be)
    field = ".".join(str(part) for part in loc) or origin
    return field, _message(kind, ctx, error, origin)


def _message(kind: str, ctx: dict[str, Any], error: Any, origin: str) -> str:
    match kind:
        case "refused":
            return str(error["msg"])
        case "missing":
            return "is required"
        case "extra_forbidden":
            return (
                "is not a parameter of this request"
                if origin == "query"
                else "is not a field of this request"
            )
        case "string_type":
            return "must be a string"
        case "string_too_long":
            return f"at most {ctx['max_length']} characters"
        case "string_too_short":
            return (
                "must not be empty" if ctx["min_length"] == 1 else f"at least {ctx['min_length']} characters"
            )
        case "bool_type" | "bool_parsing":
            return "must be true or false"
        case "literal_error" | "enum":
            return _one_of(ctx["expected"])
        case "dict_type" | "model_type" | "model_attributes_type":
            return "must be a JSON object"
        case "list_type":
            return "must be a list"
        case "too_short" if ctx.get("min_length") == 1:
            return "must not be empty"
    return str(error["msg"])


def _one_of(expected: str) -> str:
    """pydantic lists choices as `'a', 'b' or 'c'`; clients read `one of a, b, c`."""
    return "one of " + ", ".join(re.findall(r"'([^']*)'", expected))
