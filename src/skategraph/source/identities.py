"""Which spellings are one skater: `data/identities.tsv`, curated by a person, read by every build.

A line maps a spelling to the key of the skater it names (`Viktor Ahn` -> `ahn-hyun-soo`). Spellings
that differ only in case, accents or hyphens need no line: they share their key already. The
spellings as written are names the skater is known by, which a build keeps for searching
(`identity_spellings`) even where no season article of the build uses them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

from skategraph import resources
from skategraph.errors import LinkFileError
from skategraph.source.folding import key


def _lines(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, spelling as written, skater key) of each line. A missing file has none."""
    if not path.exists():
        return
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = raw.split("\t")
        if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
            raise LinkFileError(f"{path}, line {number}: expected 'spelling<TAB>skater key<TAB>evidence'")
        yield number, cells[0].strip(), cells[1].strip()


def read_identities(path: Path) -> dict[str, str]:
    """Folded spelling -> skater key. A missing file has none."""
    found: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, written, skater in _lines(path):
        spelling = key(written)
        if spelling in found and found[spelling] != skater:
            raise LinkFileError(
                f"{path}, line {number}: {written!r} is also {found[spelling]} (line {where[spelling]})"
            )
        found[spelling], where[spelling] = skater, number
    return found


def identity_spellings(path: Path) -> dict[str, tuple[str, ...]]:
    """Skater key -> the spellings the file gives for that skater, as written, in file order."""
    found: dict[str, list[str]] = {}
    for _number, written, skater in _lines(path):
        if written not in found.setdefault(skater, []):
            found[skater].append(written)
    return {skater: tuple(names) for skater, names in found.items()}


@functools.cache
def bundled_identities() -> Mapping[str, str]:
    return read_identities(resources.bundled("data") / "identities.tsv")


@functools.cache
def bundled_identity_spellings() -> Mapping[str, tuple[str, ...]]:
    return identity_spellings(resources.bundled("data") / "identities.tsv")
