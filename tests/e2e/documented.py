"""Checks of answers against the OpenAPI document the service serves: its schemas, operations and statuses."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "urn:driftstack:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def schema_errors(document: dict[str, Any], ref: str, instance: Any) -> list[str]:
    """Why `instance` fails the schema at `ref` (a `#/components/…` pointer), resolving `$ref`s."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": DOCUMENT_URI + ref}, registry=registry, format_checker=FormatChecker()
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def assert_documented(
    document: dict[str, Any], method: str, template: str, answer: tuple[int, Any, Any]
) -> None:
    """The answer's status is one the operation lists, with the documented body and headers."""
    status, body, headers = answer
    op = operations(document)[(method, template)]
    assert str(status) in op["responses"], f"{method} {template} answered an undocumented {status}: {body}"
    response = op["responses"][str(status)]
    where = ["paths", template, method.lower(), "responses", str(status)]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response, where = document["components"]["responses"][name], ["components", "responses", name]
    for header in response.get("headers", {}):
        assert header in headers, f"{method} {template} {status}: no {header} header"
    if "content" not in response:
        assert body is None, body
        return
    media_types = [m for m in response["content"] if headers["Content-Type"].startswith(m)]
    assert media_types, (
        f"{method} {template} {status}: Content-Type {headers['Content-Type']} is not documented"
    )
    media_type = media_types[0]
    if response["content"][media_type]["schema"].get("format") == "binary":
        return  # bytes (an artifact's): their type is all the document says
    # The schema where the document holds it (a `$ref` or one written in place, like a `oneOf`).
    pointer = "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in where)
    errors = schema_errors(document, f"{pointer}/content/{media_type.replace('/', '~1')}/schema", body)
    assert errors == [], f"{errors} in {str(body)[:400]}"


def template_of(document: dict[str, Any], method: str, path: str) -> str:
    """The documented path template a concrete path is an instance of (a literal segment wins)."""
    path = path.split("?", 1)[0]
    matches = [
        template
        for template, item in document["paths"].items()
        if method.lower() in item
        and re.fullmatch(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)), path)
    ]
    assert matches, f"{method} {path} is not a documented operation"
    return min(matches, key=lambda template: template.count("{"))
