"""Schemathesis against a real `driftstack serve`: every operation, every check, the stateful phase."""

from __future__ import annotations

import asyncio
import functools
import json
import shlex
import signal
import sys
from pathlib import Path

import pytest

from ..e2e.servers import REPO, ServerProcess, Servers

pytestmark = pytest.mark.fuzz

CONFIG = Path(__file__).with_name("schemathesis.toml")
# The run is bounded by example counts; this bounds it in time too (it takes 5 to 9 minutes on 2 cores,
# more on a machine busy with other work), so a stalled service fails the test instead of CI's budget.
RUN_DEADLINE_S = 1200
# After the deadline: how long schemathesis may take to print what it found.
_REPORT_GRACE_S = 60


async def test_the_fuzzer_finds_no_server_error_no_schema_violation_and_no_misjudged_request(
    fuzzed_server: ServerProcess, servers: Servers, tmp_path: Path
) -> None:
    owner, member, key = await _a_team(servers)
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.schemathesis_cli",
        "--config-file",
        str(_config_for(tmp_path, acting_for=[owner, member])),
        "--no-color",
        "run",
        f"{fuzzed_server.base}/v1/openapi.json",
        "--checks",
        "all",
        # DELETE /v1/sessions/{id} ends a session and keeps its record: the session and what it recorded
        # (its network log, its inspection reads) stay readable, with `status: destroyed` (the seeds: what
        # a session showed stays readable after it ends). This check takes that documented 200 for a
        # resource that survived its deletion; a per-operation exemption in schemathesis.toml does not
        # hold against `--checks all` (4.x: the command line's explicit checks win). Profiles, snapshots
        # and webhooks are deleted for real, and their tests prove the 404 after it.
        "--exclude-checks",
        "use_after_free",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--header",
        f"Authorization: Bearer {key}",
    ]
    code, report = await _run(command, deadline_s=RUN_DEADLINE_S)
    # The whole report (each failure with its curl line) is in pytest's captured output.
    print(f"$ {shlex.join(command)}\n{report}")
    assert code == 0, (
        f"schemathesis found failures (exit {code}); each one has a curl line that reproduces it:\n"
        f"{_failures(report)}\nlast lines of the server's log:\n{fuzzed_server.log_tail()}"
    )


# What of the report the assertion repeats: a CI summary that keeps only the assertion still shows
# what failed, not just that something did.
_FAILURES_SHOWN = 12_000


def _failures(report: str) -> str:
    """The report's FAILURES section (up to its SUMMARY), else its last lines."""
    start = report.find(" FAILURES ")
    end = report.find(" SUMMARY ", max(start, 0))
    section = report[report.rfind("\n", 0, start) + 1 : end] if start >= 0 else report[-4000:]
    return section[:_FAILURES_SHOWN]


async def _a_team(servers: Servers) -> tuple[str, str, str]:
    """An owner account, a member account that is its admin, and a key of the member's that may do
    everything: with `X-Driftstack-Account` it acts on the owner's account, without it on its own."""
    cli = functools.partial(asyncio.to_thread, servers.cli)
    # Room for a few live sessions each: 429s past the cap are documented answers, but a cap of 1 would
    # leave the stateful phase little to walk.
    caps = ("--tier", "api_scale", "--concurrency", "3")
    owner = (await cli("accounts", "create", "--name", "fuzz-owner", *caps))["id"]
    member = (await cli("accounts", "create", "--name", "fuzz-member", *caps))["id"]
    await cli("accounts", "add-member", owner, member, "--role", "admin")
    key = await cli("keys", "create", member, "--scopes", "read,write,admin")
    return owner, member, key["key"]


def _config_for(tmp_path: Path, *, acting_for: list[str]) -> Path:
    """The committed configuration, and the run's account ids as the values `X-Driftstack-Account` takes
    most of the time (the rest of the time the fuzzer makes one up, or leaves it out)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text()
        + "\n[dictionaries.accounts]\n"
        + f"values = {json.dumps(acting_for)}\n"
        + '\n[parameters]\n"header.X-Driftstack-Account" = { dictionary = "accounts", probability = 0.8 }\n'
    )
    return config


async def _run(command: list[str], *, deadline_s: float) -> tuple[int | None, str]:
    """Its exit code (None if it had to be stopped at the deadline) and what it printed."""
    run = await asyncio.create_subprocess_exec(
        *command,
        cwd=REPO,  # where `tests.fuzz.schemathesis_cli` is importable
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert run.stdout is not None
    printed = bytearray()

    async def read(stdout: asyncio.StreamReader) -> None:
        # In chunks: one line of the report (a response body) can be longer than a stream's line limit.
        while chunk := await stdout.read(65536):
            printed.extend(chunk)
        await run.wait()

    reading = asyncio.ensure_future(read(run.stdout))
    try:
        done, _ = await asyncio.wait({reading}, timeout=deadline_s)
        if done:
            return run.returncode, printed.decode(errors="replace")
        # Interrupted, schemathesis still prints every failure found so far; killed, it would print none.
        printed.extend(f"\n[interrupted: still running after {deadline_s:.0f} s]\n".encode())
        run.send_signal(signal.SIGINT)
        await asyncio.wait({reading}, timeout=_REPORT_GRACE_S)
        return None, printed.decode(errors="replace")
    finally:
        if run.returncode is None:
            run.kill()
        await reading
