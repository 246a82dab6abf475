"""The table of driver failure reasons, and how engines' words are read onto it (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from driftstack.drivers.base import Reason
from driftstack.drivers.playwright_errors import NAVIGATION, SELECTOR, engine_line, network_reason, translate

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_documents_exactly_the_reasons_a_client_can_meet() -> None:
    section = README.read_text().split("### When the browser fails", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \| ", section, flags=re.MULTILINE)
    assert documented == [reason.value for reason in Reason]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("net::ERR_NAME_NOT_RESOLVED at http://x.invalid/", Reason.DNS_FAILED),
        ("net::ERR_CONNECTION_REFUSED at http://127.0.0.1:9/", Reason.CONNECTION_REFUSED),
        ("net::ERR_EMPTY_RESPONSE at http://127.0.0.1:9/", Reason.CONNECTION_RESET),
        ("net::ERR_CERT_AUTHORITY_INVALID at https://127.0.0.1/", Reason.TLS_FAILED),
        ("net::ERR_SSL_PROTOCOL_ERROR at https://127.0.0.1/", Reason.TLS_FAILED),
        ("net::ERR_TOO_MANY_REDIRECTS at http://a/", Reason.TOO_MANY_REDIRECTS),
        ("net::ERR_UNSAFE_PORT at http://127.0.0.1:1/", Reason.BLOCKED),
        ("net::ERR_INVALID_RESPONSE at http://a/", Reason.NAVIGATION_FAILED),
        ("NS_ERROR_UNKNOWN_HOST", Reason.DNS_FAILED),
        ("NS_ERROR_CONNECTION_REFUSED", Reason.CONNECTION_REFUSED),
        ("SEC_ERROR_UNKNOWN_ISSUER", Reason.TLS_FAILED),
        ("Could not connect: Connection refused", Reason.CONNECTION_REFUSED),
        ("Error resolving “x.invalid”: Name or service not known", Reason.DNS_FAILED),
        ("Unacceptable TLS certificate", Reason.TLS_FAILED),
    ],
)
def test_each_engine_s_network_failure_reads_as_one_reason(text: str, reason: Reason) -> None:
    assert network_reason(text) == reason


def test_the_engine_line_loses_playwright_s_api_name_and_call_log_and_is_bounded() -> None:
    text = 'Page.goto: net::ERR_NAME_NOT_RESOLVED at http://x.invalid/\nCall log:\n  - navigating to "…"'
    assert engine_line(text) == "net::ERR_NAME_NOT_RESOLVED at http://x.invalid/"
    assert len(engine_line("Locator.evaluate: " + "x" * 5000) or "") == 300


def test_a_timeout_reads_as_a_missing_element_only_when_no_element_ever_matched() -> None:
    missing = PlaywrightTimeout(
        'Page.tap: Timeout 300ms exceeded.\nCall log:\n  - waiting for locator("#a")\n'
    )
    covered = PlaywrightTimeout(
        'Page.tap: Timeout 300ms exceeded.\nCall log:\n  - waiting for locator("#a")\n'
        '    - locator resolved to <button id="a">x</button>\n      - element is not visible\n'
    )
    assert (
        translate(missing, doing="tap '#a'", kind=SELECTOR, timeout_ms=300).reason
        == Reason.SELECTOR_NOT_FOUND
    )
    assert translate(covered, doing="tap '#a'", kind=SELECTOR, timeout_ms=300).reason == (
        Reason.ELEMENT_NOT_ACTIONABLE
    )
    navigation = PlaywrightTimeout("Page.goto: Timeout 300ms exceeded.")
    error = translate(navigation, doing="navigate to http://a/", kind=NAVIGATION, timeout_ms=300)
    assert (error.reason, error.detail) == (
        Reason.TIMEOUT,
        "could not navigate to http://a/: it did not finish within the time allowed (waited 300 ms)",
    )


def test_a_dead_page_is_told_apart_from_a_refused_action() -> None:
    crashed = translate(PlaywrightError("Page.tap: Target crashed"), doing="tap 'a'", kind=SELECTOR)
    closed = translate(PlaywrightError("x"), doing="tap 'a'", kind=SELECTOR, gone="closed")
    refused = translate(PlaywrightError("Page.tap: something new"), doing="tap 'a'", kind=SELECTOR)
    assert (crashed.reason, closed.reason, refused.reason) == (
        Reason.BROWSER_CRASHED,
        Reason.PAGE_CLOSED,
        Reason.ACTION_FAILED,
    )
    assert refused.engine_message == "something new"
