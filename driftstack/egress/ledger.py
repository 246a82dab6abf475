"""What the egress carried for one session: each connection and request, and the bytes each way."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

# How many records a session keeps: the newest, so a page that polls forever does not grow without bound.
# The totals count every connection, kept or not.
RECORDS_KEPT = 2_000


@dataclass
class Record:
    """One connection through the egress: a CONNECT tunnel (host and port only: the rest is encrypted)
    or a plain HTTP request (method, URL and status too)."""

    seq: int
    at: str
    kind: str  # "tunnel" (CONNECT) or "http"
    host: str
    port: int
    method: str | None = None
    url: str | None = None
    address: str | None = None  # the address connected to (or refused)
    status: int | None = None
    bytes_sent: int = 0  # from the browser towards the site
    bytes_received: int = 0
    duration_ms: int | None = None
    refused: bool = False
    reason: str | None = None  # why it was refused or failed
    error: str | None = (
        None  # a connection that failed: the driver's reason (dns_failed, connection_refused, …)
    )
    upstream: str | None = None  # the named proxy it went through
    _started: float = field(default_factory=time.monotonic, repr=False)

    def finish(self, *, error: str | None = None) -> None:
        self.duration_ms = round((time.monotonic() - self._started) * 1000)
        if error is not None and self.reason is None:
            self.reason = error

    def document(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("_started")
        return doc


class Ledger:
    """The bounded record of one route's traffic, with totals over all of it."""

    def __init__(self, kept: int = RECORDS_KEPT) -> None:
        self._records: deque[Record] = deque(maxlen=kept)
        self._seq = itertools.count(1)
        self.connections = 0
        self.refused = 0
        self._dropped_sent = 0
        self._dropped_received = 0

    def open(self, kind: str, host: str, port: int, **known: Any) -> Record:
        if len(self._records) == self._records.maxlen:
            oldest = self._records[0]  # dropped from the list, kept in the totals
            self._dropped_sent += oldest.bytes_sent
            self._dropped_received += oldest.bytes_received
        record = Record(next(self._seq), _now(), kind, host, port, **known)
        self._records.append(record)
        self.connections += 1
        return record

    @property
    def last_seq(self) -> int:
        return self._records[-1].seq if self._records else 0

    def refuse(self, record: Record, reason: str) -> None:
        record.refused = True
        record.reason = reason
        record.finish()
        self.refused += 1

    def records(self, *, after: int = 0, limit: int | None = None) -> list[Record]:
        chosen = [r for r in self._records if r.seq > after]
        return chosen if limit is None else chosen[:limit]

    def refused_after(self, seq: int) -> Record | None:
        """The first connection refused after `seq`, if any."""
        return next((r for r in self.records(after=seq) if r.refused), None)

    def failed_after(self, seq: int, url: str) -> Record | None:
        """The first connection to `url`'s host and port after `seq` that could not be made, if any."""
        return self._first_to(seq, url, lambda r: r.error is not None)

    def refused_for(self, seq: int, url: str) -> Record | None:
        """The first connection to `url`'s host and port after `seq` that was refused, if any."""
        return self._first_to(seq, url, lambda r: r.refused)

    def _first_to(self, seq: int, url: str, which: Callable[[Record], bool]) -> Record | None:
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        return next(
            (r for r in self.records(after=seq) if which(r) and (r.host, r.port) == (host, port)), None
        )

    def totals(self) -> dict[str, int]:
        return {
            "connections": self.connections,
            "refused": self.refused,
            "bytes_sent": self._dropped_sent + sum(r.bytes_sent for r in self._records),
            "bytes_received": self._dropped_received + sum(r.bytes_received for r in self._records),
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
