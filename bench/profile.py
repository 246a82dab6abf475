"""Where a `driftstack serve` spends its time under one workload: py-spy samples every thread of
the process (event loop, application executor, projection threads) while the workload runs.

    python bench/profile.py create     # warm create → ready, one session at a time
    python bench/profile.py actions    # the action mix on one session

Prints the functions most often on the stack (inclusive) and at its top (self), by share of samples.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import client, local_site, serving

PY_SPY = str(Path(sys.executable).parent / "py-spy")  # installed with the bench extra
ROUNDS = 60
TOP = 25


async def create(api, url: str) -> None:
    for _ in range(ROUNDS):
        await asyncio.sleep(0.3)  # the pool refills between sessions, as in create_ready.py
        session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
        await api.call("DELETE", f"/v1/sessions/{session['id']}", expect=204)


async def actions(api, url: str) -> None:
    session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
    base = f"/v1/sessions/{session['id']}"
    for _ in range(ROUNDS // 3):
        await api.call("POST", f"{base}/navigate", {"url": url})
        await api.call("POST", f"{base}/interact", {"type": "tap", "selector": "#tap-me"})
        await api.call("POST", f"{base}/interact", {"type": "type", "selector": "#name", "text": "hi"})
        await api.call("POST", f"{base}/capture", {"kind": "screenshot"})


WORKLOADS = {"create": create, "actions": actions}


async def main(workload: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        async with local_site() as url, serving() as service, client(service) as api:
            pid = str(service.process.pid)
            spy = subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    pid,
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--rate",
                    "250",
                    "--threads",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)
            await WORKLOADS[workload](api, url)
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        summarise(out.read_text())


def summarise(raw: str) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        # Idle threads (waiting on a lock, the event loop's selector, or a projection's LISTEN
        # for the next event) are not work; waiting on a query's answer is, and shows as such.
        if not frames or "_listen (" in stack:
            continue
        if any(idle in frames[-1] for idle in ("wait (threading", "select (", "_worker (")):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"{total} busy samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        for frame, n in counter.most_common(TOP):
            print(f"{100 * n / max(total, 1):5.1f}%  {frame}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "create"))
