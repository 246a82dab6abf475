"""The egress's parts without a browser: its settings, its upstreams' secrets, its ledger, its requests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from driftstack.addresses import InvalidAllowance
from driftstack.egress import InvalidProxies, Ledger, build_egress, parse_proxies
from driftstack.egress.requests import ProxyRequest
from driftstack.settings import Settings


def test_the_operator_names_holes_and_upstream_proxies_in_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DRIFTSTACK_EGRESS_ALLOW": "127.0.0.1:8765, 10.1.0.0/16,db.internal",
            "DRIFTSTACK_PROXIES": json.dumps({"eu": "socks5://u:pw@proxy.example:1080"}),
        }
    )
    egress = build_egress(settings)
    assert egress.policy.permits("127.0.0.1", port=8765)
    assert not egress.policy.permits("127.0.0.1", port=8766)
    assert egress.policy.permits("10.1.200.3", port=22)
    assert egress.policy.permits("192.168.0.9", host="db.internal", port=5432)
    assert not egress.policy.permits("169.254.169.254", port=80)
    assert egress.policy.permits("93.184.216.34", port=443)
    assert egress.upstream("eu") is egress.upstreams["eu"]


def test_an_upstreams_credentials_never_show_in_how_it_prints() -> None:
    upstream = parse_proxies(json.dumps({"eu": "http://scout:s3cret@proxy.example:3128"}))["eu"]
    assert "s3cret" not in str(upstream) and "s3cret" not in repr(upstream) and "scout" not in str(upstream)
    assert str(upstream) == "eu (http://proxy.example:3128)"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1]",
        json.dumps({"EU!": "http://p.example:1"}),
        json.dumps({"eu": "ftp://p.example:1"}),
        json.dumps({"eu": "http://p.example"}),
        json.dumps({"eu": 3}),
    ],
)
def test_a_proxies_setting_that_says_nothing_is_refused_without_echoing_it(raw: str) -> None:
    with pytest.raises(InvalidProxies) as refused:
        parse_proxies(raw)
    assert "p.example" not in str(refused.value) or "eu" in str(refused.value)


def test_an_allowance_that_is_no_cidr_host_or_port_is_refused() -> None:
    for bad in ("10.0.0.0/99", "host:0", "host:99999", "a b"):
        with pytest.raises(InvalidAllowance):
            build_egress(Settings(egress_allow=(bad,)))


def test_serve_stops_at_once_on_an_egress_setting_that_says_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "driftstack.cli", "serve"],
        env={"DRIFTSTACK_EGRESS_ALLOW": "10.0.0.0/99", "DRIFTSTACK_DATA_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"DRIFTSTACK_EGRESS_ALLOW" in done.stderr and b"not a CIDR" in done.stderr
    assert not any(tmp_path.iterdir())  # nothing made: no store, no key


def test_a_ledger_keeps_the_newest_records_and_counts_every_byte() -> None:
    ledger = Ledger(kept=3)
    for n in range(5):
        record = ledger.open("http", "example.com", 80)
        record.bytes_received = 10
        record.bytes_sent = n
    assert [r.seq for r in ledger.records()] == [3, 4, 5]
    assert ledger.totals() == {"connections": 5, "refused": 0, "bytes_sent": 10, "bytes_received": 50}
    assert [r.seq for r in ledger.records(after=3, limit=1)] == [4]


def test_a_plain_request_goes_on_in_origin_form_without_the_proxys_own_headers() -> None:
    request = ProxyRequest.parse(
        b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
        b"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nAccept: */*\r\n\r\n"
    )
    assert request is not None and (request.host, request.port, request.kind) == ("example.com", 8080, "http")
    head = request.forwarded_head().decode()
    assert head.startswith("GET /a?b=1 HTTP/1.1\r\n")
    assert "Proxy-" not in head and "Accept: */*" in head and "Connection: close" in head


@pytest.mark.parametrize(
    "head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /relative HTTP/1.1\r\n\r\n",
        b"GET https://example.com/ HTTP/1.1\r\n\r\n",
        b"CONNECT example.com HTTP/1.1\r\n\r\n",
        b"CONNECT example.com:99999 HTTP/1.1\r\n\r\n",
        b"GET http://example.com/ HTTP/1.1\r\nno colon here\r\n\r\n",
    ],
)
def test_a_request_head_the_proxy_cannot_place_is_refused(head: bytes) -> None:
    assert ProxyRequest.parse(head) is None
