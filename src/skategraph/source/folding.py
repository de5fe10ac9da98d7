"""Folding names for comparison: accents and ligatures to ASCII, so that spellings of one name meet.

Written here rather than taken from a transliteration library on purpose: IRIs are made from folded
names (`skategraph.graph.ids.slug`) and must not change when a dependency updates its tables.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Letters NFKD does not decompose into ASCII.
_EXTRA_FOLDS = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "đ": "d", "Đ": "D",
     "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i"}
)  # fmt: skip


# Both are pure and called for every name of every row (parsing, then minting its IRI): cached.
@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """`Amélie Goulet-Nadon` -> `Amelie Goulet-Nadon`: accents and ligatures folded to ASCII."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=1 << 16)
def key(text: str) -> str:
    """What two spellings of one name share when they differ only in case, accents, hyphens and
    spacing: `Montréal` and `montreal`, `Kwak Yoon-Gy` and `Kwak Yoon-gy` (the same equivalence as
    the IRIs' slugs, for Latin names)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text).lower()).split()) or text.casefold()
