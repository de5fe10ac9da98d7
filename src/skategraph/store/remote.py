"""Placeholder until the remote store lands (issue 15): no address is remote yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Remote:
    name: str


def parse_remote(text: str) -> Remote | None:
    return None


class RemoteStore:
    def __init__(self, remote: Remote, manifest: dict[str, Any] | None = None) -> None:
        raise NotImplementedError
