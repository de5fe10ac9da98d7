"""Names as people write them: folded for comparison, and the spellings to ask a remote endpoint for.

Pure text in, text out; shared by link discovery and reconciliation, so both compare names alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import unquote

from skategraph.source.folding import fold

_DISAMBIGUATOR = re.compile(r"\s*\([^)]*\)\s*$")


def folded(name: str) -> str:
    """Case, accents, hyphens and spacing folded: `Amélie Goulet-Nadon` -> `amelie goulet nadon`."""
    text = fold(unicodedata.normalize("NFC", name)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def name_key(name: str) -> str:
    """Word order ignored as well: `Hyun-Soo Ahn` and `Ahn Hyun-soo` share `ahn hyun soo`."""
    return " ".join(sorted(folded(_DISAMBIGUATOR.sub("", name)).split()))


def squashed(name: str) -> set[str]:
    """Split given names joined, either name first: `Cheng Xiao Lei` -> {chengxiaolei, xiaoleicheng}."""
    words = folded(_DISAMBIGUATOR.sub("", name)).split()
    return {"".join(words), "".join(words[1:] + words[:1])}


def variants(names: Sequence[str]) -> list[str]:
    """Spellings to ask a remote endpoint for, which matches labels exactly (case included)."""
    out: list[str] = []
    for name in names:
        plain = _DISAMBIGUATOR.sub("", name).strip()
        words = plain.split()
        forms = [plain]
        if len(words) >= 2:
            family, given = words[0], words[1:]
            joined = "".join(given).replace("-", "")
            hyphened = "-".join(given)
            forms += [
                " ".join([*given, family]),  # given name first: Hyun-soo Ahn
                f"{family} {joined.capitalize()}",  # Cheng Xiaolei, Ahn Hyunsoo
                f"{joined.capitalize()} {family}",
                f"{family} {hyphened}",
            ]
            if "-" in hyphened:
                parts = hyphened.split("-")
                forms.append(f"{family} " + "-".join(p.capitalize() for p in parts))  # Ahn Hyun-Soo
        for form in forms:
            if form not in out:
                out.append(form)
    return out


DBPEDIA = "http://dbpedia.org/resource/"


def dbpedia_name(iri: str) -> str:
    """The name a DBpedia resource has (its English Wikipedia article's title, which DBpedia makes its
    label), the disambiguator dropped: `.../Viktor_Ahn` -> `Viktor Ahn`; "" for another IRI."""
    if not iri.startswith(DBPEDIA):
        return ""
    return _DISAMBIGUATOR.sub("", unquote(iri[len(DBPEDIA) :]).replace("_", " ")).strip()
