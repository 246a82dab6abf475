"""Runs every benchmark, one after another (they would skew each other side by side), and writes
bench/RESULTS.md from their reports, then bench/bounds.md: the warm path before and after,
and what bounds each missed target."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from harness import RESULTS_DIR, chromium_path

BENCH = Path(__file__).resolve().parent
# In the order RESULTS.md shows them.
SCRIPTS = (
    "create_ready",
    "action_mix",
    "load",
    "egress",
    "inspection",
    "websocket",
    "held_sessions",
    "webkit",
    "event_store",
    "group_commit",
    "list_sessions",
    "webhooks",
)


def _version(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "unknown"


def main(only: list[str]) -> int:
    RESULTS_DIR.mkdir(exist_ok=True)
    for stale in RESULTS_DIR.glob("*.md"):
        stale.unlink()
    scripts = [s for s in SCRIPTS if not only or s in only]
    took: dict[str, float] = {}
    failed = []
    for script in scripts:
        print(f"== {script}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(BENCH / f"{script}.py")], cwd=BENCH, check=False)
        took[script] = time.monotonic() - started
        if done.returncode != 0:
            failed.append(script)
    write_results(scripts, took, failed)
    print(f"wrote {BENCH / 'RESULTS.md'}")
    return 1 if failed else 0


def write_results(scripts: list[str], took: dict[str, float], failed: list[str]) -> None:
    commit = _version("git", "-C", str(BENCH), "rev-parse", "--short", "HEAD")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `scripts/bench` on {datetime.date.today().isoformat()} at commit `{commit}`: "
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{_version(chromium_path(), '--version')} driven by Playwright on both sides, and WebKitGTK "
        "over W3C WebDriver, PostgreSQL on loopback. Each Driftstack figure is measured through a real "
        "`driftstack serve` (HTTP on loopback, events stored); each ratio divides its median by its "
        "floor's median for the same work in the same run: raw Playwright for Chromium, raw W3C calls "
        "to the same WebKitWebDriver for WebKit. Times are milliseconds.",
        "",
    ]
    for script in scripts:
        report = RESULTS_DIR / f"{script}.md"
        if report.exists():
            lines.append(report.read_text())
        else:
            lines.append(f"## {script}\n\nThe benchmark failed; see its output.\n")
        lines.append(f"_{script}.py ran for {took.get(script, 0):.0f} s._\n")
    if failed:
        lines.append(f"Failed: {', '.join(failed)}.\n")
    bounds = BENCH / "bounds.md"
    if bounds.exists():
        lines.append(bounds.read_text())
    (BENCH / "RESULTS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
