"""The WebhookEndpoint aggregate's rules, without I/O."""

from __future__ import annotations

import pytest

from driftstack.domain.errors import NotFound, ValidationFailed
from driftstack.domain.webhook_endpoint import SigningKey, WebhookEndpoint

KEY = SigningKey("v1", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def an_endpoint(**overrides: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "account_id": "acc_x",
        "api_key_id": "key_x",
        "url": "https://hooks.example.com/driftstack",
        "event_types": ["session.completed"],
        "description": None,
        "enabled": True,
        "key": KEY,
    }
    fields.update(overrides)
    return WebhookEndpoint.register(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "hooks.example.com/path",
        "https://",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/#frag",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/" + "a" * 2048,
        "http://\u00ba\u0081",  # a host IDNA cannot encode
        "http://\udcff.example/",
        "http://\u2100.example/",
        "http://a..b/",
        "http://" + "a" * 64 + ".example/",
        "http://exa mple.com/",
    ],
)
def test_only_absolute_http_and_https_urls_without_credentials_are_accepted(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        an_endpoint(url=url)
    assert refused.value.field == "url"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com./x",
        "https://b\u00fccher.example/hook",  # IDNA: xn--bcher-kva.example
        "https://_dmarc.example.com/",
        "http://93.184.215.14:8080/",
        "http://[2606:4700:4700::1111]/",
        "http://" + "a" * 63 + ".example/",
    ],
)
def test_a_host_idna_encodes_into_dns_labels_is_accepted(url: str) -> None:
    assert an_endpoint(url=url).url == url


def test_event_types_must_be_known_and_are_deduplicated() -> None:
    with pytest.raises(ValidationFailed):
        an_endpoint(event_types=[])
    with pytest.raises(ValidationFailed):
        an_endpoint(event_types=["session.exploded"])
    assert an_endpoint(event_types=["session.failed", "session.failed"]).event_types == ["session.failed"]


def test_an_update_records_only_what_changed() -> None:
    endpoint = an_endpoint()
    assert not endpoint.update("key_x", {"url": endpoint.url, "enabled": True})
    assert endpoint.update("key_x", {"enabled": False, "description": "billing"})
    changed = endpoint.collect_events()[-1]
    assert isinstance(changed, WebhookEndpoint.Updated)
    assert changed.changes == {"enabled": False, "description": "billing"}


def test_a_rotation_keeps_only_the_key_it_replaces_as_the_previous_one() -> None:
    endpoint = an_endpoint()
    first, second = SigningKey("v1", "whsec_Zmlyc3Q="), SigningKey("v1a", "whsk_x", "whpk_y")
    endpoint.rotate("key_x", first, "2026-05-13T12:00:00.000Z")
    endpoint.rotate("key_x", second, "2026-05-13T13:00:00.000Z")
    assert endpoint.key == second and endpoint.previous_key == first
    assert endpoint.previous_valid_until == "2026-05-13T13:00:00.000Z"


def test_disabling_twice_records_once_and_reenabling_clears_the_reason() -> None:
    endpoint = an_endpoint()
    assert endpoint.disable("gone", "the endpoint answered 410 Gone")
    assert not endpoint.disable("failing", "again")
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    endpoint.update("key_x", {"enabled": True})
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, None)


def test_a_deleted_endpoint_takes_no_further_command() -> None:
    endpoint = an_endpoint()
    endpoint.delete("key_x")
    for command in (
        lambda: endpoint.delete("key_x"),
        lambda: endpoint.update("key_x", {"enabled": False}),
        lambda: endpoint.rotate("key_x", KEY, "2026-05-13T12:00:00.000Z"),
    ):
        with pytest.raises(NotFound):
            command()
    assert not endpoint.disable("gone", "410")
