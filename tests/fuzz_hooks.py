"""Schemathesis hooks for tests/test_fuzz_api.py, loaded by its CLI through SCHEMATHESIS_HOOKS.

- A SPARQL query or update body is sent as the UTF-8 text it is, and anything else generated for it
  (a negative case: a number, an object) as its JSON text, so the server sees the wrong body.
- `no_server_error` stands for schemathesis's `not_a_server_error`: no 5xx at all, except the 503 of
  a request stopped at its time limit (the fuzzer asks for `timeout=0.1`), which is the promise kept:
  while running (`query_timeout`), or while waiting for a worker when the ones it killed at their
  limits are still being replaced (`busy`: seen when the machine was loaded).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

EXPECTED_503 = {"query_timeout", "busy"}


@schemathesis.serializer("application/sparql-query", "application/sparql-update")
def sparql_text(context: Any, value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "surrogatepass")


@schemathesis.check
def no_server_error(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    if response.status_code < 500:
        return
    code = None
    if response.status_code == 503:
        try:
            code = json.loads(response.content).get("error")
        except (ValueError, AttributeError):
            code = None
    if code not in EXPECTED_503:
        raise AssertionError(f"server error {response.status_code}: {response.content[:500]!r}")
