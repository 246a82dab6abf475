"""The OpenAPI schemas and query parameters derived from the request and answer shapes (JSON Schema 2020-12)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from .shapes import (
    account_answers,
    api_keys,
    artifacts,
    common,
    egress,
    inspection,
    problem_answers,
    profile_answers,
    profiles,
    session_answers,
    sessions,
    snapshots,
    webhook_answers,
    webhooks,
)
from .shapes.base import MAX_DEPTH

Schema = dict[str, Any]
REF_TEMPLATE = "#/components/schemas/{model}"

# Component name → request body shape: every body an operation takes.
BODIES: dict[str, Any] = {
    "CreateSession": sessions.CreateSession,
    "Navigate": sessions.Navigate,
    "Interaction": sessions.Interaction,
    "Wait": sessions.Wait,
    "Capture": sessions.Capture,
    "CreateProfile": profiles.CreateProfile,
    "UpdateProfile": profiles.UpdateProfile,
    "CloneProfile": profiles.CloneProfile,
    "CaptureSnapshot": snapshots.CaptureSnapshot,
    "RestoreSnapshot": snapshots.RestoreSnapshot,
    "CreateWebhookEndpoint": webhooks.CreateWebhookEndpoint,
    "UpdateWebhookEndpoint": webhooks.UpdateWebhookEndpoint,
    "RotateWebhookSecret": webhooks.RotateWebhookSecret,
    "NoFields": webhooks.NoFields,
    "CreateApiKey": api_keys.CreateApiKey,
}
BODY_NOTE = f"A JSON object nested at most {MAX_DEPTH} deep; unknown fields answer 400."

# Component name → answer shape: every JSON body the service answers with.
ANSWERS: dict[str, Any] = {
    "Session": session_answers.Session,
    "SessionPage": session_answers.SessionPage,
    "NetworkLog": inspection.NetworkLog,
    "EgressLog": egress.EgressLog,
    "ActionLog": inspection.ActionLog,
    "NavigationHistory": inspection.NavigationHistory,
    "SessionHealth": inspection.SessionHealth,
    "ConsoleLog": inspection.ConsoleLog,
    "Artifact": artifacts.Artifact,
    "ArtifactPage": artifacts.ArtifactPage,
    "NavigateResult": session_answers.NavigateResult,
    "InteractResult": session_answers.InteractResult,
    "WaitResult": session_answers.WaitResult,
    "PageState": session_answers.PageState,
    "CaptureResult": session_answers.CaptureResult,
    "Profile": profile_answers.Profile,
    "ProfilePage": profile_answers.ProfilePage,
    "ProfileSnapshot": profile_answers.ProfileSnapshot,
    "ProfileSnapshotPage": profile_answers.ProfileSnapshotPage,
    "WebhookEndpoint": webhook_answers.WebhookEndpoint,
    "NewWebhookEndpoint": webhook_answers.NewWebhookEndpoint,
    "WebhookEndpointPage": webhook_answers.WebhookEndpointPage,
    "WebhookEvent": webhook_answers.WebhookEvent,
    "SessionEvent": webhook_answers.SessionEvent,
    "ProfileEvent": webhook_answers.ProfileEvent,
    "PingEvent": webhook_answers.PingEvent,
    "WebhookEventTypeList": webhook_answers.WebhookEventTypeList,
    "WebhookDelivery": webhook_answers.WebhookDelivery,
    "WebhookDeliveryPage": webhook_answers.WebhookDeliveryPage,
    "AuditPage": account_answers.AuditPage,
    "AccountMe": account_answers.AccountMe,
    "Health": account_answers.Health,
    "ApiKey": api_keys.ApiKey,
    "NewApiKey": api_keys.NewApiKey,
    "ApiKeyPage": api_keys.ApiKeyPage,
    "Liveness": account_answers.Liveness,
    "OpenApiDocument": account_answers.OpenApiDocument,
    "AsyncApiDocument": account_answers.AsyncApiDocument,
    "Problem": problem_answers.AnyProblem,
    **{f"{problem_answers.component_name(slug)}Problem": m for slug, m in problem_answers.PROBLEMS.items()},
}


def _name_in(declared: dict[str, Any], shape: Any, what: str) -> str:
    for name, candidate in declared.items():
        if candidate is shape:
            return name
    raise LookupError(f"{shape!r} is not a declared {what}")


def body_name(shape: Any) -> str:
    return _name_in(BODIES, shape, "request body")


def answer_name(shape: Any) -> str:
    return _name_in(ANSWERS, shape, "answer")


def problem_name(slug: str) -> str:
    return answer_name(problem_answers.PROBLEMS[slug])


def _schema_of(shape: Any, mode: Literal["validation", "serialization"] = "validation") -> Schema:
    return TypeAdapter(shape).json_schema(ref_template=REF_TEMPLATE, mode=mode)


def _tidy(schema: Any) -> Any:
    """pydantic writes `default: null` on a field that may be absent but not null; JSON Schema readers
    take a default as a valid value, so it goes where null is not allowed."""
    if isinstance(schema, dict):
        if "x-component" in schema:  # a reference, and what the field says of it
            described = {k: schema[k] for k in ("description",) if k in schema}
            return {"$ref": REF_TEMPLATE.format(model=schema["x-component"]), **described}
        tidied = {key: _tidy(value) for key, value in schema.items() if key != "title"}
        if "default" in tidied and tidied["default"] is None and not _allows_null(tidied):
            del tidied["default"]
        if "properties" in schema:  # here `title` may be a property's name
            tidied["properties"] = {k: _tidy(v) for k, v in schema["properties"].items()}
        return tidied
    if isinstance(schema, list):
        return [_tidy(item) for item in schema]
    return schema


def _allows_null(schema: Schema) -> bool:
    return schema.get("type") == "null" or any(
        isinstance(branch, dict) and branch.get("type") == "null" for branch in schema.get("anyOf", [])
    )


@cache
def schemas() -> dict[str, Schema]:
    """Every schema component: the request bodies (as validated) and the answers (as serialised)."""
    found: dict[str, Schema] = {"JsonValue": common.JSON_VALUE_SCHEMA, "Timestamp": common.TIMESTAMP_SCHEMA}
    for mode, declared in (("validation", BODIES), ("serialization", ANSWERS)):
        for name, shape in declared.items():
            schema = _schema_of(shape, mode)  # type: ignore[arg-type]
            for part, part_schema in {**schema.pop("$defs", {}), name: schema}.items():
                _add(found, part, _tidy(part_schema))
    return found


def _add(found: dict[str, Schema], name: str, schema: Schema) -> None:
    # Two shapes of one name would share a component: the second would silently replace the first.
    if found.setdefault(name, schema) != schema:
        raise ValueError(f"two different shapes are both named {name}")


def query_parameters(shape: type[BaseModel]) -> list[Schema]:
    """One OpenAPI parameter per field of a query shape (a field that may be absent is optional)."""
    schema = _schema_of(shape)
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema.get("properties", {}).items():
        field = _tidy(field)
        description = field.pop("description", None)
        branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
        if branches:  # `X | None`: absent is the null
            [only] = branches
            field = {**only, **field}
            if field.get("default", 0) is None:
                del field["default"]
        parameter: Schema = {"name": name, "in": "query", "required": name in required, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters
