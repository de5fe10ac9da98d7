"""The test servers of issue 15 start, answer, and stop (tests/remotes.py)."""

from __future__ import annotations

import urllib.request

import pytest


@pytest.mark.parametrize("fixture", ["oxigraph_server", "virtuoso_server"])
def test_a_test_server_answers_ask(fixture: str, request: pytest.FixtureRequest) -> None:
    server = request.getfixturevalue(fixture)
    with urllib.request.urlopen(server.ready, timeout=10) as response:
        assert response.status == 200
        assert b"true" in response.read()
