"""Which spellings are one skater: `data/identities.tsv`, curated by a person, read by every build.

A line maps a spelling to the key of the skater it names (`Viktor Ahn` -> `ahn-hyun-soo`). Spellings
that differ only in case, accents or hyphens need no line: they share their key already.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from skategraph import resources
from skategraph.errors import LinkFileError
from skategraph.source.folding import key


def read_identities(path: Path) -> dict[str, str]:
    """Folded spelling -> skater key. A missing file has none."""
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = raw.split("\t")
        if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
            raise LinkFileError(f"{path}, line {number}: expected 'spelling<TAB>skater key<TAB>evidence'")
        spelling, skater = key(cells[0]), cells[1].strip()
        if spelling in found and found[spelling] != skater:
            raise LinkFileError(
                f"{path}, line {number}: {cells[0]!r} is also {found[spelling]} (line {where[spelling]})"
            )
        found[spelling], where[spelling] = skater, number
    return found


@functools.cache
def bundled_identities() -> Mapping[str, str]:
    return read_identities(resources.bundled("data") / "identities.tsv")
