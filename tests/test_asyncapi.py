"""The AsyncAPI document of the session WebSocket: derived from the frame declarations, every reference
resolving inside it, and every message's schema taking the frames the socket takes and refusing the rest."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from jsonschema import Draft7Validator
from pydantic import BaseModel, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

import driftstack
from driftstack.http import asyncapi
from driftstack.http.shapes import frames

DOCUMENT = asyncapi.document()
# The document as one resource: a payload's `$ref`s resolve against it, as an AsyncAPI reader's do.
_BASE = "urn:driftstack:asyncapi"
_REGISTRY: Registry[Any] = Registry().with_resource(
    _BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT7)
)

CLIENT_ACTIONS = {"goto", "click", "fill", "content", "evaluate", "screenshot", "close"}
ANSWER_ACTIONS = {"open", "goto", "clicked", "filled", "content", "evaluated", "screenshot", "closed"}


def resolve(ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = DOCUMENT
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def messages_of(operation: str) -> list[dict[str, Any]]:
    """The message objects an operation names (through the channel, to the components)."""
    found = [resolve(ref["$ref"]) for ref in DOCUMENT["operations"][operation]["messages"]]
    return [resolve(m["$ref"]) if "$ref" in m else m for m in found]


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    return resolve(message["payload"]["$ref"])


def validator(message_name: str) -> Draft7Validator:
    message = DOCUMENT["components"]["messages"][message_name]
    return Draft7Validator({"$ref": _BASE + message["payload"]["$ref"]}, registry=_REGISTRY)


def model_of(message_name: str) -> type[BaseModel]:
    model = getattr(frames, message_name)
    assert issubclass(model, BaseModel)
    return model


def wire_tags(operation: str) -> set[str]:
    return {asyncapi.tag(model_of(m["name"])) for m in messages_of(operation)}


def test_the_document_is_asyncapi_3_0_0_of_this_version_of_driftstack() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert DOCUMENT["info"]["title"] == "Driftstack WebSocket protocol"
    assert DOCUMENT["info"]["version"] == driftstack.__version__
    assert DOCUMENT["channels"]["session"]["address"] == "/v1/sessions/ws"
    assert DOCUMENT["servers"]["driftstack"]["protocol"] == "ws"


def test_every_reference_resolves_within_the_document() -> None:
    refs = set(refs_in(DOCUMENT))
    assert len(refs) > 20
    for ref in refs:
        resolve(ref)


def test_every_schema_is_a_draft_07_schema_as_asyncapi_reads_it() -> None:
    for name, schema in DOCUMENT["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)
        said = json.dumps(schema)
        assert '"prefixItems"' not in said and '"$defs"' not in said, name
        assert '"discriminator": {' not in said, f"{name}: AsyncAPI's discriminator is a string"


def test_operations_are_written_from_the_clients_point_of_view() -> None:
    operations = DOCUMENT["operations"]
    assert {name: op["action"] for name, op in operations.items()} == {
        "sendOpen": "send",
        "sendAction": "send",
        "receiveAnswer": "receive",
        "receiveError": "receive",
    }
    assert "client's point of view" in DOCUMENT["info"]["description"]
    for operation in operations.values():
        for ref in refs_in(operation.get("messages", [])):
            assert ref.startswith("#/channels/session/messages/")  # AsyncAPI 3.0: the channel's own


def test_the_handshake_is_the_open_frame_answered_by_an_open_frame() -> None:
    [sent] = messages_of("sendOpen")
    assert sent["name"] == "Open"
    assert "action" not in payload_of(sent).get("required", [])  # the first frame may leave it out
    replies = [resolve(r["$ref"]) for r in DOCUMENT["operations"]["sendOpen"]["reply"]["messages"]]
    assert [r["$ref"].rsplit("/", 1)[1] for r in replies] == ["Opened", "ErrorFrame"]


def test_every_client_frame_kind_has_a_message() -> None:
    assert wire_tags("sendAction") == CLIENT_ACTIONS


def test_every_answer_and_the_error_frame_have_a_message() -> None:
    assert wire_tags("receiveAnswer") == ANSWER_ACTIONS
    [error] = messages_of("receiveError")
    assert payload_of(error)["properties"]["type"]["enum"] == ["error", "fatal"]


def test_every_frame_a_client_sends_is_paired_with_the_frame_that_answers_it() -> None:
    assert set(asyncapi.ANSWER_TO) == {frames.Open, *asyncapi.CLIENT_FRAMES}
    assert {*asyncapi.ANSWER_TO.values(), frames.ErrorFrame} == set(asyncapi.SERVER_FRAMES)


def test_every_message_is_json_with_a_name_a_title_and_a_summary() -> None:
    messages = DOCUMENT["components"]["messages"]
    assert len(messages) == len(asyncapi.WORDS)
    for name, message in messages.items():
        assert message["name"] == name
        assert message["contentType"] == "application/json"
        assert message["title"] and message["summary"]


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["messages"]))
def test_each_messages_example_is_a_frame_its_schema_and_its_model_take(name: str) -> None:
    [example] = DOCUMENT["components"]["messages"][name]["examples"]
    validator(name).validate(example["payload"])
    model_of(name).model_validate_json(json.dumps(example["payload"]))


FRAMES: list[tuple[str, dict[str, Any], bool]] = [
    # The handshake: seed 004's own example, and every field left out.
    ("Open", {"proxies": [], "timeout": "30s"}, True),
    ("Open", {}, True),
    ("Open", {"action": "open", "client": {"kind": "browser", "engine": "chromium"}}, True),
    ("Open", {"middleware": [{"kind": "require_status", "min": 200, "max": 299}]}, True),
    ("Open", {"timeout": 30}, False),
    ("Open", {"client": "chrome"}, False),
    ("Open", {"middleware": [{"kind": "rewrite_body"}]}, False),
    ("Open", {"max_redirects": 51}, False),
    ("Open", {"action": "goto"}, False),
    ("Goto", {"action": "goto", "url": "https://example.com", "method": "POST", "body": "e30="}, True),
    ("Goto", {"action": "goto"}, False),
    ("Goto", {"action": "goto", "url": "ftp://example.com/"}, False),
    ("Goto", {"action": "goto", "url": "https://example.com", "method": "FETCH"}, False),
    ("Goto", {"action": "goto", "url": "https://example.com", "headers": [["X-A", "1", "2"]]}, False),
    ("Goto", {"action": "goto", "url": "https://example.com", "cookies": [{"name": "sid"}]}, False),
    ("Click", {"action": "click", "selector": "button.buy"}, True),
    ("Click", {"action": "click"}, False),
    ("Click", {"action": "click", "selector": "a", "timeout": "5s"}, False),
    ("Fill", {"action": "fill", "selector": "#q", "value": ""}, True),
    ("Fill", {"action": "fill", "selector": "#q"}, False),
    ("Content", {"action": "content"}, True),
    ("Content", {"action": "content", "format": "text"}, False),
    ("Evaluate", {"action": "evaluate", "script": "1 + 1"}, True),
    ("Evaluate", {"action": "evaluate", "script": ""}, False),
    ("Screenshot", {"action": "screenshot"}, True),
    ("Screenshot", {"action": "screenshots"}, False),
    ("Close", {"action": "close"}, True),
    ("Close", {"action": "closed"}, False),
    # What the server answers.
    ("Opened", {"action": "open", "session_id": "0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"}, False),
    (
        "GotoDone",
        {
            "action": "goto",
            "url": "about:blank",
            "status_code": None,
            "headers": [],
            "cookies": [],
            "body": None,
            "redirects": [],
            "content_type": None,
        },
        True,
    ),
    ("GotoDone", {"action": "goto", "url": "https://example.com/", "status_code": 200}, False),
    ("Clicked", {"action": "clicked"}, True),
    ("Clicked", {"action": "click"}, False),
    ("Filled", {"action": "filled"}, True),
    ("ContentDone", {"action": "content"}, False),
    ("Evaluated", {"action": "evaluated", "result": {"items": [1, 2, None]}}, True),
    ("Evaluated", {"action": "evaluated"}, False),
    ("ScreenshotDone", {"action": "screenshot", "screenshot": None}, True),
    ("Closed", {"action": "closed"}, True),
    ("ErrorFrame", {"type": "error", "message": "url: field required", "code": 400}, True),
    (
        "ErrorFrame",
        {"type": "fatal", "message": "the session ended: destroyed (client_request)", "code": 410},
        True,
    ),
    ("ErrorFrame", {"type": "error", "message": "I'm a teapot", "code": 418}, False),
    ("ErrorFrame", {"type": "warning", "message": "hm", "code": 400}, False),
    ("ErrorFrame", {"type": "error", "message": "no code"}, False),
]


@pytest.mark.parametrize(("name", "frame", "taken"), FRAMES)
def test_a_messages_schema_takes_the_frames_its_model_takes(
    name: str, frame: dict[str, Any], taken: bool
) -> None:
    errors = list(validator(name).iter_errors(frame))
    assert (not errors) is taken, errors
    try:
        model_of(name).model_validate_json(json.dumps(frame))
    except ValidationError:
        assert not taken, "the schema takes a frame the socket refuses"
    else:
        assert taken, "the socket takes a frame the schema refuses"


def test_the_error_code_table_lists_every_code_with_its_meaning() -> None:
    description = DOCUMENT["info"]["description"]
    rows = dict(re.findall(r"^\| (\d{3}) \| (.+) \|$", description, re.MULTILINE))
    assert {int(code) for code in rows} == set(frames.ERROR_CODES)
    for code, meaning in frames.ERROR_CODES.items():
        assert rows[str(code)] == meaning


def test_the_description_says_the_bounds_and_how_a_session_ends() -> None:
    description = DOCUMENT["info"]["description"]
    for said in (
        str(frames.FRAME_LIMIT),
        str(frames.FRAME_HARD_LIMIT),
        "1009",
        "socket_closed",
        "idle_timeout",
        "pong",
        "X-Tenant-Id",
        "401 application/problem+json",
    ):
        assert said in description


async def test_the_route_answers_the_document_as_json_without_a_key(aiohttp_client: Any) -> None:
    app = web.Application()
    app.add_routes(asyncapi.routes)
    client = await aiohttp_client(app)

    answer = await client.get("/v1/asyncapi.json")

    assert answer.status == 200
    assert answer.content_type == "application/json"
    served = await answer.json()
    assert served["asyncapi"] == "3.0.0"
    assert served["servers"]["driftstack"] == {
        **DOCUMENT["servers"]["driftstack"],
        "host": f"{client.server.host}:{client.server.port}",
    }
    assert served["components"] == DOCUMENT["components"]
