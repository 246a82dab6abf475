"""schemathesis's command line, run as `python -m tests.fuzz.schemathesis_cli`, with one CPython bug stepped around.

CPython 3.11 before its later patch releases can raise `SystemError: AST constructor recursion depth
mismatch` from `ast.parse` when it is called deep in a stack. Hypothesis parses a lambda's source only
to name the lambda in a strategy's repr; schemathesis's coverage phase reaches that deep in its walk, and
the error ended a run that had found nothing. Naming the lambda "unknown" changes no generated value.
"""

from __future__ import annotations

import sys

from hypothesis.internal import lambda_sources
from schemathesis.cli import schemathesis

_describe = lambda_sources._lambda_description


def _described(f, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _described

if __name__ == "__main__":
    sys.exit(schemathesis())
