"""The nations a season article may name, keyed by IOC code.

The table is `data/nations.tsv`. The articles use IOC codes (GER, BUL, NED), which differ from ISO
3166 codes (DEU, BGR, NLD) for many nations; the table carries both so that a wrong code gets a
useful hint instead of a bare "unknown".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from skategraph import resources


@dataclass(frozen=True)
class Nation:
    code: str  # IOC
    name: str
    iso: str
    aliases: tuple[str, ...]

    def answers_to(self, name: str) -> bool:
        """Whether `name` is this nation's name or a known alias (case-insensitive)."""
        return name.casefold() in self._names

    @functools.cached_property
    def _names(self) -> frozenset[str]:
        # Folded once: every individual podium cell is asked about (a tenth of parsing, issue 14).
        return frozenset(known.casefold() for known in (self.name, *self.aliases))


def parse_nations(text: str) -> dict[str, Nation]:
    nations: dict[str, Nation] = {}
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        code, name, iso, *rest = raw.split("\t")
        aliases = tuple(a for a in (rest[0].split("|") if rest else []) if a)
        nations[code] = Nation(code, name, iso, aliases)
    return nations


@functools.cache
def bundled_nations() -> dict[str, Nation]:
    return parse_nations((resources.bundled("data") / "nations.tsv").read_text(encoding="utf-8"))


def unknown_code_hint(code: str, nations: dict[str, Nation]) -> str:
    """Why `code` is not accepted, with the IOC code the author probably meant."""
    for nation in nations.values():
        if nation.iso == code:
            return (
                f"unknown nation code {code!r}: that is an ISO 3166 code; "
                f"the IOC code for {nation.name} is {nation.code}"
            )
    return f"unknown nation code {code!r}: expected an IOC code such as CAN, KOR or NED"
