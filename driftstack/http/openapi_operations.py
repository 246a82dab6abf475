"""How the OpenAPI document spells an operation: its scope, parameters, body, answers and problems."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .openapi_components import MAX_REQUEST_BYTES, problem_answer, ref
from .openapi_shapes import BODY_NOTE, body_name, query_parameters
from .problems import TYPES
from .shapes.common import NoQuery

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
    query: type[BaseModel] = NoQuery,
    body: Any = None,
    body_required: bool = True,
    links: dict[str, Any] | None = None,
    extra_parameters: tuple[str, ...] = (),
) -> Operation:
    """One operation: its scope (or none), query, body, answer, links and every problem it can give.
    Any query parameter not declared answers 400, so an operation with a query can answer 400."""
    op: Operation = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    params = [*query_parameters(query), param("RequestId"), *(param(name) for name in extra_parameters)]
    problems = ("validation-failed", *problems)
    if scope is None:
        op["security"] = []
    else:
        description += f"\n\nNeeds a key with the `{scope}` scope."
        op["security"] = [{"bearer": [scope]}]
        op["x-required-scope"] = scope
        params.append(param("ActingAccount"))
        problems = ("unauthorized", "forbidden", *problems)
    if body is not None:
        problems = ("payload-too-large", *problems)
        op["requestBody"] = {
            "required": body_required,
            "description": f"At most {MAX_REQUEST_BYTES} bytes. {BODY_NOTE}",
            "content": {"application/json": {"schema": ref(body_name(body))}},
        }
    op["description"] = description
    op["parameters"] = params
    responses = dict(ok)
    if links:
        [status] = [code for code in ok if code.startswith("2")]
        responses[status] = {**responses[status], "links": links}
    by_status: dict[str, tuple[str, ...]] = {}
    for slug in dict.fromkeys((*problems, "internal-error")):
        status = str(TYPES[slug][0])
        by_status[status] = (*by_status.get(status, ()), slug)
    for status, slugs in by_status.items():
        responses.setdefault(status, problem_answer(slugs))
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


def links_to(parameter: str, *operation_ids: str, **more: str) -> dict[str, Any]:
    """OpenAPI links from an answer's `id` to the operations on what it made (a fuzzer walks them).
    `more` maps further path parameters to answer members."""
    parameters = {
        parameter: "$response.body#/id",
        **{name: f"$response.body#/{m}" for name, m in more.items()},
    }
    return {op[0].upper() + op[1:]: {"operationId": op, "parameters": parameters} for op in operation_ids}
