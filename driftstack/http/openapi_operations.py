"""How the OpenAPI document spells an operation: its scope, parameters, body, answers and problems."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import MAX_REQUEST_BYTES, ref, response_name
from .problems import TYPES

Operation = dict[str, Any]


def param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def json_answer(schema_name: str, description: str, status: str = "200") -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
            "content": {"application/json": {"schema": ref(schema_name)}},
        }
    }


def operation(
    operation_id: str,
    summary: str,
    description: str,
    *,
    tag: str,
    scope: str | None,
    ok: dict[str, Any],
    problems: tuple[str, ...] = (),
    parameters: tuple[dict[str, Any], ...] = (),
    body: str | None = None,
    body_required: bool = True,
) -> Operation:
    """One operation: its scope (or none), parameters, body, answer and every problem it can give."""
    op: Operation = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    params = [*parameters, param("RequestId")]
    if scope is None:
        op["security"] = []
    else:
        description += f"\n\nNeeds a key with the `{scope}` scope."
        op["security"] = [{"bearer": [scope]}]
        op["x-required-scope"] = scope
        params.append(param("ActingAccount"))
        problems = ("unauthorized", "forbidden", *problems)
    if body is not None:
        problems = ("validation-failed", "payload-too-large", *problems)
        op["requestBody"] = {
            "required": body_required,
            "description": f"A JSON object (at most {MAX_REQUEST_BYTES} bytes); unknown fields answer 400.",
            "content": {"application/json": {"schema": ref(body)}},
        }
    op["description"] = description
    op["parameters"] = params
    responses = dict(ok)
    for slug in (*problems, "internal-error"):
        responses.setdefault(str(TYPES[slug][0]), {"$ref": f"#/components/responses/{response_name(slug)}"})
    op["responses"] = dict(sorted(responses.items()))
    return op


def no_content(description: str) -> dict[str, Any]:
    """A 204 answer: no body, only the request id."""
    return {
        "204": {
            "description": description,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        }
    }
